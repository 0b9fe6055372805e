//! The basic map operations, bounds, listener causes and statistics.

use std::sync::{Arc, Mutex};

use cortado::{Cache, EvictionPolicy, RemovalCause};

type Log = Arc<Mutex<Vec<(u64, u64, RemovalCause)>>>;

fn logged(builder: cortado::CacheBuilder<u64, u64>) -> (Cache<u64, u64>, Log) {
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    let cache = builder
        .eviction_listener(move |k, v, c| l.lock().unwrap().push((k, v, c)))
        .build();
    (cache, log)
}

#[test]
fn insert_get_remove() {
    let (cache, log) = logged(Cache::builder().max_capacity(100));
    assert_eq!(cache.get(&1), None);
    cache.insert(1, 10);
    assert_eq!(cache.get(&1), Some(10));
    assert!(cache.contains_key(&1));
    assert_eq!(cache.peek(&1), Some(10));
    cache.insert(1, 11);
    assert_eq!(cache.get(&1), Some(11));
    assert_eq!(cache.remove(&1), Some(11));
    assert_eq!(cache.remove(&1), None);
    assert!(!cache.contains_key(&1));
    assert_eq!(cache.entry_count(), 0);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (1, 10, RemovalCause::Replaced),
            (1, 11, RemovalCause::Explicit)
        ]
    );
    let s = cache.stats();
    assert_eq!((s.hits, s.misses), (2, 1));
}

#[test]
fn bound_holds_after_each_insert_and_evictions_are_reported() {
    for policy in [EvictionPolicy::TinyLfu, EvictionPolicy::Lru] {
        let (cache, log) = logged(Cache::builder().max_capacity(50).eviction_policy(policy));
        for i in 0..1000u64 {
            cache.insert(i, i * 2);
            assert!(cache.entry_count() <= 50, "{policy:?} at {i}");
            assert_eq!(cache.get(&i), Some(i * 2), "newest entry readable at once");
        }
        cache.run_pending_tasks();
        let evicted = log.lock().unwrap().len() as u64;
        assert_eq!(evicted + cache.entry_count(), 1000);
        assert!(log
            .lock()
            .unwrap()
            .iter()
            .all(|e| e.2 == RemovalCause::Size));
        assert_eq!(cache.stats().eviction_count, evicted);
        assert_eq!(cache.iter().count() as u64, cache.entry_count());
    }
}

#[test]
fn stats_can_be_switched_off_but_evictions_are_still_counted() {
    for policy in [EvictionPolicy::TinyLfu, EvictionPolicy::Lru] {
        for record in [true, false] {
            let (cache, log) = logged(
                Cache::builder()
                    .max_capacity(10)
                    .eviction_policy(policy)
                    .record_stats(record),
            );
            for i in 0..30u64 {
                cache.insert(i, i);
                assert_eq!(cache.get(&i), Some(i));
                assert_eq!(cache.get(&(i + 1000)), None);
            }
            cache.run_pending_tasks();
            let s = cache.stats();
            let expected = if record { (30, 30) } else { (0, 0) };
            assert_eq!((s.hits, s.misses), expected, "{policy:?}, record {record}");
            assert_eq!(s.eviction_count, log.lock().unwrap().len() as u64);
            assert_eq!(s.eviction_count, 20);
        }
    }
}

#[test]
fn lru_order_is_exact() {
    let cache: Cache<u64, u64> = Cache::builder()
        .max_capacity(3)
        .eviction_policy(EvictionPolicy::Lru)
        .build();
    cache.insert(1, 1);
    cache.insert(2, 2);
    cache.insert(3, 3);
    cache.get(&1);
    cache.insert(4, 4);
    assert_eq!(cache.keys_coldest_first(), vec![3, 1, 4]);
    assert!(!cache.contains_key(&2));
    cache.peek(&3);
    cache.insert(5, 5);
    assert!(!cache.contains_key(&3), "peek does not refresh recency");
}

