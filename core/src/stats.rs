//! Always-on statistics kept in per-thread-stripe counters, so counting a hit costs a load and
//! a store on a cache line the thread alone writes instead of a contended global atomic.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A snapshot of the cache's counters since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found a live entry (`get`, and `get_with` and friends when the key was present).
    pub hits: u64,
    /// Lookups that found nothing (or only an expired entry).
    pub misses: u64,
    /// Loader runs that produced a value.
    pub load_successes: u64,
    /// Loader runs that failed, panicked, were cancelled or produced no value.
    pub load_failures: u64,
    /// Time spent inside loaders, in nanoseconds.
    pub total_load_time_nanos: u64,
    /// Entries evicted by size or expiry (not explicit removals or replacements).
    pub eviction_count: u64,
    /// Total weight of those evicted entries.
    pub eviction_weight: u64,
}

impl CacheStats {
    /// Hits divided by lookups, or 1.0 when there were no lookups (as Caffeine reports it).
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            1.0
        } else {
            self.hits as f64 / total as f64
        }
    }

    /// Hits plus misses.
    pub fn request_count(&self) -> u64 {
        self.hits + self.misses
    }

    /// Mean time per load, if any load ran.
    pub fn average_load_penalty(&self) -> Option<Duration> {
        let loads = self.load_successes + self.load_failures;
        (loads > 0).then(|| Duration::from_nanos(self.total_load_time_nanos / loads))
    }
}

/// Counters of one stripe; the cache sums the stripes when asked. Under LRU every hit is an
/// event in the stripe's ring, counted when drained (or while still queued), and only hits
/// whose event was dropped are added here; under TinyLFU hits leave no event and are all
/// counted here. Evictions are counted here too, by the evicting thread: with one shared
/// counter every insert into a full cache wrote the same cache line from every core (on 16
/// cores, inserts with eviction went from 3.9 to 4.5 M/s, one run each: the shard locks
/// remain the main limit).
#[derive(Default)]
pub(crate) struct StripeCounters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) evicted_weight: AtomicU64,
}

/// The calling thread's counters: a stripe it alone writes (`owned`, counted with a plain load
/// and store), or the counters threads without a stripe of their own share (atomic adds). See
/// `thread_slot.rs`.
#[derive(Clone, Copy)]
pub(crate) struct Counting<'a> {
    pub(crate) counters: &'a StripeCounters,
    pub(crate) owned: bool,
}

impl Counting<'_> {
    #[inline]
    fn add(&self, counter: &AtomicU64, n: u64) {
        if self.owned {
            // Only this thread writes it; readers (`stats()`) load it whole.
            counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            counter.fetch_add(n, Relaxed);
        }
    }

    #[inline]
    pub(crate) fn hit(&self) {
        self.add(&self.counters.hits, 1);
    }

    #[inline]
    pub(crate) fn miss(&self) {
        self.add(&self.counters.misses, 1);
    }

    pub(crate) fn evictions(&self, count: u64, weight: u64) {
        self.add(&self.counters.evictions, count);
        if weight > 0 {
            self.add(&self.counters.evicted_weight, weight);
        }
    }
}

/// Counters updated rarely enough (loads) to live in one place.
#[derive(Default)]
pub(crate) struct GlobalCounters {
    pub(crate) drained_hits: AtomicU64,
    pub(crate) load_successes: AtomicU64,
    pub(crate) load_failures: AtomicU64,
    pub(crate) total_load_time_nanos: AtomicU64,
}

impl GlobalCounters {
    pub(crate) fn record_load(&self, ok: bool, nanos: u64) {
        if ok {
            self.load_successes.fetch_add(1, Relaxed);
        } else {
            self.load_failures.fetch_add(1, Relaxed);
        }
        self.total_load_time_nanos.fetch_add(nanos, Relaxed);
    }
}
