//! Trace-driven hit-ratio simulation: the [`SimCache`] trait, the policies behind it, and the
//! replay loop.
//!
//! Replay is read-through: for each request `get(k)`; on a miss `insert(k, v)`; then
//! `run_pending_tasks()` where the cache has it, so that a concurrent cache's bound is exact
//! before the next request is looked up. Hit ratio = hits / requests, cold misses included.

use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::traces::{Trace, NEVER};
use crate::{FastMap, FixedSip};

/// A cache as the simulator sees it: one read-through access per request.
pub trait SimCache {
    fn name(&self) -> &str;
    /// Looks `key` up; on a miss, offers it for admission with `weight`. Returns whether it hit.
    fn access(&mut self, key: u64, weight: u32) -> bool;
}

/// The policies [`build`] knows, in table column order.
pub const POLICIES: &[&str] = &[
    "lru",
    "cortado",
    "cortado-lru",
    "moka",
    "quick_cache",
    "belady",
    "opt-bypass",
];

/// Column heading of a policy.
pub fn heading(policy: &str) -> &str {
    match policy {
        "lru" => "LRU",
        "belady" => "Belady",
        "opt-bypass" => "OPT+bypass",
        other => other,
    }
}

/// Relative cost of one access, for scheduling the longest jobs first.
pub fn cost(policy: &str) -> u64 {
    match policy {
        "moka" => 12,
        "cortado" | "cortado-lru" => 6,
        "quick_cache" => 3,
        _ => 2,
    }
}

/// Builds policy `name` for `capacity` (entries, or total weight when `weighted`). `trace` is the
/// trace it will replay (the offline policies need its future).
pub fn build(
    name: &str,
    capacity: u64,
    weighted: bool,
    trace: &Trace,
) -> Result<Box<dyn SimCache>, String> {
    Ok(match name {
        "lru" => Box::new(Lru::new(capacity)),
        "belady" => Box::new(Opt::new(capacity, false, trace)),
        "opt-bypass" => Box::new(Opt::new(capacity, true, trace)),
        "moka" => Box::new(MokaSim::new(capacity, weighted)),
        "quick_cache" => Box::new(QuickSim::new(capacity, weighted)),
        "cortado" => crate::cortado_adapters::sim(capacity, weighted, false),
        "cortado-lru" => crate::cortado_adapters::sim(capacity, weighted, true),
        other => {
            return Err(format!(
                "unknown policy {other:?}; known: {}",
                POLICIES.join(", ")
            ))
        }
    })
}

/// Result of one replay.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub requests: u64,
    pub hits: u64,
}

impl Outcome {
    /// Hit ratio in percent.
    pub fn percent(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / self.requests as f64
        }
    }
}

/// Replays every request of `trace` through `cache`. With `weighted`, each request weighs its size.
pub fn replay(cache: &mut dyn SimCache, trace: &Trace, weighted: bool) -> Outcome {
    let mut hits = 0u64;
    match (&trace.sizes, weighted) {
        (Some(sizes), true) => {
            for (&k, &w) in trace.keys.iter().zip(sizes) {
                hits += u64::from(cache.access(k, w.max(1)));
            }
        }
        _ => {
            for &k in &trace.keys {
                hits += u64::from(cache.access(k, 1));
            }
        }
    }
    Outcome {
        requests: trace.keys.len() as u64,
        hits,
    }
}

/// Capacity for `percent` of `total` (unique keys, or unique bytes): floor, at least 2, as the
/// reference table (lirs-loop: 1,011 unique keys gives 10, 50, 101, 252).
pub fn capacity_for(total: u64, percent: f64) -> u64 {
    let c = (total as f64 * percent / 100.0 + 1e-9).floor() as u64;
    c.max(2)
}

// ---------------------------------------------------------------------------------------------
// Exact LRU

const NIL: u32 = u32::MAX;

struct Node {
    key: u64,
    weight: u32,
    prev: u32,
    next: u32,
}

/// Exact LRU: a hash map into an index-linked list. Weighted: evicts from the cold end until the
/// new entry fits; an entry heavier than the capacity is not admitted.
pub struct Lru {
    capacity: u64,
    used: u64,
    map: FastMap<u32>,
    nodes: Vec<Node>,
    free: Vec<u32>,
    head: u32, // most recent
    tail: u32, // least recent
}

