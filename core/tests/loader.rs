//! Loaders: coalescing across threads and tasks, errors, panics, recursion, refresh.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use cortado::{Cache, Claim, LoadResult};

#[test]
fn sixty_four_threads_one_loader_run() {
    let cache: Cache<u32, Arc<String>> = Cache::new(100);
    let runs = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(64));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let (cache, runs, barrier) = (cache.clone(), Arc::clone(&runs), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                cache.get_with(7, || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    Arc::new("loaded".to_string())
                })
            })
        })
        .collect();
    let values: Vec<Arc<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(
        values.iter().all(|v| Arc::ptr_eq(v, &values[0])),
        "everyone got the same value"
    );
    let s = cache.stats();
    assert_eq!(s.load_successes, 1);
}

#[test]
fn errors_are_shared_and_not_cached() {
    let cache: Cache<u32, u32> = Cache::new(100);
    let runs = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(20));
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let (cache, runs, barrier) = (cache.clone(), Arc::clone(&runs), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                cache.try_get_with(1, || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    Err::<u32, String>("boom".into())
                })
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let errs: Vec<Arc<String>> = results.into_iter().map(|r| r.unwrap_err()).collect();
    // Threads that arrive after a failed load start a new one; most share the first.
    let loads = runs.load(Ordering::SeqCst);
    assert!((1..20).contains(&loads), "{loads} loads for 20 callers");
    let shared = errs.iter().filter(|e| Arc::ptr_eq(e, &errs[0])).count();
    assert!(shared >= 2, "waiters get the loader's own error Arc");
    assert!(!cache.contains_key(&1), "errors are not cached");
    assert_eq!(cache.try_get_with(1, || Ok::<_, String>(5)), Ok(5));
    assert_eq!(cache.stats().load_failures as usize, loads);
}

#[test]
fn optional_none_is_not_cached() {
    let cache: Cache<u32, u32> = Cache::new(10);
    assert_eq!(cache.optionally_get_with(1, || None), None);
    assert!(!cache.contains_key(&1));
    assert_eq!(cache.optionally_get_with(1, || Some(3)), Some(3));
    assert_eq!(cache.optionally_get_with(1, || Some(4)), Some(3));
}

#[test]
fn a_panicking_loader_wakes_waiters_who_retry() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let barrier = Arc::new(Barrier::new(2));
    let c1 = cache.clone();
    let b1 = Arc::clone(&barrier);
    let panicker = std::thread::spawn(move || {
        c1.get_with(1, || {
            b1.wait();
            std::thread::sleep(Duration::from_millis(50));
            panic!("loader exploded");
        })
    });
    barrier.wait();
    // This caller waits on the doomed load, then loads itself.
    let v = cache.get_with(1, || 42);
    assert_eq!(v, 42);
    assert!(panicker.join().is_err());
    assert_eq!(cache.get(&1), Some(42));
}

#[test]
fn recursive_load_of_the_same_key_panics_instead_of_deadlocking() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let c = cache.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.get_with(1, || c.get_with(1, || 2))
    }));
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("loader called back"), "{msg}");
    // A loader may use the cache for other keys.
    assert_eq!(cache.get_with(2, || c.get_with(3, || 3) + 1), 4);
    // And the primitive reports recursion as an error value.
    let claim = cache.claim_load(9).unwrap();
    let Claim::Load(guard) = claim else {
        panic!("expected to load")
    };
    assert!(cache.claim_load(9).is_err());
    guard.complete(1);
    assert!(matches!(cache.claim_load(9), Ok(Claim::Present(1))));
}

#[test]
fn a_claim_after_a_miss_counts_one_miss() {
    let cache: Cache<u32, u32> = Cache::new(10);
    assert_eq!(cache.get(&1), None);
    let Ok(Claim::Load(guard)) = cache.claim_load_after_miss(1) else {
        panic!()
    };
    guard.complete(3);
    assert_eq!(cache.get(&1), Some(3));
    let s = cache.stats();
    assert_eq!((s.hits, s.misses), (1, 1));
    assert!(matches!(cache.claim_load(2), Ok(Claim::Load(_))));
    assert_eq!(
        cache.stats().misses,
        2,
        "a plain claim counts its own lookup"
    );
}