#[test]
fn tinylfu_resists_a_scan_that_flushes_lru() {
    // 80 hot keys, each re-read every 160 requests while a scan of one-time keys runs in
    // between: LRU (capacity 100 < 160 distinct keys per cycle) never hits a hot key.
    let hot_hits = |policy| {
        let cache: Cache<u64, u64> = Cache::builder()
            .max_capacity(100)
            .eviction_policy(policy)
            .build();
        let mut hits = 0;
        for i in 0..20_000u64 {
            let hot = i % 80;
            if cache.get(&hot).is_some() {
                hits += 1;
            } else {
                cache.insert(hot, hot);
            }
            let scan = 1_000 + i;
            if cache.get(&scan).is_none() {
                cache.insert(scan, scan);
            }
        }
        hits
    };
    let lru = hot_hits(EvictionPolicy::Lru);
    let tinylfu = hot_hits(EvictionPolicy::TinyLfu);
    assert_eq!(lru, 0);
    assert!(
        tinylfu > 18_000,
        "TinyLFU kept too few hot keys: {tinylfu} hits of 20000"
    );
}

#[test]
fn weigher_bounds_total_weight_and_rejects_oversized() {
    let (cache, log) = logged(
        Cache::builder()
            .max_capacity(100)
            .weigher(|_k: &u64, v: &u64| *v as u32),
    );
    cache.insert(1, 150);
    cache.run_pending_tasks();
    assert!(!cache.contains_key(&1));
    assert_eq!(
        log.lock().unwrap().as_slice(),
        &[(1, 150, RemovalCause::Size)]
    );
    for k in 0..50 {
        cache.insert(k, 10);
    }
    cache.run_pending_tasks();
    assert!(cache.weighted_size() <= 100);
    cache.insert(1000, 0);
    for k in 100..200 {
        cache.insert(k, 10);
    }
    cache.run_pending_tasks();
    assert!(cache.contains_key(&1000), "weight 0 is pinned");
}

#[test]
fn invalidate_all_and_predicate() {
    let (cache, log) = logged(Cache::builder().max_capacity(1000));
    for k in 0..100 {
        cache.insert(k, k);
    }
    assert_eq!(cache.invalidate_entries_if(|k, _| k % 2 == 0), 50);
    assert_eq!(cache.entry_count(), 50);
    assert!(cache.contains_key(&1) && !cache.contains_key(&2));
    cache.invalidate_all();
    assert_eq!(cache.entry_count(), 0);
    assert_eq!(cache.iter().count(), 0);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 100);
    assert!(log.iter().all(|e| e.2 == RemovalCause::Explicit));
}

#[test]
fn listener_may_reenter_the_cache() {
    let cache: Cache<u64, u64> = Cache::new(10);
    let c2 = cache.clone();
    let reentrant: Cache<u64, u64> = Cache::builder()
        .max_capacity(2)
        .eviction_listener(move |k, v, _| c2.insert(k, v))
        .build();
    for k in 0..10 {
        reentrant.insert(k, k);
    }
    reentrant.run_pending_tasks();
    cache.run_pending_tasks();
    assert!(cache.entry_count() >= 7);
}

#[test]
fn try_for_each_entry_visits_without_cloning() {
    let cache: Cache<u64, std::sync::Arc<u64>> = Cache::new(100);
    let values: Vec<_> = (0..10).map(std::sync::Arc::new).collect();
    for (k, v) in values.iter().enumerate() {
        cache.insert(k as u64, v.clone());
    }
    let mut sum = 0;
    assert!(cache.try_for_each_entry(|_, v| {
        assert_eq!(std::sync::Arc::strong_count(v), 2, "visited by reference");
        sum += **v;
    }));
    assert_eq!(sum, 45);
}

/// A key that counts how often it is hashed.
#[derive(Clone, PartialEq, Eq)]
struct CountedKey(u64);

static HASHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl std::hash::Hash for CountedKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        HASHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.hash(state);
    }
}

