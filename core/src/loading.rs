//! The loading front-ends: claiming a load, and the `get_with` family (blocking and async),
//! refresh-after-write, all on the one coalescing primitive of [`crate::loader`].

use std::any::Any;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::time::Instant;

use crate::cache::{Cache, DeadlineChoice};
use crate::loader::{LoadResult, LoadSlot, LoadWaiter, RecursiveLoad};

/// What [`Cache::claim_load`] found.
pub enum Claim<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// The key is present: here is its value.
    Present(V),
    /// Nobody is loading the key: the caller must load it and resolve the guard.
    Load(LoadGuard<K, V, S>),
    /// Someone else is loading the key: wait for their result.
    Wait(LoadWaiter<K, V>),
}

/// Why a slot is claimed: decides whether a present entry or a load in flight ends the claim.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimMode {
    /// Load a missing key: a present entry is returned; a load in flight is waited for.
    Load,
    /// Reload a present key: a load in flight means someone else is already refreshing.
    Refresh,
    /// Read-modify-write of one key: always claim, waiting out any load in flight.
    Compute,
}

pub(crate) enum Claimed<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    Present(V),
    Load(LoadGuard<K, V, S>),
    Wait(LoadWaiter<K, V>),
    Busy,
}

/// The right (and duty) to load one key. Resolve it with [`complete`](Self::complete),
/// [`complete_absent`](Self::complete_absent) or [`fail`](Self::fail); dropping it unresolved
/// (a panic, a cancelled future) wakes the waiters with [`LoadResult::Abandoned`].
pub struct LoadGuard<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    cache: Cache<K, V, S>,
    slot: Arc<LoadSlot<K, V>>,
    started: Instant,
    resolved: bool,
    counts_as_load: bool,
}

impl<K, V, S> LoadGuard<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// The key to load.
    pub fn key(&self) -> &K {
        &self.slot.key
    }

    /// Stores `value` in the cache and hands it to every waiter. If the key was written or
    /// explicitly removed (`invalidate`, `remove`, `invalidate_all`) while it loaded, the value
    /// is only handed over: the cache keeps that write, or stays without the key, and callers
    /// that came after the write did not wait for this load but started their own.
    pub fn complete(self, value: V) {
        self.complete_with(value, DeadlineChoice::Shared);
    }

    /// Like [`complete`](Self::complete), with a time-to-live of the entry's own (as
    /// [`Cache::insert_with_ttl`]).
    pub fn complete_with_ttl(self, value: V, ttl: std::time::Duration) {
        let deadline = self.cache.own_deadline_after(ttl);
        self.complete_with(value, DeadlineChoice::Own(deadline));
    }

    /// Returns whether the value was stored (not superseded).
    pub(crate) fn complete_with(mut self, value: V, choice: DeadlineChoice) -> bool {
        let choice = match choice {
            DeadlineChoice::Shared => self.cache.expiry_choice(&self.slot.key, &value),
            other => other,
        };
        let stored = self.cache.write_from(
            self.slot.key.clone(),
            value.clone(),
            choice,
            Some(&self.slot),
        );
        self.resolve(LoadResult::Loaded(value), true);
        stored
    }

    /// The loader found nothing: nothing is cached, waiters get [`LoadResult::Absent`].
    pub fn complete_absent(mut self) {
        self.resolve(LoadResult::Absent, false);
    }

    /// The loader failed: nothing is cached, waiters get the same `error`.
    pub fn fail(mut self, error: Arc<dyn Any + Send + Sync>) {
        self.resolve(LoadResult::Failed(error), false);
    }

    /// Ends the claim without writing and without counting a load (entry computations that
    /// chose to remove or keep the entry).
    pub(crate) fn release(mut self) {
        self.counts_as_load = false;
        self.resolve(LoadResult::Abandoned, false);
    }

    fn resolve(&mut self, result: LoadResult<V>, ok: bool) {
        if self.resolved {
            return;
        }
        self.resolved = true;
        if self.counts_as_load {
            let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.cache.inner.counters.record_load(ok, nanos);
        }
        let hash = self.slot.hash;
        {
            let mut shard = self.cache.shard(hash).write();
            if let Ok(e) = shard.loads.find_entry(hash, |s| Arc::ptr_eq(s, &self.slot)) {
                e.remove();
            }
        }
        self.slot.finish(result);
    }
}

