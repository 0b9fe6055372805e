//! Multi-threaded stress with invariant checks: bounded in work, deterministic in what it
//! asserts. Every inserted value carries a unique id, so "nothing is lost without a trace" is
//! checked exactly: each id is either still in the cache or was reported once to the listener.
//! A loader's id may be in neither: a load overtaken by a write or removal of its key is handed
//! to its callers but never stored.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use cortado::{Cache, EvictionPolicy, RemovalCause};

const THREADS: u64 = 4;

struct Harness {
    cache: Cache<u64, u64>,
    reported: Arc<Mutex<Vec<(u64, RemovalCause)>>>,
    next_id: Arc<AtomicU64>,
    /// Ids issued by loaders.
    loaded: Arc<Mutex<HashSet<u64>>>,
}

fn harness(max: u64, policy: EvictionPolicy, shards: usize) -> Harness {
    let reported = Arc::new(Mutex::new(Vec::new()));
    let r = Arc::clone(&reported);
    let cache = Cache::builder()
        .max_capacity(max)
        .eviction_policy(policy)
        .shards(shards)
        .eviction_listener(move |_k, v, c| r.lock().unwrap().push((v, c)))
        .build();
    Harness {
        cache,
        reported,
        next_id: Arc::new(AtomicU64::new(0)),
        loaded: Arc::new(Mutex::new(HashSet::new())),
    }
}

impl Harness {
    /// Every id ever inserted is present exactly once or reported exactly once.
    fn check_conservation(&self, max: u64) {
        self.cache.run_pending_tasks();
        assert!(
            self.cache.entry_count() <= max,
            "bound: {} > {max}",
            self.cache.entry_count()
        );
        let present: Vec<u64> = self.cache.iter().map(|(_, v)| v).collect();
        assert_eq!(present.len() as u64, self.cache.entry_count());
        let reported = self.reported.lock().unwrap();
        let mut seen = HashSet::new();
        for id in present.iter().chain(reported.iter().map(|(v, _)| v)) {
            assert!(seen.insert(*id), "id {id} accounted twice");
        }
        let issued = self.next_id.load(Ordering::SeqCst);
        let loaded = self.loaded.lock().unwrap();
        for id in 0..issued {
            assert!(
                seen.contains(&id) || loaded.contains(&id),
                "id {id} lost without a trace"
            );
        }
        // Each thread counts its evictions in its own stripe; the sum must miss none.
        let evicted = reported.iter().filter(|(_, c)| c.was_evicted()).count() as u64;
        assert_eq!(
            self.cache.stats().eviction_count,
            evicted,
            "evictions counted"
        );
    }
}

/// `max` sets the key space too (a hot set of a quarter of it, a tail of five times it), so
/// small and large caches see the same mix of hits, misses and evictions.
fn mixed_workload(policy: EvictionPolicy, max: u64, shards: usize) {
    let h = harness(max, policy, shards);
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (cache, ids, barrier, loaded) = (
                h.cache.clone(),
                Arc::clone(&h.next_id),
                Arc::clone(&barrier),
                Arc::clone(&h.loaded),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ t;
                for _ in 0..20_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Skewed keys: a hot set and a long tail.
                    let key = if x % 4 == 0 {
                        x % (5 * max)
                    } else {
                        x % (max / 4)
                    };
                    match (x >> 20) % 10 {
                        0..=5 => {
                            if cache.get(&key).is_none() {
                                cache.insert(key, ids.fetch_add(1, Ordering::SeqCst));
                            }
                        }
                        6 | 7 => cache.insert(key, ids.fetch_add(1, Ordering::SeqCst)),
                        8 => {
                            cache.remove(&key);
                        }
                        _ => {
                            let v = cache.get_with(key, || {
                                let id = ids.fetch_add(1, Ordering::SeqCst);
                                loaded.lock().unwrap().insert(id);
                                id
                            });
                            assert!(v < ids.load(Ordering::SeqCst));
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    h.check_conservation(max);
    let s = h.cache.stats();
    assert!(s.hits > 0 && s.misses > 0);
}

#[test]
fn mixed_workload_tinylfu() {
    mixed_workload(EvictionPolicy::TinyLfu, 200, 8);
}

#[test]
fn mixed_workload_lru() {
    mixed_workload(EvictionPolicy::Lru, 200, 8);
}

#[test]
fn mixed_workload_tinylfu_with_a_policy_per_shard() {
    // 4 shards of 4,096 entries each: large enough for each shard to keep its own policy.
    mixed_workload(EvictionPolicy::TinyLfu, 4 * 4096, 4);
}

#[test]
fn mixed_workload_tinylfu_in_one_shard() {
    // One shard keeps the whole policy under its lock at any size (the Python binding's layout).
    mixed_workload(EvictionPolicy::TinyLfu, 200, 1);
}

#[test]
fn invalidation_races_with_writers() {
    let max = 500;
    let h = harness(max, EvictionPolicy::TinyLfu, 8);
    let barrier = Arc::new(Barrier::new(THREADS as usize + 1));
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (cache, ids, barrier) = (
                h.cache.clone(),
                Arc::clone(&h.next_id),
                Arc::clone(&barrier),
            );
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..10_000u64 {
                    cache.insert((i * 7 + t) % 2000, ids.fetch_add(1, Ordering::SeqCst));
                }
            })
        })
        .collect();
    barrier.wait();
    let mut removed = 0;
    for round in 0..50 {
        if round % 2 == 0 {
            h.cache.invalidate_all();
        } else {
            removed += h.cache.invalidate_entries_if(|k, _| k % 3 == 0);
        }
        std::thread::yield_now();
    }
    for w in writers {
        w.join().unwrap();
    }
    h.check_conservation(max);
    let explicit = h
        .reported
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, c)| *c == RemovalCause::Explicit)
        .count();
    assert!(explicit >= removed);
}

