//! Statistics through one getter keyed by an enum (the zstd `setParameter` idea): a new
//! counter is a new enum value, never a new struct layout, so the ABI only grows.

use cortado::CacheStats;

use crate::boundary::{ffi_status, handle, out};
use crate::cache::cortado_cache;
use crate::status::cortado_status;

/// A counter for `cortado_cache_stat`. All count from the cache's creation.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortado_stat {
    /// Lookups that found a live entry (`get`, `get_copy`, and `get_with` when present).
    Hits = 0,
    /// Lookups that found nothing (or only an expired entry).
    Misses = 1,
    /// Loader runs that produced a value.
    LoadSuccesses = 2,
    /// Loader runs that failed or produced no value.
    LoadFailures = 3,
    /// Nanoseconds spent inside loaders.
    TotalLoadTimeNs = 4,
    /// Entries evicted for size or expiry (not removals or replacements).
    Evictions = 5,
    /// Total weight of the evicted entries.
    EvictionWeight = 6,
}

impl cortado_stat {
    /// The counter `which` names in a snapshot, if it names one.
    fn read(which: u32, s: &CacheStats) -> Option<u64> {
        Some(match which {
            w if w == Self::Hits as u32 => s.hits,
            w if w == Self::Misses as u32 => s.misses,
            w if w == Self::LoadSuccesses as u32 => s.load_successes,
            w if w == Self::LoadFailures as u32 => s.load_failures,
            w if w == Self::TotalLoadTimeNs as u32 => s.total_load_time_nanos,
            w if w == Self::Evictions as u32 => s.eviction_count,
            w if w == Self::EvictionWeight as u32 => s.eviction_weight,
            _ => return None,
        })
    }
}

/// Writes the counter `which` (a `cortado_stat`) to `*out`.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT for an unknown counter.
///
/// # Safety
/// `cache` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_stat(
    cache: *mut cortado_cache,
    which: u32,
    out: *mut u64,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { self::out(out) }?;
        let handle = unsafe { handle(cache.cast_const()) }?;
        let stats = handle.cache.stats();
        *out = cortado_stat::read(which, &stats).ok_or(cortado_status::InvalidArgument)?;
        Ok(cortado_status::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_reads_its_own_field() {
        let s = CacheStats {
            hits: 1,
            misses: 2,
            load_successes: 3,
            load_failures: 4,
            total_load_time_nanos: 5,
            eviction_count: 6,
            eviction_weight: 7,
        };
        for which in 0..7u32 {
            assert_eq!(cortado_stat::read(which, &s), Some(u64::from(which) + 1));
        }
        assert_eq!(cortado_stat::read(7, &s), None);
    }
}
