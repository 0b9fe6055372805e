//! Model-based property test: random operation sequences on a mock clock, checked against a
//! simple model of what may and may not be observed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cortado::{Cache, EvictionPolicy, RemovalCause};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Insert(u8),
    InsertTtl(u8, u16),
    Get(u8),
    Peek(u8),
    Remove(u8),
    Advance(u16),
    RunPending,
    InvalidateAll,
    InvalidateOdd,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u8>().prop_map(|k| Op::Insert(k % 40)),
        2 => (any::<u8>(), 1..2000u16).prop_map(|(k, t)| Op::InsertTtl(k % 40, t)),
        6 => any::<u8>().prop_map(|k| Op::Get(k % 40)),
        1 => any::<u8>().prop_map(|k| Op::Peek(k % 40)),
        2 => any::<u8>().prop_map(|k| Op::Remove(k % 40)),
        2 => (0..1500u16).prop_map(Op::Advance),
        1 => Just(Op::RunPending),
        1 => Just(Op::InvalidateOdd),
        1 => Just(Op::InvalidateAll),
    ]
}

/// What the model knows of each key's latest value: its id and deadline (ms, u64::MAX if none).
#[derive(Clone, Copy)]
struct Latest {
    id: u64,
    deadline: u64,
}

fn run(ops: Vec<Op>, max: u64, policy: EvictionPolicy, ttl: Option<u64>) {
    let (clock, mock) = cortado::quanta::Clock::mock();
    let reported: Arc<Mutex<Vec<(u64, u64, RemovalCause)>>> = Arc::default();
    let r = Arc::clone(&reported);
    let mut b = Cache::builder()
        .max_capacity(max)
        .eviction_policy(policy)
        .clock(clock)
        .eviction_listener(move |k, v, c| r.lock().unwrap().push((k, v, c)));
    if let Some(ttl) = ttl {
        b = b.time_to_live(Duration::from_millis(ttl));
    }
    let cache: Cache<u64, u64> = b.build();
    let mut now_ms = 0u64;
    let mut next_id = 0u64;
    let mut latest: HashMap<u64, Latest> = HashMap::new();
    // id -> (key, deadline) of every value ever inserted
    let mut issued: HashMap<u64, (u64, u64)> = HashMap::new();
    for op in ops {
        match op {
            Op::Insert(k) | Op::InsertTtl(k, _) => {
                let k = u64::from(k);
                let id = next_id;
                next_id += 1;
                let deadline = match op {
                    Op::InsertTtl(_, t) => {
                        cache.insert_with_ttl(k, id, Duration::from_millis(u64::from(t)));
                        now_ms + u64::from(t)
                    }
                    _ => {
                        cache.insert(k, id);
                        ttl.map_or(u64::MAX, |t| now_ms + t)
                    }
                };
                issued.insert(id, (k, deadline));
                latest.insert(k, Latest { id, deadline });
                // An entry just written is readable at once (the admission window keeps it).
                assert_eq!(cache.peek(&k), Some(id), "fresh insert of {k} not readable");
            }
            Op::Get(k) | Op::Peek(k) => {
                let k = u64::from(k);
                let got = if matches!(op, Op::Get(_)) {
                    cache.get(&k)
                } else {
                    cache.peek(&k)
                };
                if let Some(v) = got {
                    let l = latest.get(&k).expect("a value for a key never written");
                    assert_eq!(v, l.id, "stale value for {k}");
                    assert!(now_ms < l.deadline, "expired value returned for {k}");
                }
            }
            Op::Remove(k) => {
                let k = u64::from(k);
                if let Some(v) = cache.remove(&k) {
                    let l = latest[&k];
                    assert_eq!(v, l.id);
                    assert!(now_ms < l.deadline);
                }
            }
            Op::Advance(ms) => {
                mock.increment(Duration::from_millis(u64::from(ms)));
                now_ms += u64::from(ms);
            }
            Op::RunPending => {
                cache.run_pending_tasks();
                assert!(cache.weighted_size() <= max);
            }
            Op::InvalidateAll => cache.invalidate_all(),
            Op::InvalidateOdd => {
                cache.invalidate_entries_if(|k, _| k % 2 == 1);
            }
        }
    }
    // The bound holds after maintenance, and every value is present or reported exactly once
    // with a cause consistent with its history.
    cache.run_pending_tasks();
    assert!(cache.entry_count() <= max);
    let present: HashMap<u64, u64> = cache.iter().map(|(k, v)| (v, k)).collect();
    assert_eq!(present.len() as u64, cache.entry_count());
    let reported = reported.lock().unwrap();
    let mut accounted: HashMap<u64, RemovalCause> = HashMap::new();
    for &(k, id, cause) in reported.iter() {
        let (key, deadline) = issued[&id];
        assert_eq!(k, key);
        assert!(
            accounted.insert(id, cause).is_none(),
            "value {id} reported twice"
        );
        assert!(
            !present.contains_key(&id),
            "value {id} reported and still present"
        );
        if cause == RemovalCause::Expired {
            assert!(
                deadline <= now_ms,
                "value {id} reported expired before its deadline"
            );
        }
    }
    for (id, (k, deadline)) in &issued {
        if present.contains_key(id) {
            assert_eq!(latest[k].id, *id, "a replaced value is still present");
            assert!(
                now_ms < *deadline,
                "an expired value is still present after maintenance"
            );
        } else {
            assert!(
                accounted.contains_key(id),
                "value {id} of key {k} lost without a trace"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn tinylfu_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, 8, EvictionPolicy::TinyLfu, Some(1000));
    }

    #[test]
    fn tinylfu_without_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, 8, EvictionPolicy::TinyLfu, None);
    }

    #[test]
    fn lru_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, 5, EvictionPolicy::Lru, Some(700));
    }
}