#[test]
fn readers_never_see_a_torn_or_foreign_value() {
    // Each key's value encodes the key: a reader seeing anything else found a wrong slot.
    let cache: Cache<u64, u64> = Cache::new(1000);
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (cache, barrier) = (cache.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..30_000u64 {
                    let key = (i * 31 + t * 17) % 5000;
                    if t % 2 == 0 {
                        cache.insert(key, key << 20 | (i & 0xFFFFF));
                    } else if let Some(v) = cache.get(&key) {
                        assert_eq!(v >> 20, key);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    cache.run_pending_tasks();
    assert!(cache.entry_count() <= 1000);
}

/// Every lookup of `threads` threads is counted once: by threads that own their statistics
/// stripe (plain stores), and by those that share (atomic adds) once there are more threads
/// than stripes or thread numbers.
fn statistics_count_every_lookup_exactly(threads: u64, lookups: u64) {
    let cache: Cache<u64, u64> = Cache::new(10_000);
    for k in 0..1000 {
        cache.insert(k, k);
    }
    let barrier = Arc::new(Barrier::new(threads as usize));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (cache, barrier) = (cache.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let (mut hits, mut misses) = (0u64, 0u64);
                for i in 0..lookups {
                    match cache.get(&((i * 7 + t) % 1500)) {
                        Some(_) => hits += 1,
                        None => misses += 1,
                    }
                }
                (hits, misses)
            })
        })
        .collect();
    let (hits, misses) = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let s = cache.stats();
    assert_eq!((s.hits, s.misses), (hits, misses));
    cache.run_pending_tasks();
    assert_eq!(
        cache.stats().hits,
        hits,
        "draining does not change the count"
    );
}

#[test]
fn statistics_count_every_lookup_exactly_under_threads() {
    statistics_count_every_lookup_exactly(THREADS, 50_000);
}

#[test]
fn statistics_count_every_lookup_exactly_with_more_threads_than_stripes() {
    // More than the 64 thread numbers, all alive at once: some threads share counters.
    statistics_count_every_lookup_exactly(80, 25_000);
}

/// Lifetimes decided per value: some values get one on creation, reads of even values set a
/// short one (first or earlier deadlines go through the write lock to the policy), updates
/// keep what the entry has.
struct ReadShortens;

impl cortado::Expiry<u64, u64> for ReadShortens {
    fn expire_after_create(
        &self,
        _: &u64,
        id: &u64,
        _: cortado::quanta::Instant,
    ) -> Option<std::time::Duration> {
        (id % 3 == 0).then_some(std::time::Duration::from_millis(50))
    }
    fn expire_after_read(
        &self,
        _: &u64,
        id: &u64,
        _: cortado::quanta::Instant,
        _: Option<std::time::Duration>,
    ) -> Option<std::time::Duration> {
        (id % 2 == 0).then_some(std::time::Duration::from_millis(5))
    }
}