#[test]
fn a_claimed_load_can_set_its_own_ttl() {
    let (clock, mock) = cortado::quanta::Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder().clock(clock).build();
    let Claim::Load(guard) = cache.claim_load_detached(1) else {
        panic!()
    };
    guard.complete_with_ttl(5, Duration::from_secs(2));
    assert_eq!(cache.get(&1), Some(5));
    mock.increment(Duration::from_secs(2));
    assert_eq!(cache.get(&1), None);
}

#[test]
fn the_primitive_coalesces_with_callbacks() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let Claim::Load(guard) = cache.claim_load_detached(1) else {
        panic!()
    };
    let seen = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let Claim::Wait(w) = cache.claim_load_detached(1) else {
            panic!()
        };
        assert!(w.try_result().is_none());
        let seen = Arc::clone(&seen);
        w.on_complete(move |r| {
            if let LoadResult::Loaded(v) = r {
                seen.fetch_add(v as usize, Ordering::SeqCst);
            }
        });
    }
    guard.complete(5);
    assert_eq!(seen.load(Ordering::SeqCst), 15);
    // A dropped claim wakes its waiters with Abandoned.
    let Claim::Load(guard) = cache.claim_load_detached(2) else {
        panic!()
    };
    let Claim::Wait(w) = cache.claim_load_detached(2) else {
        panic!()
    };
    drop(guard);
    assert!(matches!(w.wait(), LoadResult::Abandoned));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_loaders_coalesce_without_blocking_workers() {
    let cache: Cache<u32, u32> = Cache::new(100);
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, runs) = (cache.clone(), Arc::clone(&runs));
            tokio::spawn(async move {
                cache
                    .get_with_async(1, async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        7
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 7);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let e = cache
        .try_get_with_async(2, async { Err::<u32, &str>("nope") })
        .await
        .unwrap_err();
    assert_eq!(*e, "nope");
    assert_eq!(
        cache.optionally_get_with_async(3, async { None }).await,
        None
    );
}

#[tokio::test]
async fn a_cancelled_async_load_hands_over_to_a_waiter() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let c = cache.clone();
    let first = tokio::spawn(async move {
        c.get_with_async(1, async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            1
        })
        .await
    });
    tokio::task::yield_now().await;
    let c = cache.clone();
    let second = tokio::spawn(async move { c.get_with_async(1, async { 2 }).await });
    tokio::task::yield_now().await;
    first.abort();
    assert_eq!(second.await.unwrap(), 2);
}

#[test]
fn refresh_after_write_serves_stale_while_one_caller_reloads() {
    let (clock, mock) = cortado::quanta::Clock::mock();
    let cache: Cache<u32, u32> = Cache::builder()
        .max_capacity(10)
        .clock(clock)
        .refresh_after_write(Duration::from_secs(10))
        .build();
    assert_eq!(cache.get_with(1, || 1), 1);
    mock.increment(Duration::from_secs(5));
    assert_eq!(cache.get_with(1, || 2), 1, "fresh enough");
    mock.increment(Duration::from_secs(5));
    // Stale: while one caller reloads, another is served the old value at once.
    let c = cache.clone();
    let inner = std::cell::Cell::new(None);
    let v = cache.get_with(1, || {
        inner.set(Some(c.get_with(1, || 99)));
        3
    });
    assert_eq!(v, 3);
    assert_eq!(
        inner.get(),
        Some(1),
        "a concurrent caller got the old value without waiting"
    );
    assert_eq!(cache.get(&1), Some(3));
    // A failed reload keeps the old value.
    mock.increment(Duration::from_secs(11));
    assert_eq!(cache.try_get_with(1, || Err::<u32, &str>("down")), Ok(3));
    assert_eq!(cache.get(&1), Some(3));
    // Explicit refresh.
    assert!(cache.refresh(1, || Ok::<_, ()>(Some(4))));
    assert_eq!(cache.get(&1), Some(4));
    assert!(!cache.refresh(1, || Err::<Option<u32>, ()>(())));
    assert_eq!(cache.get(&1), Some(4));
}

/// The claim on `key`, which must be free.
fn claim(cache: &Cache<u32, u32>, key: u32) -> cortado::LoadGuard<u32, u32, cortado::RandomState> {
    match cache.claim_load(key).unwrap() {
        Claim::Load(guard) => guard,
        _ => panic!("expected to load {key}"),
    }
}

