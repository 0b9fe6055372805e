//! Iteration over a snapshot of each shard in turn.
//!
//! Holding a shard lock across user code (the loop body) could deadlock a body that writes to
//! the cache, so each shard's live entries are cloned out under its read lock and yielded after
//! it is released. Entries written after their shard was copied may or may not be seen.

use std::hash::{BuildHasher, Hash};

use crate::cache::Cache;

/// Iterator over `(key, value)` clones of the live entries; see [`Cache::iter`].
pub struct Iter<'a, K, V, S> {
    cache: &'a Cache<K, V, S>,
    next_shard: usize,
    batch: std::vec::IntoIter<(K, V)>,
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// Iterates over the live entries (expired ones are skipped), in no particular order.
    /// Does not count as use by the policy.
    pub fn iter(&self) -> Iter<'_, K, V, S> {
        Iter {
            cache: self,
            next_shard: 0,
            batch: Vec::new().into_iter(),
        }
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// Calls `f` with each stored entry (expired or not) by reference, without cloning and
    /// without waiting: a shard another thread is writing to is skipped, and the result says
    /// whether every shard was visited. `f` runs under a shard's shared lock, so it must not
    /// call back into the cache: this is for visits such as a garbage collector's traversal
    /// of the values a cache holds, where under-reporting is safe and blocking is not.
    pub fn try_for_each_entry(&self, mut f: impl FnMut(&K, &V)) -> bool {
        let mut complete = true;
        for shard in self.inner.shards.iter() {
            match shard.0.try_read() {
                Some(s) => {
                    for (_, _, e) in s.entries() {
                        f(&e.key, &e.value);
                    }
                }
                None => complete = false,
            }
        }
        complete
    }
}

impl<K, V, S> Iterator for Iter<'_, K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(item);
            }
            let shards = &self.cache.inner.shards;
            if self.next_shard >= shards.len() {
                return None;
            }
            let expiry = self.cache.expiry_on();
            let now = if expiry {
                self.cache.inner.clock.now()
            } else {
                0
            };
            let s = shards[self.next_shard].0.read();
            self.next_shard += 1;
            let batch: Vec<(K, V)> = s
                .entries()
                .filter(|&(_, deadline, _)| !expiry || deadline > now)
                .map(|(_, _, e)| (e.key.clone(), e.value.clone()))
                .collect();
            drop(s);
            self.batch = batch.into_iter();
        }
    }
}

impl<'a, K, V, S> IntoIterator for &'a Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    type Item = (K, V);
    type IntoIter = Iter<'a, K, V, S>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