/// Evicting a victim does not hash (or read) its key again: the policy's copy of its hash
/// finds its index entry. Each insert into a full cache hashes the new key once, with one
/// global policy (1,000 entries) and with a policy per shard (4,096). One shard each: in
/// small shards an index rebuild (which rehashes every key, rarely) would blur the count.
#[test]
fn an_insert_that_evicts_hashes_only_the_new_key() {
    for capacity in [1_000u64, 4_096] {
        let cache: Cache<CountedKey, u64> =
            Cache::builder().max_capacity(capacity).shards(1).build();
        for k in 0..capacity {
            cache.insert(CountedKey(k), k);
        }
        cache.run_pending_tasks();
        let before = HASHES.load(std::sync::atomic::Ordering::Relaxed);
        for k in capacity..capacity + 500 {
            cache.insert(CountedKey(k), k);
        }
        let hashed = HASHES.load(std::sync::atomic::Ordering::Relaxed) - before;
        assert_eq!(cache.entry_count(), capacity, "capacity {capacity}");
        assert_eq!(
            hashed, 500,
            "capacity {capacity}: hashes for 500 inserts with eviction"
        );
    }
}

/// An entry heavier than the admission window's share (1% of the bound) is readable as soon as
/// its insert returns, whatever the layout: such entries once went straight from the window to
/// a duel with the popular entries and lost it. One heavier than the whole bound still goes.
#[test]
fn a_heavy_entry_just_written_is_readable_at_once() {
    for shards in [1, 4] {
        let (cache, log) = logged(
            Cache::builder()
                .max_capacity(1000)
                .shards(shards)
                .weigher(|_, v: &u64| (1 + v % 50) as u32),
        );
        for _ in 0..5 {
            for k in 0..300 {
                cache.insert(k, k);
                cache.get(&k);
            }
        }
        for k in 1000..20_000 {
            cache.insert(k, k);
            assert_eq!(
                cache.get(&k),
                Some(k),
                "{k} gone after its insert ({shards} shards)"
            );
            assert!(cache.weighted_size() <= 1000);
        }
        assert!(
            log.lock()
                .unwrap()
                .iter()
                .all(|&(_, _, c)| matches!(c, RemovalCause::Size | RemovalCause::Replaced)),
            "entries leave by size (or were replaced by the warm-up's rewrites)"
        );
        let (big_cache, big_log) = logged(
            Cache::builder()
                .max_capacity(10)
                .shards(shards)
                .weigher(|_, v: &u64| *v as u32),
        );
        big_cache.insert(1, 11);
        big_cache.run_pending_tasks();
        assert_eq!(big_cache.get(&1), None);
        assert_eq!(*big_log.lock().unwrap(), vec![(1, 11, RemovalCause::Size)]);
    }
}

/// `pop_coldest` takes entries in eviction order (exact under LRU), reports each as
/// `Explicit`, skips expired ones, and drains any layout.
#[test]
fn pop_coldest_takes_the_next_victim_until_empty() {
    let (cache, log) = logged(
        Cache::builder()
            .max_capacity(10)
            .eviction_policy(EvictionPolicy::Lru),
    );
    for k in 0..5 {
        cache.insert(k, k * 10);
    }
    cache.get(&0);
    assert_eq!(cache.pop_coldest(), Some((1, 10)));
    assert_eq!(cache.pop_coldest(), Some((2, 20)));
    assert_eq!(cache.keys_coldest_first(), vec![3, 4, 0]);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (1, 10, RemovalCause::Explicit),
            (2, 20, RemovalCause::Explicit)
        ]
    );
    while cache.pop_coldest().is_some() {}
    assert_eq!(cache.entry_count(), 0);
    assert_eq!(cache.pop_coldest(), None);

    // Expired entries are not returned: the maintenance it runs first reports them as expired.
    let (clock, mock) = cortado::quanta::Clock::mock();
    let (cache, log) = logged(Cache::builder().max_capacity(10).clock(clock));
    cache.insert_with_ttl(1, 1, std::time::Duration::from_secs(1));
    cache.insert(2, 2);
    mock.increment(std::time::Duration::from_secs(2));
    assert_eq!(cache.pop_coldest(), Some((2, 2)));
    assert_eq!(cache.pop_coldest(), None);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (1, 1, RemovalCause::Expired),
            (2, 2, RemovalCause::Explicit)
        ]
    );

    // Shards with policies of their own: each gives up its coldest in turn, until none is left.
    let (cache, log) = logged(Cache::builder().max_capacity(4 * 4096).shards(4));
    for k in 0..1000 {
        cache.insert(k, k);
    }
    let mut popped: Vec<u64> = std::iter::from_fn(|| cache.pop_coldest().map(|(k, _)| k)).collect();
    popped.sort_unstable();
    assert_eq!(popped, (0..1000).collect::<Vec<_>>());
    assert_eq!(log.lock().unwrap().len(), 1000);
}

