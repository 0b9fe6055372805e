//! Benchmarks for `cortado`: a hit-ratio simulator over real traces, throughput (criterion),
//! latency, Zipf hit ratio under threads, and memory per entry.
//!
//! The library holds what the binaries and the criterion bench share:
//! - [`traces`]: decoding the trace files in `shared/traces/` (and plain-text traces given by path);
//! - [`sim`]: the [`sim::SimCache`] trait and the simulated policies (exact LRU, Bélády, OPT with
//!   bypass, moka, quick_cache);
//! - [`conc`]: the [`conc::ConcCache`] trait for the concurrent benchmarks (moka, mini-moka,
//!   quick_cache);
//! - [`cortado_adapters`]: cortado behind both traits (kept in one module);
//! - [`zipf`], [`svg`], [`rss`], [`args`]: helpers.

pub mod args;
pub mod conc;
pub mod cortado_adapters;
pub mod rss;
pub mod sim;
pub mod svg;
pub mod traces;
pub mod zipf;

use std::hash::{BuildHasherDefault, Hasher};

/// A fast, deterministic hasher for `u64` keys (splitmix64 finaliser), for the simulator's own
/// maps (exact LRU, OPT). Not used inside the caches under test.
#[derive(Default, Clone, Copy)]
pub struct U64Hasher(u64);

impl Hasher for U64Hasher {
    #[inline]
    fn finish(&self) -> u64 {
        zipf::mix64(self.0)
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// `BuildHasher` for [`U64Hasher`].
pub type FastBuild = BuildHasherDefault<U64Hasher>;
/// A `HashMap` keyed by `u64` with [`U64Hasher`].
pub type FastMap<V> = std::collections::HashMap<u64, V, FastBuild>;

/// Fixed-key SipHash (std's `DefaultHasher`, keys 0,0), as the reference table used for moka and
/// quick_cache: results are repeatable run to run, unlike with `RandomState`.
pub type FixedSip = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

/// The repository root: `CARGO_MANIFEST_DIR/..`.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