impl<K, V, S> Drop for LoadGuard<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    fn drop(&mut self) {
        self.resolve(LoadResult::Abandoned, false);
    }
}

/// The result a `get_with`-style call gets: the value, and whether this call loaded it.
pub(crate) type Loaded<V, E> = Result<Option<(V, bool)>, Arc<E>>;

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// The non-blocking coalescing primitive, for callers that run their own loader and cannot
    /// block (event loops): the value if present, else either the duty to load it or a handle
    /// on the load already in flight. Detects a thread re-entering its own load.
    pub fn claim_load(&self, key: K) -> Result<Claim<K, V, S>, RecursiveLoad> {
        self.claim_for_load(key, Some(std::thread::current().id()), true)
    }

    /// Like [`claim_load`](Self::claim_load) for a caller that has just missed with its own
    /// [`get`](Self::get) (typically with a borrowed key, to build the owned key only on a
    /// miss): the claim's own look at the key is not counted again in the statistics.
    pub fn claim_load_after_miss(&self, key: K) -> Result<Claim<K, V, S>, RecursiveLoad> {
        self.claim_for_load(key, Some(std::thread::current().id()), false)
    }

    /// Like [`claim_load`](Self::claim_load) without the re-entrance check, for loads driven
    /// by futures or event-loop tasks, where one thread interleaves many loads.
    pub fn claim_load_detached(&self, key: K) -> Claim<K, V, S> {
        self.claim_for_load(key, None, true)
            .unwrap_or_else(|_| unreachable!("a claim without an owner is never recursive"))
    }

    /// A load claim as the public API sees it (a load claim is never `Busy`).
    fn claim_for_load(
        &self,
        key: K,
        owner: Option<std::thread::ThreadId>,
        record: bool,
    ) -> Result<Claim<K, V, S>, RecursiveLoad> {
        self.claim_as(key, ClaimMode::Load, owner, record)
            .map(|c| match c {
                Claimed::Present(v) => Claim::Present(v),
                Claimed::Load(g) => Claim::Load(g),
                Claimed::Wait(w) => Claim::Wait(w),
                Claimed::Busy => unreachable!("only refresh claims can be busy"),
            })
    }

    pub(crate) fn claim_as(
        &self,
        key: K,
        mode: ClaimMode,
        owner: Option<std::thread::ThreadId>,
        record: bool,
    ) -> Result<Claimed<K, V, S>, RecursiveLoad> {
        if mode == ClaimMode::Load {
            if let Some((v, _)) = self.get_inner(&key, record) {
                return Ok(Claimed::Present(v));
            }
        }
        let hash = self.hash(&key);
        let mut shard = self.shard(hash).write();
        if let Some(slot) = shard.loads.find(hash, |s| s.key == key) {
            if mode == ClaimMode::Refresh {
                // The old value is served meanwhile: nobody waits, so nothing can deadlock.
                return Ok(Claimed::Busy);
            }
            if owner.is_some() && slot.owner == owner {
                return Err(RecursiveLoad);
            }
            return Ok(Claimed::Wait(LoadWaiter {
                slot: Arc::clone(slot),
            }));
        }
        if mode == ClaimMode::Load {
            // Filled between the lock-free look and the write lock?
            if let Some(local) = shard.find(hash, &key) {
                let e = shard.stored(local);
                if !self.expiry_on() || shard.deadline(local) > self.inner.clock.now() {
                    return Ok(Claimed::Present(e.value.clone()));
                }
            }
        }
        let slot = Arc::new(LoadSlot::new(key, hash, owner, mode != ClaimMode::Compute));
        shard
            .loads
            .insert_unique(hash, Arc::clone(&slot), |s| s.hash);
        drop(shard);
        Ok(Claimed::Load(LoadGuard {
            cache: self.clone(),
            slot,
            started: Instant::now(),
            resolved: false,
            counts_as_load: mode != ClaimMode::Compute,
        }))
    }

    /// Whether an entry written at `written` is due for a refresh.
    fn needs_refresh(&self, written: u64) -> bool {
        match self.inner.config.refresh_after {
            Some(d) => crate::clock::deadline_after(written, d) <= self.inner.clock.now(),
            None => false,
        }
    }

    /// The shared engine of the blocking loaders.
    pub(crate) fn load_blocking<E: Send + Sync + 'static>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<Option<V>, E>,
        accept_absent: bool,
    ) -> Loaded<V, E> {
        let mut init = Some(init);
        if let Some((v, written)) = self.get_inner(&key, true) {
            if !self.needs_refresh(written) {
                return Ok(Some((v, false)));
            }
            // Stale: one caller reloads, everyone else keeps getting the old value.
            let me = Some(std::thread::current().id());
            match self.claim_as(key, ClaimMode::Refresh, me, false) {
                Ok(Claimed::Load(guard)) => {
                    let f = init.take().expect("loader used once");
                    return Ok(Some(match f() {
                        Ok(Some(new)) => {
                            guard.complete(new.clone());
                            (new, true)
                        }
                        Ok(None) => {
                            guard.complete_absent();
                            (v, false)
                        }
                        Err(e) => {
                            guard.fail(Arc::new(e));
                            (v, false)
                        }
                    }));
                }
                Ok(_) => return Ok(Some((v, false))),
                Err(RecursiveLoad) => recursive_panic(),
            }
        }
        let me = Some(std::thread::current().id());
        loop {
            match self.claim_as(key.clone(), ClaimMode::Load, me, false) {
                Err(RecursiveLoad) => recursive_panic(),
                Ok(Claimed::Present(v)) => return Ok(Some((v, false))),
                Ok(Claimed::Busy) => unreachable!(),
                Ok(Claimed::Load(guard)) => {
                    let f = init.take().expect("loader used once");
                    return resolve_with(guard, f());
                }
                Ok(Claimed::Wait(w)) => {
                    if let Some(done) = waited::<V, E>(w.wait(), accept_absent) {
                        return done;
                    }
                }
            }
        }
    }

    /// The shared engine of the async loaders.
    pub(crate) async fn load_async<E: Send + Sync + 'static>(
        &self,
        key: K,
        init: impl Future<Output = Result<Option<V>, E>>,
        accept_absent: bool,
    ) -> Loaded<V, E> {
        let mut init = Some(init);
        if let Some((v, written)) = self.get_inner(&key, true) {
            if !self.needs_refresh(written) {
                return Ok(Some((v, false)));
            }
            return Ok(Some(
                match self.claim_as(key, ClaimMode::Refresh, None, false) {
                    Ok(Claimed::Load(guard)) => {
                        match init.take().expect("loader used once").await {
                            Ok(Some(new)) => {
                                guard.complete(new.clone());
                                (new, true)
                            }
                            Ok(None) => {
                                guard.complete_absent();
                                (v, false)
                            }
                            Err(e) => {
                                guard.fail(Arc::new(e));
                                (v, false)
                            }
                        }
                    }
                    _ => (v, false),
                },
            ));
        }
        loop {
            match self.claim_as(key.clone(), ClaimMode::Load, None, false) {
                Ok(Claimed::Present(v)) => return Ok(Some((v, false))),
                Ok(Claimed::Busy) | Err(_) => {
                    unreachable!("detached load claims neither busy nor recursive")
                }
                Ok(Claimed::Load(guard)) => {
                    let f = init.take().expect("loader used once");
                    return resolve_with(guard, f.await);
                }
                Ok(Claimed::Wait(w)) => {
                    if let Some(done) = waited::<V, E>(w.await, accept_absent) {
                        return done;
                    }
                }
            }
        }
    }

    /// Returns the value for `key`, loading it with `init` if absent. Concurrent callers for
    /// the same missing key run one `init` between them; the others wait (parked) and get the
    /// same value. If the key is inserted or removed while `init` runs, the loaded value is
    /// returned but not stored (see [`LoadGuard::complete`]), and callers that come after that
    /// write load afresh.
    ///
    /// # Panics
    /// If `init` panics (the waiters then retry), or if `init` calls back into the cache for
    /// the same key (which would otherwise deadlock).
    pub fn get_with(&self, key: K, init: impl FnOnce() -> V) -> V {
        match self.load_blocking::<std::convert::Infallible>(key, || Ok(Some(init())), false) {
            Ok(Some((v, _))) => v,
            Ok(None) => unreachable!("infallible loader always produces a value"),
            Err(e) => match *e {},
        }
    }

    /// Like [`get_with`](Self::get_with) for a fallible loader: an error is returned to this
    /// caller and to every caller waiting on the same load (the same `Arc`), and nothing is
    /// cached.
    pub fn try_get_with<E: Send + Sync + 'static>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>> {
        self.load_blocking(key, || init().map(Some), false)
            .map(|o| o.expect("value or error").0)
    }

    /// Like [`get_with`](Self::get_with) for a loader that may find nothing: `None` is
    /// returned (to the waiters too) and not cached.
    pub fn optionally_get_with(&self, key: K, init: impl FnOnce() -> Option<V>) -> Option<V> {
        match self.load_blocking::<std::convert::Infallible>(key, || Ok(init()), true) {
            Ok(o) => o.map(|(v, _)| v),
            Err(e) => match *e {},
        }
    }

    /// Async [`get_with`](Self::get_with): waiting callers await (no thread is blocked), under
    /// any runtime. If the loading future is dropped, a waiter takes over the load.
    pub async fn get_with_async(&self, key: K, init: impl Future<Output = V>) -> V {
        let fut = async { Ok::<_, std::convert::Infallible>(Some(init.await)) };
        match self.load_async(key, fut, false).await {
            Ok(Some((v, _))) => v,
            Ok(None) => unreachable!("infallible loader always produces a value"),
            Err(e) => match *e {},
        }
    }

    /// Async [`try_get_with`](Self::try_get_with).
    pub async fn try_get_with_async<E: Send + Sync + 'static>(
        &self,
        key: K,
        init: impl Future<Output = Result<V, E>>,
    ) -> Result<V, Arc<E>> {
        let fut = async { init.await.map(Some) };
        self.load_async(key, fut, false)
            .await
            .map(|o| o.expect("value or error").0)
    }

    /// Async [`optionally_get_with`](Self::optionally_get_with).
    pub async fn optionally_get_with_async(
        &self,
        key: K,
        init: impl Future<Output = Option<V>>,
    ) -> Option<V> {
        let fut = async { Ok::<_, std::convert::Infallible>(init.await) };
        match self.load_async(key, fut, true).await {
            Ok(o) => o.map(|(v, _)| v),
            Err(e) => match *e {},
        }
    }

    /// Reloads `key` now with `init`, unless a load for it is already in flight (then returns
    /// `false` at once). The old value stays readable during the reload and is kept if `init`
    /// fails or returns `None`. Returns whether this call stored a new value.
    pub fn refresh<E: Send + Sync + 'static>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<Option<V>, E>,
    ) -> bool {
        match self.claim_as(
            key,
            ClaimMode::Refresh,
            Some(std::thread::current().id()),
            false,
        ) {
            Ok(Claimed::Load(guard)) => match init() {
                Ok(Some(v)) => guard.complete_with(v, DeadlineChoice::Shared),
                Ok(None) => {
                    guard.complete_absent();
                    false
                }
                Err(e) => {
                    guard.fail(Arc::new(e));
                    false
                }
            },
            Ok(_) => false,
            Err(RecursiveLoad) => recursive_panic(),
        }
    }
}

