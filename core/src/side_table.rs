//! Per-entry values that almost every entry has at one default (a weight of 1): the table
//! stays empty until some entry differs, so caches that never use it pay no bytes per entry.

#[derive(Debug)]
pub(crate) struct SideTable<T> {
    values: Vec<T>,
    default: T,
}

impl<T: Copy + PartialEq> SideTable<T> {
    pub(crate) const fn new(default: T) -> Self {
        Self {
            values: Vec::new(),
            default,
        }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> T {
        self.values.get(i).copied().unwrap_or(self.default)
    }

    /// Sets entry `i`'s value; the first value other than the default grows the table to
    /// `len` (the number of ids in use), so later sets rarely grow it again.
    pub(crate) fn set(&mut self, i: usize, value: T, len: usize) {
        if i >= self.values.len() {
            if value == self.default {
                return;
            }
            self.values.resize(len.max(i + 1), self.default);
        }
        self.values[i] = value;
    }

    /// Whether no entry was ever set to another value than the default: then every entry has
    /// it. (The table never shrinks, so a cache that once had another value answers false.)
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