#[test]
fn a_listener_that_panics_on_one_removal_still_hears_of_the_others() {
    use std::sync::{Arc, Mutex};
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = Arc::clone(&heard);
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(100)
        .eviction_listener(move |k, _v, _c| {
            h.lock().unwrap().push(k);
            assert_ne!(k, 3, "the listener fails on key 3");
        })
        .build();
    for k in 0..100 {
        cache.insert(k, k);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.invalidate_all()));
    assert!(r.is_err(), "the listener's panic reaches the caller");
    let mut all = heard.lock().unwrap().clone();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..100).collect::<Vec<_>>(),
        "every removal was reported"
    );
    assert_eq!(cache.entry_count(), 0, "and every shard was cleared");
    // The same for a predicate's removals and for evictions.
    heard.lock().unwrap().clear();
    for k in 0..100 {
        cache.insert(k, k);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.invalidate_entries_if(|k, _| k % 2 == 1)
    }));
    assert!(r.is_err());
    assert_eq!(heard.lock().unwrap().len(), 50);
    assert_eq!(cache.entry_count(), 50);
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
}

#[test]
fn a_listener_that_panics_during_upkeep_does_not_cut_it_short() {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    // Shards with policies of their own (the segmented cache) and one global policy: in both,
    // an explicit run reclaims every expired entry of every shard, even when the listener
    // fails on one of them.
    for builder in [
        Cache::builder().max_capacity(4 * 4096).shards(4),
        Cache::builder().max_capacity(1000).shards(4),
    ] {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let h = Arc::clone(&heard);
        let (clock, mock) = cortado::quanta::Clock::mock();
        let cache: Cache<u64, u64> = builder
            .clock(clock)
            .time_to_live(Duration::from_secs(1))
            .eviction_listener(move |k, _v, c| {
                h.lock().unwrap().push((k, c));
                assert_ne!(k, 7, "the listener fails on key 7");
            })
            .build();
        for k in 0..200 {
            cache.insert(k, k);
        }
        mock.increment(Duration::from_secs(2));
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.run_pending_tasks()));
        assert!(r.is_err(), "the listener's panic reaches the caller");
        let mut all = heard.lock().unwrap().clone();
        all.sort_unstable_by_key(|&(k, _)| k);
        let expected: Vec<_> = (0..200).map(|k| (k, RemovalCause::Expired)).collect();
        assert_eq!(all, expected, "every expired entry was reported once");
        assert_eq!(cache.entry_count(), 0);
        assert_eq!(cache.iter().count(), 0);
        cache.insert(7, 7);
        assert_eq!(cache.get(&7), Some(7));
    }
}

#[test]
fn a_listener_that_panics_on_an_eviction_still_hears_of_the_replaced_value() {
    use std::sync::{Arc, Mutex};
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = Arc::clone(&heard);
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(10)
        .weigher(|_k, v| *v)
        .eviction_listener(move |k, v, c| {
            h.lock().unwrap().push((k, v, c));
            assert_ne!(
                c,
                RemovalCause::Size,
                "the listener fails on evictions for size"
            );
        })
        .build();
    cache.insert(1, 5);
    cache.insert(2, 4);
    // A heavier value for key 1 pushes the total over the bound: the write both replaces a
    // value and evicts for size, and the listener panics on the eviction.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.insert(1, 7)));
    assert!(r.is_err());
    let heard = heard.lock().unwrap().clone();
    assert!(heard.contains(&(1, 5, RemovalCause::Replaced)), "{heard:?}");
    assert!(
        heard.iter().any(|&(_, _, c)| c == RemovalCause::Size),
        "{heard:?}"
    );
}