impl Lru {
    pub fn new(capacity: u64) -> Lru {
        Lru {
            capacity,
            used: 0,
            map: FastMap::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = (self.nodes[i as usize].prev, self.nodes[i as usize].next);
        if p == NIL {
            self.head = n;
        } else {
            self.nodes[p as usize].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.nodes[n as usize].prev = p;
        }
    }

    fn push_front(&mut self, i: u32) {
        self.nodes[i as usize].prev = NIL;
        self.nodes[i as usize].next = self.head;
        if self.head != NIL {
            self.nodes[self.head as usize].prev = i;
        } else {
            self.tail = i;
        }
        self.head = i;
    }
}

impl SimCache for Lru {
    fn name(&self) -> &str {
        "lru"
    }

    fn access(&mut self, key: u64, weight: u32) -> bool {
        if let Some(&i) = self.map.get(&key) {
            if self.head != i {
                self.unlink(i);
                self.push_front(i);
            }
            return true;
        }
        let w = u64::from(weight);
        if w > self.capacity {
            return false;
        }
        while self.used + w > self.capacity {
            let t = self.tail;
            self.unlink(t);
            let node = &self.nodes[t as usize];
            self.used -= u64::from(node.weight);
            self.map.remove(&node.key);
            self.free.push(t);
        }
        let node = Node {
            key,
            weight,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.push_front(i);
        self.map.insert(key, i);
        self.used += w;
        false
    }
}

// ---------------------------------------------------------------------------------------------
// Bélády

/// Bélády's MIN, knowing each request's next use (a backward pass over the trace).
///
/// - `bypass = false` ("Belady"): every miss is admitted; when full, the resident key used
///   furthest in the future is evicted.
/// - `bypass = true` ("OPT+bypass"): on a miss with a full cache the missed key is left out when
///   its own next use is further than every resident key's (or it is never used again); otherwise
///   the resident key with the furthest next use is evicted. With unit sizes this is the exact
///   optimum for a cache that may decline admission (the bound for admission-filtered caches).
///
/// With weights (`--weighted`) both are the natural greedy generalisation (evict furthest next use
/// until the new object fits), a strong offline reference but not a proven bound: the optimum for
/// variable sizes is NP-hard.
///
/// The resident set is a max-heap of (next use, key) with lazy deletion: a hit pushes the key's new
/// next use and leaves the old entry, which is recognised as stale when it surfaces (its next use
/// no longer matches the map). Stale entries always lie in the past, below every live one, so the
/// heap is rebuilt from the map when they pile up (amortised O(1)).
pub struct Opt {
    name: &'static str,
    capacity: u64,
    used: u64,
    bypass: bool,
    pos: usize,
    next: Arc<Vec<u32>>,
    keys_check: Option<Arc<[u64]>>,
    /// key -> (next use, weight)
    resident: FastMap<(u32, u32)>,
    heap: BinaryHeap<(u32, u64)>,
}

impl Opt {
    pub fn new(capacity: u64, bypass: bool, trace: &Trace) -> Opt {
        Opt {
            name: if bypass { "opt-bypass" } else { "belady" },
            capacity,
            used: 0,
            bypass,
            pos: 0,
            next: trace.next_use(),
            keys_check: cfg!(debug_assertions).then(|| trace.keys.clone().into()),
            resident: FastMap::default(),
            heap: BinaryHeap::new(),
        }
    }

    /// The live entry with the furthest next use, dropping stale ones on the way.
    fn top(&mut self) -> Option<(u32, u64)> {
        while let Some(&(n, k)) = self.heap.peek() {
            if self.resident.get(&k).map(|e| e.0) == Some(n) {
                return Some((n, k));
            }
            self.heap.pop();
        }
        None
    }

    fn push(&mut self, n: u32, key: u64) {
        self.heap.push((n, key));
        if self.heap.len() > 2 * self.resident.len() + 1024 {
            self.heap = self.resident.iter().map(|(&k, &(n, _))| (n, k)).collect();
        }
    }
}

impl SimCache for Opt {
    fn name(&self) -> &str {
        self.name
    }

