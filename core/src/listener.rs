//! Why an entry left the cache, and the listener that is told about it.

use std::fmt;

/// Why an entry left the cache. Every entry that leaves is reported with exactly one cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemovalCause {
    /// Removed by the user (`remove`, `invalidate`, `invalidate_all`, `invalidate_entries_if`).
    Explicit,
    /// Its value was replaced by an insert of the same key.
    Replaced,
    /// Its time-to-live, time-to-idle or per-entry deadline passed.
    Expired,
    /// Evicted to keep the cache within its capacity (or too heavy to be kept at all).
    Size,
}

impl RemovalCause {
    /// True for the causes the cache decided on its own (`Expired`, `Size`), as opposed to the
    /// user's own writes: the distinction Caffeine calls "evicted".
    pub fn was_evicted(self) -> bool {
        matches!(self, RemovalCause::Expired | RemovalCause::Size)
    }

    /// A stable lower-case name, shared by every language binding and the conformance vectors.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalCause::Explicit => "explicit",
            RemovalCause::Replaced => "replaced",
            RemovalCause::Expired => "expired",
            RemovalCause::Size => "size",
        }
    }
}

impl fmt::Display for RemovalCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The eviction listener: called with the key, the value and the cause, on the thread whose
/// call removed the entry, never while a cache lock is held, so it may call back into the cache.
pub type EvictionListener<K, V> = Box<dyn Fn(K, V, RemovalCause) + Send + Sync + 'static>;

/// Removals gathered under a lock and delivered (or dropped: a value's `Drop` is user code
/// too) after it is released. The first one is kept inline: a full cache evicts one entry per
/// insert, and a heap buffer for it cost an allocation and a free on every insert (about a
/// sixth of the instructions of an insert into a 10k-entry cache).
pub(crate) struct Pending<K, V> {
    first: Option<(K, V, RemovalCause)>,
    rest: Vec<(K, V, RemovalCause)>,
}

impl<K, V> Pending<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            first: None,
            rest: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, removal: (K, V, RemovalCause)) {
        if self.first.is_none() {
            self.first = Some(removal);
        } else {
            self.rest.push(removal);
        }
    }
}

impl<K, V> IntoIterator for Pending<K, V> {
    type Item = (K, V, RemovalCause);
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Self::Item>, std::vec::IntoIter<Self::Item>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}