/// Finishes a load this caller ran.
fn resolve_with<K, V, S, E>(guard: LoadGuard<K, V, S>, out: Result<Option<V>, E>) -> Loaded<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    match out {
        Ok(Some(v)) => {
            guard.complete(v.clone());
            Ok(Some((v, true)))
        }
        Ok(None) => {
            guard.complete_absent();
            Ok(None)
        }
        Err(e) => {
            let e = Arc::new(e);
            guard.fail(Arc::clone(&e) as Arc<dyn Any + Send + Sync>);
            Err(e)
        }
    }
}

/// What a waiter does with someone else's result: `None` means retry (the load was abandoned,
/// or its outcome does not fit this caller, e.g. an error of another type).
fn waited<V, E: Send + Sync + 'static>(
    r: LoadResult<V>,
    accept_absent: bool,
) -> Option<Loaded<V, E>> {
    match r {
        LoadResult::Loaded(v) => Some(Ok(Some((v, false)))),
        LoadResult::Absent if accept_absent => Some(Ok(None)),
        LoadResult::Absent | LoadResult::Abandoned => None,
        LoadResult::Failed(e) => e.downcast::<E>().ok().map(Err),
    }
}

fn recursive_panic() -> ! {
    panic!("cortado: a loader called back into the cache for the key it is loading (this would deadlock)")
}