    fn access(&mut self, key: u64, weight: u32) -> bool {
        let i = self.pos;
        self.pos += 1;
        if let Some(keys) = &self.keys_check {
            assert_eq!(keys[i], key, "Opt must replay the trace it was built for");
        }
        let n = self.next[i];
        if let Some(e) = self.resident.get_mut(&key) {
            e.0 = n;
            self.push(n, key);
            return true;
        }
        let w = u64::from(weight);
        if w > self.capacity || (self.bypass && n == NEVER) {
            return false;
        }
        while self.used + w > self.capacity {
            let (m, victim) = self.top().expect("over capacity with nothing resident");
            if self.bypass && n >= m {
                // The missed key is the one used furthest away: leave it out.
                return false;
            }
            self.heap.pop();
            let (_, vw) = self.resident.remove(&victim).unwrap();
            self.used -= u64::from(vw);
        }
        self.resident.insert(key, (n, weight));
        self.used += w;
        self.push(n, key);
        false
    }
}

// ---------------------------------------------------------------------------------------------
// moka and quick_cache

/// `moka::sync::Cache` (TinyLFU), fixed-key SipHash, `run_pending_tasks()` after every request.
pub struct MokaSim {
    cache: moka::sync::Cache<u64, u32, FixedSip>,
}

impl MokaSim {
    pub fn new(capacity: u64, weighted: bool) -> MokaSim {
        let b = moka::sync::Cache::builder().max_capacity(capacity);
        let cache = if weighted {
            b.weigher(|_k: &u64, v: &u32| *v)
                .build_with_hasher(FixedSip::default())
        } else {
            b.build_with_hasher(FixedSip::default())
        };
        MokaSim { cache }
    }
}

impl SimCache for MokaSim {
    fn name(&self) -> &str {
        "moka"
    }

    fn access(&mut self, key: u64, weight: u32) -> bool {
        let hit = self.cache.get(&key).is_some();
        if !hit {
            self.cache.insert(key, weight);
        }
        self.cache.run_pending_tasks();
        hit
    }
}

/// Weighs a quick_cache entry by its value (the object size).
#[derive(Clone, Copy)]
pub struct ValueWeighter;

impl quick_cache::Weighter<u64, u32> for ValueWeighter {
    fn weight(&self, _key: &u64, val: &u32) -> u64 {
        u64::from(*val)
    }
}

type QuickCache = quick_cache::sync::Cache<
    u64,
    u32,
    ValueWeighter,
    FixedSip,
    quick_cache::sync::DefaultLifecycle<u64, u32>,
>;

/// `quick_cache::sync::Cache` with one shard (its default of 4 shards per core splits the capacity
/// and makes results machine-dependent), fixed-key SipHash. Without `weighted`, every value is 1.
pub struct QuickSim {
    cache: QuickCache,
}

impl QuickSim {
    pub fn new(capacity: u64, weighted: bool) -> QuickSim {
        // Estimated item count: the capacity itself in entries; in bytes, a guess from a 1 KiB
        // average object (it only sizes the initial table).
        let items = if weighted {
            (capacity / 1024).max(16)
        } else {
            capacity
        };
        let opts = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(items as usize)
            .weight_capacity(capacity)
            .shards(1)
            .build()
            .expect("quick_cache options");
        QuickSim {
            cache: QuickCache::with_options(
                opts,
                ValueWeighter,
                FixedSip::default(),
                Default::default(),
            ),
        }
    }
}

impl SimCache for QuickSim {
    fn name(&self) -> &str {
        "quick_cache"
    }