#[test]
fn a_load_superseded_by_an_explicit_removal_is_not_stored() {
    // Cache-aside: the source is updated, then the key invalidated, while a load that read the
    // old source is in flight. Its value must not land after the invalidation.
    let cache: Cache<u32, u32> = Cache::new(100);
    for remove in [
        (|c: &Cache<u32, u32>| c.invalidate(&1)) as fn(&Cache<u32, u32>),
        |c| assert_eq!(c.remove(&1), None),
        |c| c.invalidate_all(),
    ] {
        let guard = claim(&cache, 1);
        let Claim::Wait(waiter) = cache.claim_load_detached(1) else {
            panic!("the second claim waits")
        };
        remove(&cache);
        guard.complete(10);
        assert_eq!(
            cache.get(&1),
            None,
            "an invalidation outlives the load it overtook"
        );
        assert!(
            matches!(waiter.try_result(), Some(LoadResult::Loaded(10))),
            "waiters still get the value"
        );
        // The next load is stored as usual.
        claim(&cache, 1).complete(11);
        assert_eq!(cache.get(&1), Some(11));
        cache.invalidate(&1);
    }
}

#[test]
fn a_write_during_a_load_is_kept() {
    let cache: Cache<u32, u32> = Cache::new(100);
    let guard = claim(&cache, 1);
    cache.insert(2, 2); // another key: no effect on the load
    cache.insert(1, 20);
    guard.complete(10);
    assert_eq!(
        cache.get(&1),
        Some(20),
        "the load does not overwrite a newer write"
    );
    // A load that nothing overtook is stored, even next to other keys' writes.
    let guard = claim(&cache, 3);
    cache.insert(2, 3);
    cache.invalidate(&4);
    guard.complete(30);
    assert_eq!(cache.get(&3), Some(30));
}

#[test]
fn get_with_racing_an_invalidation_leaves_the_key_absent() {
    let cache: Cache<u32, u32> = Cache::new(100);
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let c = cache.clone();
    let loader = std::thread::spawn(move || {
        c.get_with(1, move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            10
        })
    });
    started_rx.recv().unwrap();
    cache.invalidate(&1);
    release_tx.send(()).unwrap();
    assert_eq!(loader.join().unwrap(), 10, "the caller gets what it loaded");
    assert_eq!(cache.get(&1), None);
    assert_eq!(
        cache.get_with(1, || 11),
        11,
        "and the next caller loads afresh"
    );
}

#[test]
fn a_refresh_overtaken_by_a_write_keeps_the_write() {
    let cache: Cache<u32, u32> = Cache::new(100);
    cache.insert(1, 1);
    let c = cache.clone();
    let refreshed = c.refresh(1, || {
        // The write lands while the reload runs.
        cache.insert(1, 2);
        Ok::<_, std::convert::Infallible>(Some(3))
    });
    assert!(!refreshed, "the refresh did not store its value");
    assert_eq!(cache.get(&1), Some(2));
}

#[test]
fn a_caller_after_an_invalidation_loads_afresh_instead_of_waiting() {
    // The load in flight read the source before the update the invalidation announces: a
    // caller that comes after must not be handed its value.
    let cache: Cache<u32, u32> = Cache::new(100);
    for first_finishes_first in [true, false] {
        let old = claim(&cache, 1);
        let Claim::Wait(early) = cache.claim_load_detached(1) else {
            panic!("a caller before the invalidation waits")
        };
        cache.invalidate(&1);
        let Claim::Load(fresh) = cache.claim_load_detached(1) else {
            panic!("a caller after the invalidation loads afresh")
        };
        let Claim::Wait(late) = cache.claim_load_detached(1) else {
            panic!("and later callers wait for that load")
        };
        if first_finishes_first {
            old.complete(10);
            fresh.complete(20);
        } else {
            fresh.complete(20);
            old.complete(10);
        }
        assert!(matches!(early.try_result(), Some(LoadResult::Loaded(10))));
        assert!(matches!(late.try_result(), Some(LoadResult::Loaded(20))));
        assert_eq!(cache.get(&1), Some(20));
        cache.invalidate(&1);
    }
}
