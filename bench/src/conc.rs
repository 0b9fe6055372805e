//! The concurrent caches behind one trait, for throughput, latency, Zipf hit ratio and memory.

use std::sync::Arc;
use std::time::Duration;

use mini_moka::sync::ConcurrentCacheExt;

/// A concurrent `u64 -> u64` cache shared by threads.
pub trait ConcCache: Send + Sync {
    fn get(&self, k: u64) -> Option<u64>;
    fn insert(&self, k: u64, v: u64);
    /// Runs deferred maintenance where the cache has any (no-op otherwise).
    fn run_pending_tasks(&self) {}
    /// Number of entries (after [`ConcCache::run_pending_tasks`] where that matters).
    fn entry_count(&self) -> u64;
}

/// The caches of the concurrent benchmarks.
pub const CACHES: &[&str] = &["cortado", "moka", "mini-moka", "quick_cache"];

/// Builds cache `name` holding up to `capacity` entries, with the library's default hasher and
/// sharding (what a user gets). `ttl` sets a time-to-live where the cache supports one; `None`
/// is returned for a TTL the cache can't do (quick_cache, mini-moka ignore it: see
/// [`supports_ttl`]).
pub fn build(
    name: &str,
    capacity: u64,
    ttl: Option<Duration>,
) -> Result<Arc<dyn ConcCache>, String> {
    Ok(match name {
        "cortado" => crate::cortado_adapters::conc(capacity, ttl),
        "cortado-nostats" if ttl.is_none() => crate::cortado_adapters::conc_without_stats(capacity),
        "moka" => {
            let mut b = moka::sync::Cache::builder().max_capacity(capacity);
            if let Some(t) = ttl {
                b = b.time_to_live(t);
            }
            Arc::new(b.build())
        }
        "mini-moka" => {
            let mut b = mini_moka::sync::Cache::builder().max_capacity(capacity);
            if let Some(t) = ttl {
                b = b.time_to_live(t);
            }
            Arc::new(b.build())
        }
        "quick_cache" => {
            if ttl.is_some() {
                return Err("quick_cache has no time-to-live".into());
            }
            Arc::new(quick_cache::sync::Cache::<u64, u64>::new(capacity as usize))
        }
        other => {
            return Err(format!(
                "unknown cache {other:?}; known: {}",
                CACHES.join(", ")
            ))
        }
    })
}

/// Whether [`build`] can give `name` a time-to-live.
pub fn supports_ttl(name: &str) -> bool {
    name != "quick_cache"
}

impl ConcCache for moka::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        moka::sync::Cache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        moka::sync::Cache::insert(self, k, v)
    }
    fn run_pending_tasks(&self) {
        moka::sync::Cache::run_pending_tasks(self)
    }
    fn entry_count(&self) -> u64 {
        moka::sync::Cache::entry_count(self)
    }
}

impl ConcCache for mini_moka::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        mini_moka::sync::Cache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        mini_moka::sync::Cache::insert(self, k, v)
    }
    fn run_pending_tasks(&self) {
        self.sync()
    }
    fn entry_count(&self) -> u64 {
        mini_moka::sync::Cache::entry_count(self)
    }
}

impl ConcCache for quick_cache::sync::Cache<u64, u64> {
    #[inline]
    fn get(&self, k: u64) -> Option<u64> {
        quick_cache::sync::Cache::get(self, &k)
    }
    #[inline]
    fn insert(&self, k: u64, v: u64) {
        quick_cache::sync::Cache::insert(self, k, v)
    }
    fn entry_count(&self) -> u64 {
        self.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cache_stores_and_finds() {
        for name in CACHES {
            let c = build(name, 1000, None).unwrap();
            for k in 0..100 {
                c.insert(k, k * 2);
            }
            c.run_pending_tasks();
            assert_eq!(c.get(7), Some(14), "{name}");
            assert_eq!(c.entry_count(), 100, "{name}");
        }
        assert!(build("quick_cache", 10, Some(Duration::from_secs(1))).is_err());
        assert!(build("nope", 10, None).is_err());
    }
}
