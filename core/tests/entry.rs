//! The entry API: atomic read-modify-write of one key.

use std::sync::Arc;

use cortado::{Cache, CompResult, Op};

#[test]
fn or_insert_variants() {
    let cache: Cache<&'static str, u32> = Cache::new(10);
    let e = cache.entry("a").or_insert(1);
    assert!(e.is_fresh());
    assert_eq!(*e.value(), 1);
    let e = cache.entry("a").or_insert_with(|| 2);
    assert!(!e.is_fresh());
    assert_eq!(e.into_value(), 1);
    assert_eq!(cache.entry("b").or_optionally_insert_with(|| None), None);
    assert_eq!(
        cache
            .entry("b")
            .or_try_insert_with(|| Err::<u32, &str>("x"))
            .unwrap_err()
            .as_ref(),
        &"x"
    );
    assert_eq!(
        *cache
            .entry("b")
            .or_try_insert_with(|| Ok::<_, ()>(3))
            .unwrap()
            .value(),
        3
    );
}

#[test]
fn compute_covers_every_outcome() {
    let cache: Cache<u32, u32> = Cache::new(10);
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Nop),
        CompResult::StillNone(1)
    );
    assert!(
        matches!(cache.entry(1).and_compute_with(|_| Op::Put(5)), CompResult::Inserted(e) if *e.value() == 5)
    );
    assert!(matches!(
        cache.entry(1).and_compute_with(|e| Op::Put(e.unwrap().value() + 1)),
        CompResult::ReplacedWith(e) if *e.value() == 6
    ));
    assert!(
        matches!(cache.entry(1).and_compute_with(|_| Op::Nop), CompResult::Unchanged(e) if *e.value() == 6)
    );
    assert!(
        matches!(cache.entry(1).and_compute_with(|_| Op::Remove), CompResult::Removed(e) if *e.value() == 6)
    );
    assert!(!cache.contains_key(&1));
    assert_eq!(
        cache.entry(1).and_compute_with(|_| Op::Remove),
        CompResult::StillNone(1)
    );
    assert_eq!(
        *cache
            .entry(2)
            .and_upsert_with(|e| e.map_or(1, |e| e.value() + 1))
            .value(),
        1
    );
    assert_eq!(
        *cache
            .entry(2)
            .and_upsert_with(|e| e.map_or(1, |e| e.value() + 1))
            .value(),
        2
    );
}

#[test]
fn concurrent_counters_lose_no_update() {
    let cache: Cache<u32, u64> = Cache::new(10);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    cache
                        .entry(0)
                        .and_upsert_with(|e| e.map_or(1, |e| e.value() + 1));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(cache.get(&0), Some(4000));
}

#[test]
fn compute_reentering_its_key_panics_instead_of_deadlocking() {
    let cache: Cache<u32, u32> = Cache::new(10);
    let c = Arc::new(cache.clone());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.entry(1).and_compute_with(|_| {
            c.entry(1).and_upsert_with(|_| 1);
            Op::Nop
        })
    }));
    assert!(r.is_err());
    // The claim was released by the unwinding: the key is usable again.
    assert_eq!(*cache.entry(1).or_insert(3).value(), 3);
    // The non-panicking form reports it and changes nothing.
    let inner = cache.entry(1).try_and_compute_with(|_| {
        let nested = c.entry(1).try_and_compute_with(|_| Op::Put(9));
        assert_eq!(nested, Err(cortado::RecursiveLoad));
        Op::Nop
    });
    assert!(matches!(inner, Ok(CompResult::Unchanged(_))));
    assert_eq!(cache.get(&1), Some(3));
}