    fn access(&mut self, key: u64, weight: u32) -> bool {
        let hit = self.cache.get(&key).is_some();
        if !hit {
            self.cache.insert(key, weight);
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p: &str, cap: u64, keys: &[u64]) -> u64 {
        let t = Trace::new("t", keys.to_vec(), None);
        let mut c = build(p, cap, false, &t).unwrap();
        replay(c.as_mut(), &t, false).hits
    }

    #[test]
    fn capacity_like_the_reference() {
        let caps: Vec<u64> = [1.0, 5.0, 10.0, 25.0]
            .iter()
            .map(|&p| capacity_for(1011, p))
            .collect();
        assert_eq!(caps, [10, 50, 101, 252]);
        assert_eq!(capacity_for(3_153_310, 25.0), 788_327);
        assert_eq!(capacity_for(20_484, 1.0), 204);
        assert_eq!(capacity_for(50, 1.0), 2);
    }

    #[test]
    fn lru_basics() {
        // cap 2: 1 2 1 3 (evicts 2) 2 (miss, evicts 1) 1 (miss)
        assert_eq!(run("lru", 2, &[1, 2, 1, 3, 2, 1]), 1);
        assert_eq!(run("lru", 3, &[1, 2, 3, 1, 2, 3]), 3);
        // loop larger than the cache: LRU gets nothing
        let lp: Vec<u64> = (0..10).cycle().take(100).collect();
        assert_eq!(run("lru", 5, &lp), 0);
    }

    #[test]
    fn lru_weighted() {
        let mut l = Lru::new(10);
        assert!(!l.access(1, 6));
        assert!(!l.access(2, 4));
        assert!(l.access(1, 6)); // 1 most recent
        assert!(!l.access(3, 5)); // evicts 2 then... 6+5 > 10 also evicts 1
        assert_eq!(l.len(), 1);
        assert!(!l.access(4, 11)); // too big, not admitted
        assert!(l.access(3, 5));
    }

    /// Exhaustive optimum over all admission/eviction choices, for tiny cases.
    fn brute(keys: &[u64], cap: usize, bypass: bool) -> u64 {
        fn go(keys: &[u64], i: usize, set: &mut Vec<u64>, cap: usize, bypass: bool) -> u64 {
            if i == keys.len() {
                return 0;
            }
            let k = keys[i];
            if set.contains(&k) {
                return 1 + go(keys, i + 1, set, cap, bypass);
            }
            let mut best = 0;
            if set.len() < cap {
                set.push(k);
                best = go(keys, i + 1, set, cap, bypass);
                set.pop();
            } else {
                for j in 0..set.len() {
                    let old = set[j];
                    set[j] = k;
                    best = best.max(go(keys, i + 1, set, cap, bypass));
                    set[j] = old;
                }
            }
            if bypass {
                best = best.max(go(keys, i + 1, set, cap, bypass));
            }
            best
        }
        go(keys, 0, &mut Vec::new(), cap, bypass)
    }

    #[test]
    fn opt_matches_brute_force() {
        let mut rng = crate::zipf::SplitMix64::new(1);
        for _ in 0..300 {
            let len = 4 + rng.below(9) as usize;
            let alpha = 2 + rng.below(4);
            let keys: Vec<u64> = (0..len).map(|_| rng.below(alpha)).collect();
            for cap in 1..=3u64 {
                let got = run("opt-bypass", cap, &keys);
                assert_eq!(got, brute(&keys, cap as usize, true), "{keys:?} cap {cap}");
                let got = run("belady", cap, &keys);
                // Bélády (always admit) is optimal among always-admitting policies: the brute
                // force without bypass.
                assert_eq!(got, brute(&keys, cap as usize, false), "{keys:?} cap {cap}");
            }
        }
    }

    #[test]
    fn opt_bypass_beats_lru_on_a_loop() {
        let lp: Vec<u64> = (0..100).cycle().take(10_000).collect();
        let h = run("opt-bypass", 10, &lp);
        // Keeps 10 of the 100 keys forever after the first pass: ~10% hit ratio.
        assert!(h >= 900, "{h}");
        assert!(run("belady", 10, &lp) <= h);
    }

    #[test]
    fn opt_heap_compaction_keeps_results() {
        // Many hits on few keys force heap rebuilds.
        let mut rng = crate::zipf::SplitMix64::new(3);
        let keys: Vec<u64> = (0..50_000).map(|_| rng.below(40)).collect();
        let t = Trace::new("t", keys, None);
        let mut o = Opt::new(8, true, &t);
        replay(&mut o, &t, false);
        assert!(o.heap.len() <= 2 * o.resident.len() + 1025);
    }
}