/// Weights (0 pins), per-entry expiry set and shortened by reads, and a clock that one thread
/// moves while the others read and write: every id is still present or reported once, the
/// weight bound holds, and once everything is due, maintenance leaves nothing expired behind.
fn expiring_weighted_workload(shards: usize) {
    let (clock, mock) = cortado::quanta::Clock::mock();
    let reported = Arc::new(Mutex::new(Vec::new()));
    let r = Arc::clone(&reported);
    let max = 300;
    let cache: Cache<u64, u64> = Cache::builder()
        .max_capacity(max)
        .shards(shards)
        .weigher(|_, id| (*id % 4) as u32)
        .expire_after(ReadShortens)
        .clock(clock)
        .eviction_listener(move |_k, v, c| r.lock().unwrap().push((v, c)))
        .build();
    let ids = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (cache, ids, barrier, mock) = (
                cache.clone(),
                Arc::clone(&ids),
                Arc::clone(&barrier),
                Arc::clone(&mock),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let mut x = 0x2545_F491_4F6C_DD1Du64 ^ (t + 1);
                for i in 0..20_000u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = x % 400;
                    if t == 0 && i % 50 == 0 {
                        mock.increment(std::time::Duration::from_millis(1));
                    }
                    match (x >> 20) % 8 {
                        0..=3 => {
                            if cache.get(&key).is_none() {
                                cache.insert(key, ids.fetch_add(1, Ordering::SeqCst));
                            }
                        }
                        4 | 5 => cache.insert(key, ids.fetch_add(1, Ordering::SeqCst)),
                        6 => {
                            cache.remove(&key);
                        }
                        _ => cache.run_pending_tasks(),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    cache.run_pending_tasks();
    assert!(cache.weighted_size() <= max);
    let accounted = |reported: &[(u64, RemovalCause)]| {
        let present: Vec<u64> = cache.iter().map(|(_, v)| v).collect();
        assert_eq!(present.len() as u64, cache.entry_count());
        let mut seen = HashSet::new();
        for id in present.iter().chain(reported.iter().map(|(v, _)| v)) {
            assert!(seen.insert(*id), "id {id} accounted twice");
        }
        assert_eq!(seen.len() as u64, ids.load(Ordering::SeqCst), "ids lost");
    };
    accounted(&reported.lock().unwrap());
    // Everything with a deadline is due now: maintenance reclaims all of it.
    mock.increment(std::time::Duration::from_secs(1));
    cache.run_pending_tasks();
    accounted(&reported.lock().unwrap());
    for (k, v) in cache.iter() {
        assert_eq!(
            cache.remaining_ttl(&k),
            Some(None),
            "{v} is due and still present"
        );
    }
}

#[test]
fn expiring_weighted_workload_in_one_shard() {
    expiring_weighted_workload(1);
}

#[test]
fn expiring_weighted_workload_across_shards() {
    expiring_weighted_workload(8);
}

/// Cache-aside under real threads: writers update a "database" and then invalidate the key,
/// readers load through `get_with` from the database (slowly enough for writes to overtake
/// them). Whenever everyone has stopped (after each of several rounds), the cache must hold
/// nothing older than the database: a load that read a row before its update must not have
/// landed after the invalidation. (Without superseded loads every run failed, in its first rounds.)
fn cache_aside_never_keeps_a_stale_row(shards: usize) {
    const KEYS: u64 = 4;
    let cache: Cache<u64, u64> = Cache::builder().max_capacity(100).shards(shards).build();
    let db: Arc<Vec<AtomicU64>> = Arc::new((0..KEYS).map(|_| AtomicU64::new(0)).collect());
    let version = Arc::new(AtomicU64::new(1));
    for round in 0..40u64 {
        let barrier = Arc::new(Barrier::new(THREADS as usize));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (cache, db, version, barrier) = (
                    cache.clone(),
                    Arc::clone(&db),
                    Arc::clone(&version),
                    Arc::clone(&barrier),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut x = 0x2545_F491_4F6C_DD1Du64 ^ (round * THREADS + t + 1);
                    for _ in 0..200 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let key = x % KEYS;
                        if (x >> 32) % 3 == 0 {
                            let v = version.fetch_add(1, Ordering::SeqCst);
                            db[key as usize].store(v, Ordering::SeqCst);
                            cache.invalidate(&key);
                        } else {
                            cache.get_with(key, || {
                                let row = db[key as usize].load(Ordering::SeqCst);
                                // A slow source: gives the writers room to overtake.
                                std::thread::sleep(std::time::Duration::from_micros(20));
                                row
                            });
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for key in 0..KEYS {
            if let Some(v) = cache.get(&key) {
                let row = db[key as usize].load(Ordering::SeqCst);
                assert_eq!(v, row, "round {round}: key {key} kept a stale row");
            }
        }
    }
}

#[test]
fn cache_aside_never_keeps_a_stale_row_in_one_shard() {
    cache_aside_never_keeps_a_stale_row(1);
}

#[test]
fn cache_aside_never_keeps_a_stale_row_across_shards() {
    cache_aside_never_keeps_a_stale_row(8);
}
