//! cortado behind the benchmark traits. Everything that names `cortado` lives here.

use std::sync::Arc;
use std::time::Duration;

use cortado::{Cache, EvictionPolicy};

use crate::conc::ConcCache;
use crate::sim::SimCache;

/// cortado for the simulator: `get`, `insert` on a miss, then `run_pending_tasks()` after every
/// request. `lru` selects `EvictionPolicy::Lru` (named `cortado-lru`). With `weighted`, each
/// entry weighs its value (the object size).
pub fn sim(capacity: u64, weighted: bool, lru: bool) -> Box<dyn SimCache> {
    let mut b = Cache::<u64, u32>::builder().max_capacity(capacity);
    if lru {
        b = b.eviction_policy(EvictionPolicy::Lru);
    }
    if weighted {
        b = b.weigher(|_k: &u64, v: &u32| *v);
    }
    Box::new(CortadoSim {
        name: if lru { "cortado-lru" } else { "cortado" },
        cache: b.build(),
    })
}

struct CortadoSim {
    name: &'static str,
    cache: Cache<u64, u32>,
}

impl SimCache for CortadoSim {
    fn name(&self) -> &str {
        self.name
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

/// cortado for the concurrent benchmarks (default policy), with an optional time-to-live.
pub fn conc(capacity: u64, ttl: Option<Duration>) -> Arc<dyn ConcCache> {
    let mut b = Cache::<u64, u64>::builder().max_capacity(capacity);
    if let Some(t) = ttl {
        b = b.time_to_live(t);
    }
    Arc::new(b.build())
}

/// cortado without hit and miss statistics, like for like with the anchors, none of which
/// counts them as built here (quick_cache's `stats` feature is off by default).
pub fn conc_without_stats(capacity: u64) -> Arc<dyn ConcCache> {
    Arc::new(
        Cache::<u64, u64>::builder()
            .max_capacity(capacity)
            .record_stats(false)
            .build(),
    )
}

impl ConcCache for Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        Cache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        Cache::insert(self, k, v)
    }
    fn run_pending_tasks(&self) {
        Cache::run_pending_tasks(self)
    }
    fn entry_count(&self) -> u64 {
        Cache::entry_count(self)
    }
}
