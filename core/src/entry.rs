//! The entry API: atomic read-modify-write of one key.
//!
//! Each operation claims the key's load slot (the same per-key exclusion that coalesces
//! loaders), reads the current entry, runs the user's closure with no lock held, and applies the
//! result. Concurrent entry operations and loaders for the key wait their turn; plain
//! `get` keeps being served meanwhile. A plain `insert` racing with a computation is not
//! serialised with it: use the entry API for every writer of a key that needs atomicity.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use crate::cache::Cache;
use crate::loader::RecursiveLoad;
use crate::loading::{ClaimMode, Claimed};

/// A key and its value as seen (or written) by an entry operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<K, V> {
    key: K,
    value: V,
    is_fresh: bool,
}

impl<K, V> Entry<K, V> {
    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &V {
        &self.value
    }

    /// The value, consuming the entry.
    pub fn into_value(self) -> V {
        self.value
    }

    /// Whether this operation wrote the value (as opposed to finding it in the cache).
    pub fn is_fresh(&self) -> bool {
        self.is_fresh
    }
}

/// What an [`and_compute_with`](EntrySelector::and_compute_with) closure asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op<V> {
    /// Leave the entry as it is (absent stays absent).
    Nop,
    /// Store this value.
    Put(V),
    /// Remove the entry.
    Remove,
}

/// What an [`and_compute_with`](EntrySelector::and_compute_with) call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompResult<K, V> {
    /// The key was absent and a value was stored.
    Inserted(Entry<K, V>),
    /// The key was present and its value was replaced by this one.
    ReplacedWith(Entry<K, V>),
    /// The key was present and was removed; this was its value.
    Removed(Entry<K, V>),
    /// The key was present and left unchanged.
    Unchanged(Entry<K, V>),
    /// The key was absent and stays absent.
    StillNone(K),
}

/// Operations on one key; get it from [`Cache::entry`].
pub struct EntrySelector<'a, K, V, S> {
    cache: &'a Cache<K, V, S>,
    key: K,
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// Selects `key` for an atomic entry operation.
    pub fn entry(&self, key: K) -> EntrySelector<'_, K, V, S> {
        EntrySelector { cache: self, key }
    }
}

impl<K, V, S> EntrySelector<'_, K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// The present entry, or `default` stored now.
    pub fn or_insert(self, default: V) -> Entry<K, V> {
        self.or_insert_with(|| default)
    }

    /// The present entry, or the result of `init` stored now (coalesced like
    /// [`Cache::get_with`]).
    pub fn or_insert_with(self, init: impl FnOnce() -> V) -> Entry<K, V> {
        let key = self.key.clone();
        match self.cache.load_blocking::<std::convert::Infallible>(
            self.key,
            || Ok(Some(init())),
            false,
        ) {
            Ok(Some((value, is_fresh))) => Entry {
                key,
                value,
                is_fresh,
            },
            Ok(None) => unreachable!("infallible loader always produces a value"),
            Err(e) => match *e {},
        }
    }

    /// The present entry, or the result of `init` if it is `Some` (stored now).
    pub fn or_optionally_insert_with(
        self,
        init: impl FnOnce() -> Option<V>,
    ) -> Option<Entry<K, V>> {
        let key = self.key.clone();
        match self
            .cache
            .load_blocking::<std::convert::Infallible>(self.key, || Ok(init()), true)
        {
            Ok(o) => o.map(|(value, is_fresh)| Entry {
                key,
                value,
                is_fresh,
            }),
            Err(e) => match *e {},
        }
    }

    /// The present entry, or the result of a fallible `init` (errors are shared, not cached).
    pub fn or_try_insert_with<E: Send + Sync + 'static>(
        self,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<Entry<K, V>, Arc<E>> {
        let key = self.key.clone();
        self.cache
            .load_blocking(self.key, || init().map(Some), false)
            .map(|o| {
                let (value, is_fresh) = o.expect("value or error");
                Entry {
                    key,
                    value,
                    is_fresh,
                }
            })
    }

    /// Atomically reads the entry, lets `f` decide, and applies its [`Op`].
    ///
    /// # Panics
    /// If `f` calls back into the cache for the same key with an entry or loading operation
    /// (see [`try_and_compute_with`](Self::try_and_compute_with) for an error instead).
    pub fn and_compute_with(
        self,
        f: impl FnOnce(Option<Entry<K, V>>) -> Op<V>,
    ) -> CompResult<K, V> {
        match self.try_and_compute_with(f) {
            Ok(r) => r,
            Err(RecursiveLoad) => {
                panic!("cortado: an entry computation re-entered the cache for its own key")
            }
        }
    }

    /// Like [`and_compute_with`](Self::and_compute_with), returning [`RecursiveLoad`] (and
    /// changing nothing) when this thread is already computing or loading the same key, for
    /// callers that report errors instead of panicking (the C and Python bindings).
    pub fn try_and_compute_with(
        self,
        f: impl FnOnce(Option<Entry<K, V>>) -> Op<V>,
    ) -> Result<CompResult<K, V>, RecursiveLoad> {
        let me = Some(std::thread::current().id());
        let mut f = Some(f);
        loop {
            match self
                .cache
                .claim_as(self.key.clone(), ClaimMode::Compute, me, false)
            {
                Err(RecursiveLoad) => return Err(RecursiveLoad),
                Ok(Claimed::Wait(w)) => {
                    let _ = w.wait();
                }
                Ok(Claimed::Present(_)) | Ok(Claimed::Busy) => {
                    unreachable!("compute claims always claim")
                }
                Ok(Claimed::Load(guard)) => {
                    let current = self.cache.peek(&self.key).map(|value| Entry {
                        key: self.key.clone(),
                        value,
                        is_fresh: false,
                    });
                    let op = (f.take().expect("computed once"))(current.clone());
                    return Ok(match (op, current) {
                        (Op::Nop, Some(e)) => {
                            guard.release();
                            CompResult::Unchanged(e)
                        }
                        (Op::Nop, None) => {
                            guard.release();
                            CompResult::StillNone(self.key)
                        }
                        (Op::Remove, Some(e)) => {
                            self.cache.invalidate(&self.key);
                            guard.release();
                            CompResult::Removed(e)
                        }
                        (Op::Remove, None) => {
                            guard.release();
                            CompResult::StillNone(self.key)
                        }
                        (Op::Put(v), current) => {
                            guard.complete(v.clone());
                            let e = Entry {
                                key: self.key,
                                value: v,
                                is_fresh: true,
                            };
                            if current.is_some() {
                                CompResult::ReplacedWith(e)
                            } else {
                                CompResult::Inserted(e)
                            }
                        }
                    });
                }
            }
        }
    }

    /// Atomically stores `f(current entry)` and returns the new entry.
    pub fn and_upsert_with(self, f: impl FnOnce(Option<Entry<K, V>>) -> V) -> Entry<K, V> {
        match self.and_compute_with(|cur| Op::Put(f(cur))) {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) => e,
            _ => unreachable!("a Put always stores"),
        }
    }
}
