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
    /// `get_with`: the value present, or a new one loaded (and inserted) for the key.
    GetWith(u8),
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
        2 => any::<u8>().prop_map(|k| Op::GetWith(k % 40)),
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
    /// When it was written (ms), for the time-to-live a read cannot extend.
    written: u64,
    /// Whether it was written with a time-to-live of its own, which reads do not extend.
    own: bool,
}

/// How the cache under test is built, beyond its bound, policy and time-to-live.
#[derive(Clone, Copy, Default)]
struct Shape {
    /// One shard: its policy lives under the shard's lock (the layout of the bindings and of
    /// large caches), not in the cache-wide policy the default shards of a small cache share.
    one_shard: bool,
    /// Weighs each value at `id % 4` (0 pins an entry), bounding the total weight instead of
    /// the count.
    weighted: bool,
    /// A time-to-idle (ms): reads (not peeks) push an entry's deadline out.
    tti: Option<u64>,
}

/// Checks that `v`, read for `k` at `now_ms`, is the key's latest value and still live; returns
/// what the model knows of it.
fn checked_read(latest: &mut HashMap<u64, Latest>, k: u64, v: u64, now_ms: u64) -> &mut Latest {
    let l = latest.get_mut(&k).expect("a value for a key never written");
    assert_eq!(v, l.id, "stale value for {k}");
    assert!(now_ms < l.deadline, "expired value returned for {k}");
    l
}

fn run(ops: Vec<Op>, max: u64, policy: EvictionPolicy, ttl: Option<u64>) {
    run_shaped(ops, max, policy, ttl, Shape::default());
}

fn run_shaped(ops: Vec<Op>, max: u64, policy: EvictionPolicy, ttl: Option<u64>, shape: Shape) {
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
    if shape.one_shard {
        b = b.shards(1);
    }
    if shape.weighted {
        b = b.weigher(|_, id: &u64| (*id % 4) as u32);
    }
    if let Some(tti) = shape.tti {
        b = b.time_to_idle(Duration::from_millis(tti));
    }
    // The cache-wide deadline of a value written at `written` and last read at `read`.
    let deadline_of = |written: u64, read: u64| {
        let live = ttl.map_or(u64::MAX, |t| written + t);
        live.min(shape.tti.map_or(u64::MAX, |t| read + t))
    };
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
                        deadline_of(now_ms, now_ms)
                    }
                };
                issued.insert(id, (k, deadline));
                let own = matches!(op, Op::InsertTtl(..));
                latest.insert(
                    k,
                    Latest {
                        id,
                        deadline,
                        written: now_ms,
                        own,
                    },
                );
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
                    let read = matches!(op, Op::Get(_)) && shape.tti.is_some();
                    let l = checked_read(&mut latest, k, v, now_ms);
                    if read && !l.own {
                        l.deadline = deadline_of(l.written, now_ms);
                        issued.get_mut(&v).expect("issued").1 = l.deadline;
                    }
                }
            }
            Op::GetWith(k) => {
                let k = u64::from(k);
                let id = next_id;
                next_id += 1;
                let v = cache.get_with(k, || id);
                if v == id {
                    // Loaded: a write like any other.
                    let deadline = deadline_of(now_ms, now_ms);
                    issued.insert(id, (k, deadline));
                    latest.insert(
                        k,
                        Latest {
                            id,
                            deadline,
                            written: now_ms,
                            own: false,
                        },
                    );
                    assert_eq!(cache.peek(&k), Some(id), "loaded value of {k} not readable");
                } else {
                    let l = checked_read(&mut latest, k, v, now_ms);
                    if !l.own && shape.tti.is_some() {
                        l.deadline = deadline_of(l.written, now_ms);
                        issued.get_mut(&v).expect("issued").1 = l.deadline;
                    }
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
    assert!(cache.weighted_size() <= max);
    if !shape.weighted {
        assert!(cache.entry_count() <= max);
    }
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
    fn tinylfu_in_one_shard_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run_shaped(ops, 8, EvictionPolicy::TinyLfu, Some(1000), Shape { one_shard: true, ..Shape::default() });
    }

    #[test]
    fn tinylfu_weighted_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run_shaped(ops, 12, EvictionPolicy::TinyLfu, Some(1000), Shape { weighted: true, ..Shape::default() });
    }

    #[test]
    fn tinylfu_weighted_in_one_shard(ops in proptest::collection::vec(op(), 1..300)) {
        run_shaped(ops, 12, EvictionPolicy::TinyLfu, None, Shape { one_shard: true, weighted: true, tti: None });
    }

    #[test]
    fn lru_weighted_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run_shaped(ops, 10, EvictionPolicy::Lru, Some(700), Shape { weighted: true, ..Shape::default() });
    }

    #[test]
    fn tinylfu_with_ttl_and_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run_shaped(ops, 8, EvictionPolicy::TinyLfu, Some(2500), Shape { tti: Some(900), ..Shape::default() });
    }

    #[test]
    fn tinylfu_weighted_in_one_shard_with_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run_shaped(ops, 12, EvictionPolicy::TinyLfu, None, Shape { one_shard: true, weighted: true, tti: Some(900) });
    }

    #[test]
    fn lru_with_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run_shaped(ops, 5, EvictionPolicy::Lru, None, Shape { tti: Some(700), ..Shape::default() });
    }

    #[test]
    fn lru_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, 5, EvictionPolicy::Lru, Some(700));
    }
}
