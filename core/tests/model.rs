//! Model-based property test: random operation sequences on a mock clock, checked against a
//! simple model of what may and may not be observed: a value read is the key's latest and
//! still live, a value just written is readable, the bound holds after maintenance, and every
//! value ever written is either present or was reported to the listener exactly once, with a
//! cause its history allows. The cache is built in several shapes (policies, one shard or the
//! default, weights, time-to-live, time-to-idle, per-entry expiry).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cortado::quanta::Instant;
use cortado::{Cache, CompResult, EvictionPolicy, Expiry, RemovalCause};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Insert(u8),
    InsertTtl(u8, u16),
    Get(u8),
    /// `get_with`: the value present, or a new one loaded (and inserted) for the key.
    GetWith(u8),
    /// `entry(k).and_compute_with`: removes, replaces or keeps what it finds, by its value.
    Compute(u8),
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
        2 => any::<u8>().prop_map(|k| Op::Compute(k % 40)),
        1 => any::<u8>().prop_map(|k| Op::Peek(k % 40)),
        2 => any::<u8>().prop_map(|k| Op::Remove(k % 40)),
        2 => (0..1500u16).prop_map(Op::Advance),
        1 => Just(Op::RunPending),
        1 => Just(Op::InvalidateOdd),
        1 => Just(Op::InvalidateAll),
    ]
}

/// How the cache under test is built.
#[derive(Clone, Copy, Default)]
struct Shape {
    max: u64,
    policy: EvictionPolicy,
    /// Time-to-live (ms).
    ttl: Option<u64>,
    /// Time-to-idle (ms): reads (not peeks) push an entry's deadline out.
    tti: Option<u64>,
    /// Per-entry expiry by [`ById`].
    expiry: bool,
    /// Refresh after write (ms): `get_with` reloads a value written at least this long ago.
    refresh: Option<u64>,
    /// One shard: its policy lives under the shard's lock (the layout of the bindings and of
    /// large caches), not in the cache-wide policy the default shards of a small cache share.
    one_shard: bool,
    /// Weighs each value at `id % 4` (0 pins an entry), bounding the total weight instead of
    /// the count.
    weighted: bool,
}

/// Per-entry expiry decided by the value (an id): some values get a lifetime of their own on
/// creation, reads of even values and updates to values of 1 mod 4 set a new one, the rest keep
/// what they have. [`Rules`] mirrors it.
struct ById;

impl ById {
    fn create(id: u64) -> Option<u64> {
        (id % 3 != 0).then_some(100 + (id % 5) * 200)
    }
    fn read(id: u64) -> Option<u64> {
        (id % 2 == 0).then_some(300)
    }
    fn update(id: u64) -> Option<u64> {
        (id % 4 == 1).then_some(500)
    }
}

impl Expiry<u64, u64> for ById {
    fn expire_after_create(&self, _: &u64, id: &u64, _: Instant) -> Option<Duration> {
        ById::create(*id).map(Duration::from_millis)
    }
    fn expire_after_read(
        &self,
        _: &u64,
        id: &u64,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        ById::read(*id).map(Duration::from_millis)
    }
    fn expire_after_update(
        &self,
        _: &u64,
        id: &u64,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        ById::update(*id).map(Duration::from_millis)
    }
}

/// What the model knows of each key's latest value.
#[derive(Clone, Copy)]
struct Latest {
    id: u64,
    /// ms; `u64::MAX` if none.
    deadline: u64,
    /// When it was written (ms), for the time-to-live a read cannot extend.
    written: u64,
    /// Whether its deadline is its own (per-entry expiry or a TTL of its own), which the
    /// cache-wide time-to-idle does not extend.
    own: bool,
}

/// The model: the expiry rules, the latest value of each key, and every value ever written.
struct Model {
    shape: Shape,
    latest: HashMap<u64, Latest>,
    /// id -> (key, deadline) of every value ever written.
    issued: HashMap<u64, (u64, u64)>,
}

impl Model {
    /// The cache-wide deadline of a value written at `written` and last read at `read`.
    fn shared(&self, written: u64, read: u64) -> u64 {
        let live = self.shape.ttl.map_or(u64::MAX, |t| written + t);
        live.min(self.shape.tti.map_or(u64::MAX, |t| read + t))
    }

    /// Value `id` written for `k` at `now`, over a live value if `replacing`, with a TTL of its
    /// own if `ttl` is given.
    fn wrote(&mut self, k: u64, id: u64, now: u64, replacing: bool, ttl: Option<u64>) {
        let prev = self.latest.get(&k).copied().filter(|_| replacing);
        let (deadline, own) = match (ttl, self.shape.expiry, prev) {
            (Some(t), _, _) => (now + t, true),
            (None, false, _) => (self.shared(now, now), false),
            (None, true, None) => match ById::create(id) {
                Some(d) => (now + d, true),
                None => (self.shared(now, now), false),
            },
            (None, true, Some(p)) => match ById::update(id) {
                Some(d) => (now + d, true),
                // Keeps a deadline of its own; one that follows the cache-wide rules goes
                // on following them (the write restarts its time-to-live).
                None if p.own => (p.deadline, true),
                None => (self.shared(now, now), false),
            },
        };
        self.issued.insert(id, (k, deadline));
        let written = now;
        self.latest.insert(
            k,
            Latest {
                id,
                deadline,
                written,
                own,
            },
        );
    }

