//! Expiry on a mock clock: time-to-live, time-to-idle, per-entry expiry, the `Expiry` trait.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cortado::quanta::{Clock, Instant, Mock};
use cortado::{BuildError, Cache, Expiry, RemovalCause};

fn mock() -> (Clock, Arc<Mock>) {
    Clock::mock()
}

#[test]
fn builder_rejects_absurd_durations() {
    let err = Cache::<u32, u32>::builder()
        .time_to_live(Duration::from_secs(1001 * 365 * 24 * 3600))
        .try_build()
        .unwrap_err();
    assert_eq!(err, BuildError::DurationTooLong("time_to_live"));
    let err = Cache::<u32, u32>::builder()
        .time_to_idle(Duration::ZERO)
        .try_build()
        .unwrap_err();
    assert_eq!(err, BuildError::ZeroDuration("time_to_idle"));
    assert!(Cache::<u32, u32>::builder()
        .time_to_live(Duration::from_secs(999 * 365 * 24 * 3600))
        .try_build()
        .is_ok());
}

#[test]
fn expired_entries_are_never_returned_and_are_reclaimed_without_a_scan() {
    let (clock, m) = mock();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = Arc::clone(&log);
    let cache: Cache<u32, u32> = Cache::builder()
        .clock(clock)
        .time_to_live(Duration::from_secs(60))
        .eviction_listener(move |k, _, c| l.lock().unwrap().push((k, c)))
        .build();
    for k in 0..10_000 {
        cache.insert(k, k);
        if k % 1000 == 999 {
            m.increment(Duration::from_secs(1));
        }
    }
    m.increment(Duration::from_millis(54_500));
    // Entries written in the first 5 seconds have expired.
    assert_eq!(cache.get(&0), None);
    assert_eq!(cache.get(&4999), None);
    assert_eq!(cache.get(&5000), Some(5000));
    assert_eq!(cache.iter().count(), 5000);
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), 5000);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 5000);
    assert!(log
        .iter()
        .all(|(k, c)| *k < 5000 && *c == RemovalCause::Expired));
    assert_eq!(cache.stats().eviction_count, 5000);
}

#[test]
fn remaining_ttl_and_insert_with_ttl_on_a_cache_without_expiry() {
    let (clock, m) = mock();
    let cache: Cache<u32, u32> = Cache::builder().clock(clock).build();
    cache.insert(1, 1);
    // Read before any deadline exists (the plain read path), then after one does.
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.get(&2), None);
    cache.insert_with_ttl(2, 2, Duration::from_secs(5));
    assert_eq!(cache.remaining_ttl(&1), Some(None));
    assert_eq!(cache.remaining_ttl(&2), Some(Some(Duration::from_secs(5))));
    m.increment(Duration::from_secs(5));
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.remaining_ttl(&2), None);
    assert_eq!(cache.get(&1), Some(1));
}

/// Negative caching: misses (None) live 1 s, hits live 1 h, reads of hits extend to 1 h.
struct NegativeCaching;

impl Expiry<u32, Option<String>> for NegativeCaching {
    fn expire_after_create(&self, _k: &u32, v: &Option<String>, _at: Instant) -> Option<Duration> {
        Some(match v {
            Some(_) => Duration::from_secs(3600),
            None => Duration::from_secs(1),
        })
    }

    fn expire_after_read(
        &self,
        _k: &u32,
        v: &Option<String>,
        _at: Instant,
        _left: Option<Duration>,
    ) -> Option<Duration> {
        v.as_ref().map(|_| Duration::from_secs(3600))
    }
}

#[test]
fn per_entry_expiry_through_the_trait() {
    let (clock, m) = mock();
    let cache: Cache<u32, Option<String>> = Cache::builder()
        .clock(clock)
        .expire_after(NegativeCaching)
        .build();
    cache.insert(1, Some("alice".into()));
    cache.insert(2, None);
    m.increment(Duration::from_millis(1500));
    assert_eq!(cache.get(&2), None, "the negative entry expired");
    assert_eq!(cache.get(&1), Some(Some("alice".into())));
    m.increment(Duration::from_secs(3000));
    assert!(
        cache.get(&1).is_some(),
        "the read extended it to an hour from the read"
    );
    m.increment(Duration::from_secs(3000));
    assert!(cache.get(&1).is_some());
    m.increment(Duration::from_secs(3601));
    assert_eq!(cache.get(&1), None);
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), 0);
}

#[test]
fn time_to_idle_extended_by_reads_only() {
    let (clock, m) = mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .clock(clock)
        .time_to_idle(Duration::from_secs(10))
        .build();
    cache.insert(1, 1);
    cache.insert(2, 2);
    for _ in 0..5 {
        m.increment(Duration::from_secs(9));
        assert_eq!(cache.get(&1), Some(1));
        cache.run_pending_tasks();
    }
    assert_eq!(cache.peek(&2), None);
    assert_eq!(cache.entry_count(), 1);
}

/// Sets a lifetime on every read: 300 ms for even values, none (keep) for odd ones; creation
/// gives values over 100 a lifetime of that many ms.
struct ShortenOnRead;

impl Expiry<u32, u32> for ShortenOnRead {
    fn expire_after_create(&self, _: &u32, v: &u32, _: Instant) -> Option<Duration> {
        (*v > 100).then(|| Duration::from_millis(u64::from(*v)))
    }
    fn expire_after_read(
        &self,
        _: &u32,
        v: &u32,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        (*v % 2 == 0).then(|| Duration::from_millis(300))
    }
}

/// A read that gives an entry its first deadline, or an earlier one, is a change maintenance
/// must act on: such entries were never reclaimed (still counted, never reported) until
/// evicted for size.
#[test]
fn a_deadline_set_or_shortened_by_a_read_is_reclaimed_on_time() {
    for shards in [None, Some(1)] {
        for policy in [
            cortado::EvictionPolicy::TinyLfu,
            cortado::EvictionPolicy::Lru,
        ] {
            let (clock, m) = mock();
            let log = Arc::new(Mutex::new(Vec::new()));
            let l = Arc::clone(&log);
            let mut b = Cache::builder()
                .max_capacity(100)
                .eviction_policy(policy)
                .clock(clock)
                .expire_after(ShortenOnRead)
                .eviction_listener(move |k, _, c| l.lock().unwrap().push((k, c)));
            if let Some(n) = shards {
                b = b.shards(n);
            }
            let cache: Cache<u32, u32> = b.build();
            cache.insert(1, 2); // no deadline
            cache.insert(2, 1000); // 1000 ms
            cache.insert(3, 3); // no deadline, and reads keep it
            assert_eq!(cache.get(&1), Some(2)); // now 300 ms
            assert_eq!(cache.get(&2), Some(1000)); // now 300 ms
            assert_eq!(cache.get(&3), Some(3));
            m.increment(Duration::from_millis(299));
            cache.run_pending_tasks();
            assert_eq!(cache.entry_count(), 3);
            m.increment(Duration::from_millis(1));
            cache.run_pending_tasks();
            assert_eq!(cache.entry_count(), 1, "{policy:?}, {shards:?} shards");
            let mut gone = log.lock().unwrap().clone();
            gone.sort_unstable_by_key(|&(k, _)| k);
            assert_eq!(
                gone,
                vec![(1, RemovalCause::Expired), (2, RemovalCause::Expired)]
            );
            assert_eq!(cache.get(&3), Some(3));
        }
    }
}
