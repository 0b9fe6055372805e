//! Coalescing of loads: one loader per missing key, everyone else waits for its result.
//!
//! The mechanism is a per-key *load slot* kept in the shard beside the entries. Whoever claims
//! it runs the loader; later callers for the same key receive the same slot and wait on it,
//! blocking (a condition variable: waiters park, they do not spin), asynchronously (the slot is
//! a `Future`), or by callback (for hosts like Node and Python's asyncio that must not block).
//! The blocking, async and binding front-ends all sit on this one primitive, so coalescing is
//! written once. A slot is always resolved: completing, failing or dropping the claim (for
//! example while a loader panics) wakes every waiter.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;

use parking_lot::{Condvar, Mutex};

/// How a load ended, as every waiter sees it.
pub enum LoadResult<V> {
    /// The loader produced this value; it is in the cache, unless the key was written or
    /// explicitly removed while it loaded (see [`LoadGuard::complete`](crate::LoadGuard::complete)).
    Loaded(V),
    /// The loader produced no value (an `optionally_get_with` miss); nothing was cached.
    Absent,
    /// The loader failed with this error (an `Arc<E>` of the loader's error type); nothing
    /// was cached.
    Failed(Arc<dyn Any + Send + Sync>),
    /// The claim was dropped without a result: the loader panicked, its future was cancelled,
    /// or an entry computation chose not to write. Waiters usually retry.
    Abandoned,
}

impl<V: Clone> Clone for LoadResult<V> {
    fn clone(&self) -> Self {
        match self {
            LoadResult::Loaded(v) => LoadResult::Loaded(v.clone()),
            LoadResult::Absent => LoadResult::Absent,
            LoadResult::Failed(e) => LoadResult::Failed(Arc::clone(e)),
            LoadResult::Abandoned => LoadResult::Abandoned,
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for LoadResult<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadResult::Loaded(v) => f.debug_tuple("Loaded").field(v).finish(),
            LoadResult::Absent => f.write_str("Absent"),
            LoadResult::Failed(_) => f.write_str("Failed(..)"),
            LoadResult::Abandoned => f.write_str("Abandoned"),
        }
    }
}

/// A loader called back into the cache for the very key it is loading; waiting would deadlock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecursiveLoad;

impl fmt::Display for RecursiveLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a loader re-entered the cache for the key it is loading")
    }
}

impl std::error::Error for RecursiveLoad {}

type Callback<V> = Box<dyn FnOnce(LoadResult<V>) + Send + 'static>;

enum State<V> {
    Pending {
        wakers: Vec<Waker>,
        callbacks: Vec<Callback<V>>,
    },
    Done(LoadResult<V>),
}

/// The shared state of one in-flight load.
pub struct LoadSlot<K, V> {
    pub(crate) key: K,
    pub(crate) hash: u64,
    pub(crate) owner: Option<ThreadId>,
    /// Set when the key is written or explicitly removed while it loads, under the shard's
    /// lock, and read under it by the load's own write, which then leaves the cache alone: the
    /// loader may have read what that write replaced (invalidating after an update of the
    /// source is how a cache-aside user says so), so its value must not land over the write or
    /// outlive the removal. Callers and waiters still get the value they asked for.
    superseded: AtomicBool,
    /// Whether writes supersede this load: not for an entry computation, which decides from
    /// the value it read and writes as any write does.
    supersedable: bool,
    state: Mutex<State<V>>,
    done: Condvar,
}

impl<K, V> LoadSlot<K, V> {
    /// A write or an explicit removal of the key happened while it loads (caller holds the
    /// shard's write lock). Returns whether the load is now superseded: the caller then takes
    /// it out of the shard's loads, so that later callers load afresh rather than wait for a
    /// value read before that write.
    pub(crate) fn supersede(&self) -> bool {
        if self.supersedable {
            self.superseded.store(true, Ordering::Relaxed);
        }
        self.supersedable
    }

    /// Whether the load's value must not be written (caller holds the shard's write lock).
    pub(crate) fn superseded(&self) -> bool {
        self.superseded.load(Ordering::Relaxed)
    }
}

impl<K, V: Clone> LoadSlot<K, V> {
    pub(crate) fn new(key: K, hash: u64, owner: Option<ThreadId>, supersedable: bool) -> Self {
        Self {
            key,
            hash,
            owner,
            superseded: AtomicBool::new(false),
            supersedable,
            state: Mutex::new(State::Pending {
                wakers: Vec::new(),
                callbacks: Vec::new(),
            }),
            done: Condvar::new(),
        }
    }

    /// Publishes the result and wakes everyone; callbacks run on this thread, after the slot's
    /// own lock is released.
    pub(crate) fn finish(&self, result: LoadResult<V>) {
        let previous = {
            let mut state = self.state.lock();
            if matches!(*state, State::Done(_)) {
                return;
            }
            std::mem::replace(&mut *state, State::Done(result.clone()))
        };
        self.done.notify_all();
        if let State::Pending { wakers, callbacks } = previous {
            for w in wakers {
                w.wake();
            }
            for cb in callbacks {
                cb(result.clone());
            }
        }
    }

    fn result(&self) -> Option<LoadResult<V>> {
        match &*self.state.lock() {
            State::Done(r) => Some(r.clone()),
            State::Pending { .. } => None,
        }
    }

    fn wait(&self) -> LoadResult<V> {
        let mut state = self.state.lock();
        loop {
            if let State::Done(r) = &*state {
                return r.clone();
            }
            self.done.wait(&mut state);
        }
    }
}

/// A handle on someone else's load of the same key.
pub struct LoadWaiter<K, V> {
    pub(crate) slot: Arc<LoadSlot<K, V>>,
}

impl<K, V: Clone> LoadWaiter<K, V> {
    /// Blocks the thread (parked, not spinning) until the load ends.
    pub fn wait(&self) -> LoadResult<V> {
        self.slot.wait()
    }

    /// The result if the load has ended, without waiting.
    pub fn try_result(&self) -> Option<LoadResult<V>> {
        self.slot.result()
    }

    /// Calls `f` once with the result: at once if the load has ended, else on the thread that
    /// ends it. For event-loop hosts that cannot block.
    pub fn on_complete(&self, f: impl FnOnce(LoadResult<V>) + Send + 'static) {
        let mut state = self.slot.state.lock();
        match &mut *state {
            State::Done(r) => {
                let r = r.clone();
                drop(state);
                f(r);
            }
            State::Pending { callbacks, .. } => callbacks.push(Box::new(f)),
        }
    }

    /// The key being loaded.
    pub fn key(&self) -> &K {
        &self.slot.key
    }
}

impl<K, V: Clone> Future for LoadWaiter<K, V> {
    type Output = LoadResult<V>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.state.lock();
        match &mut *state {
            State::Done(r) => Poll::Ready(r.clone()),
            State::Pending { wakers, .. } => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