    /// Checks that `v`, seen for `k` at `now`, is the key's latest value and still live; with
    /// `read`, applies what a read does to its deadline.
    fn saw(&mut self, k: u64, v: u64, now: u64, read: bool) {
        let mut l = *self
            .latest
            .get(&k)
            .expect("a value for a key never written");
        assert_eq!(v, l.id, "stale value for {k}");
        assert!(now < l.deadline, "expired value returned for {k}");
        if !read {
            return;
        }
        // The cache-wide time-to-idle first, then the `Expiry`, whose deadline is the entry's
        // own from then on.
        if self.shape.tti.is_some() && !l.own {
            l.deadline = self.shared(l.written, now);
        }
        if let Some(d) = ById::read(v).filter(|_| self.shape.expiry) {
            l.deadline = now + d;
            l.own = true;
        }
        self.latest.insert(k, l);
        self.issued.get_mut(&v).expect("issued").1 = l.deadline;
    }
}

fn run(ops: Vec<Op>, shape: Shape) {
    let (clock, mock) = cortado::quanta::Clock::mock();
    let reported: Arc<Mutex<Vec<(u64, u64, RemovalCause)>>> = Arc::default();
    let r = Arc::clone(&reported);
    let mut b = Cache::builder()
        .max_capacity(shape.max)
        .eviction_policy(shape.policy)
        .clock(clock)
        .eviction_listener(move |k, v, c| r.lock().unwrap().push((k, v, c)));
    if let Some(ttl) = shape.ttl {
        b = b.time_to_live(Duration::from_millis(ttl));
    }
    if let Some(tti) = shape.tti {
        b = b.time_to_idle(Duration::from_millis(tti));
    }
    if shape.expiry {
        b = b.expire_after(ById);
    }
    if let Some(r) = shape.refresh {
        b = b.refresh_after_write(Duration::from_millis(r));
    }
    if shape.one_shard {
        b = b.shards(1);
    }
    if shape.weighted {
        b = b.weigher(|_, id: &u64| (*id % 4) as u32);
    }
    let cache: Cache<u64, u64> = b.build();
    let mut model = Model {
        shape,
        latest: HashMap::new(),
        issued: HashMap::new(),
    };
    let mut now_ms = 0u64;
    // Each operation's id is the value it writes, if it writes one.
    for (id, op) in (0u64..).zip(ops) {
        match op {
            Op::Insert(k) | Op::InsertTtl(k, _) => {
                let k = u64::from(k);
                let replacing = cache.peek(&k).is_some();
                let ttl = match op {
                    Op::InsertTtl(_, t) => {
                        cache.insert_with_ttl(k, id, Duration::from_millis(u64::from(t)));
                        Some(u64::from(t))
                    }
                    _ => {
                        cache.insert(k, id);
                        None
                    }
                };
                model.wrote(k, id, now_ms, replacing, ttl);
                // An entry just written is readable at once (the admission window keeps it).
                assert_eq!(cache.peek(&k), Some(id), "fresh insert of {k} not readable");
            }
            Op::Get(k) | Op::Peek(k) => {
                let k = u64::from(k);
                let read = matches!(op, Op::Get(_));
                let got = if read { cache.get(&k) } else { cache.peek(&k) };
                if let Some(v) = got {
                    model.saw(k, v, now_ms, read);
                }
            }
            Op::GetWith(k) => {
                let k = u64::from(k);
                let before = cache.peek(&k);
                // A live value written at least `refresh` ago is reloaded (by this caller: no
                // other thread is loading it).
                let due = before.is_some()
                    && shape
                        .refresh
                        .is_some_and(|r| now_ms >= model.latest[&k].written + r);
                let v = cache.get_with(k, || id);
                if due {
                    // The old value was read (and its deadline moved as reads move it) before
                    // the reload replaced it.
                    model.saw(k, before.expect("due"), now_ms, true);
                }
                if v == id {
                    // Loaded (or reloaded): a write like any other.
                    assert!(before.is_none() || due, "{k} reloaded while fresh");
                    model.wrote(k, id, now_ms, before.is_some(), None);
                    assert_eq!(cache.peek(&k), Some(id), "loaded value of {k} not readable");
                } else {
                    assert!(!due, "{k} due for a refresh and not reloaded");
                    model.saw(k, v, now_ms, true);
                }
            }
            Op::Compute(k) => {
                let k = u64::from(k);
                let mut seen = None;
                let result = cache.entry(k).and_compute_with(|e| {
                    seen = e.map(|e| e.into_value());
                    match seen {
                        Some(v) if v % 3 == 0 => cortado::Op::Remove,
                        Some(v) if v % 3 == 1 => cortado::Op::Put(id),
                        Some(_) => cortado::Op::Nop,
                        None if id % 2 == 0 => cortado::Op::Put(id),
                        None => cortado::Op::Nop,
                    }
                });
                if let Some(v) = seen {
                    model.saw(k, v, now_ms, false);
                }
                match result {
                    CompResult::Inserted(e) | CompResult::ReplacedWith(e) => {
                        assert_eq!(*e.value(), id);
                        model.wrote(k, id, now_ms, seen.is_some(), None);
                        assert_eq!(
                            cache.peek(&k),
                            Some(id),
                            "computed value of {k} not readable"
                        );
                    }
                    CompResult::Removed(e) | CompResult::Unchanged(e) => {
                        assert_eq!(Some(*e.value()), seen);
                    }
                    CompResult::StillNone(_) => assert_eq!(seen, None),
                }
            }
            Op::Remove(k) => {
                let k = u64::from(k);
                if let Some(v) = cache.remove(&k) {
                    model.saw(k, v, now_ms, false);
                }
            }
            Op::Advance(ms) => {
                mock.increment(Duration::from_millis(u64::from(ms)));
                now_ms += u64::from(ms);
            }
            Op::RunPending => {
                cache.run_pending_tasks();
                assert!(cache.weighted_size() <= shape.max);
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
    assert!(cache.weighted_size() <= shape.max);
    if !shape.weighted {
        assert!(cache.entry_count() <= shape.max);
    }
    let present: HashMap<u64, u64> = cache.iter().map(|(k, v)| (v, k)).collect();
    assert_eq!(present.len() as u64, cache.entry_count());
    let reported = reported.lock().unwrap();
    let mut accounted: HashMap<u64, RemovalCause> = HashMap::new();
    for &(k, id, cause) in reported.iter() {
        let (key, deadline) = model.issued[&id];
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
    for (id, (k, deadline)) in &model.issued {
        if present.contains_key(id) {
            assert_eq!(model.latest[k].id, *id, "a replaced value is still present");
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

const TINYLFU: Shape = Shape {
    max: 8,
    policy: EvictionPolicy::TinyLfu,
    ttl: None,
    tti: None,
    expiry: false,
    refresh: None,
    one_shard: false,
    weighted: false,
};
const LRU: Shape = Shape {
    max: 5,
    policy: EvictionPolicy::Lru,
    ..TINYLFU
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn tinylfu_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { ttl: Some(1000), ..TINYLFU });
    }

    #[test]
    fn tinylfu_without_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, TINYLFU);
    }

    #[test]
    fn tinylfu_in_one_shard_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { ttl: Some(1000), one_shard: true, ..TINYLFU });
    }

    #[test]
    fn tinylfu_weighted_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { max: 12, ttl: Some(1000), weighted: true, ..TINYLFU });
    }

    #[test]
    fn tinylfu_weighted_in_one_shard(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { max: 12, one_shard: true, weighted: true, ..TINYLFU });
    }

    #[test]
    fn tinylfu_with_ttl_and_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { ttl: Some(2500), tti: Some(900), ..TINYLFU });
    }

    #[test]
    fn tinylfu_weighted_in_one_shard_with_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { max: 12, tti: Some(900), one_shard: true, weighted: true, ..TINYLFU });
    }

    #[test]
    fn tinylfu_with_per_entry_expiry(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { expiry: true, ..TINYLFU });
    }

    #[test]
    fn tinylfu_in_one_shard_with_per_entry_expiry(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { expiry: true, one_shard: true, ..TINYLFU });
    }

    #[test]
    fn tinylfu_with_per_entry_expiry_ttl_and_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { expiry: true, ttl: Some(2000), tti: Some(700), ..TINYLFU });
    }

    #[test]
    fn tinylfu_weighted_in_one_shard_with_per_entry_expiry_and_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { max: 12, expiry: true, ttl: Some(1200), one_shard: true, weighted: true, ..TINYLFU });
    }

    #[test]
    fn tinylfu_with_refresh_and_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { refresh: Some(600), ttl: Some(2000), ..TINYLFU });
    }

    #[test]
    fn tinylfu_in_one_shard_with_refresh_and_per_entry_expiry(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { refresh: Some(400), expiry: true, one_shard: true, ..TINYLFU });
    }

    #[test]
    fn lru_with_refresh_and_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { refresh: Some(500), tti: Some(900), ..LRU });
    }

    #[test]
    fn lru_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { ttl: Some(700), ..LRU });
    }

    #[test]
    fn lru_weighted_with_ttl(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { max: 10, ttl: Some(700), weighted: true, ..LRU });
    }

    #[test]
    fn lru_with_tti(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { tti: Some(700), ..LRU });
    }

    #[test]
    fn lru_with_per_entry_expiry(ops in proptest::collection::vec(op(), 1..300)) {
        run(ops, Shape { expiry: true, ..LRU });
    }
}
