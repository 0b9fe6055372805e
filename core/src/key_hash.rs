//! The map's hash of a key, laid out so that the 32 bits the policy keeps of it are enough to
//! rebuild it: a victim the policy names is then removed from its shard's index without
//! reading its key again (for a `String` key, a load of cold heap data and its hashing).
//!
//! The policy keeps `fold(hash)` (both halves xored, see `policy::fold`). The map's hash is
//! `hi << 32 | (lo ^ hi)` with `lo` the folded hasher output and `hi` a mix of `lo`, so
//! folding it gives back `lo`, and `lo` gives back the whole hash. The index's bucket (low
//! bits), its tag (top seven bits) and the shard (bits 48 and up) all still depend on every
//! bit of `lo`. Keys whose hasher outputs fold to the same 32 bits share one map hash, and
//! their lookups compare keys, as on any collision.

use std::hash::{BuildHasher, Hash};

/// The map's hash of `key` (see the module).
#[inline]
pub(crate) fn map_hash<S: BuildHasher, Q: Hash + ?Sized>(hasher: &S, key: &Q) -> u64 {
    let full = hasher.hash_one(key);
    from_policy_hash((full ^ (full >> 32)) as u32)
}

/// The map's hash of the key whose policy hash (its map hash folded) is `lo`.
#[inline]
pub(crate) fn from_policy_hash(lo: u32) -> u64 {
    let hi = (u64::from(lo).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32;
    (u64::from(hi) << 32) | u64::from(lo ^ hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_hash_rebuilds_the_map_hash() {
        let hasher = crate::RandomState::default();
        for k in 0..10_000u64 {
            let m = map_hash(&hasher, &k);
            let folded = (m ^ (m >> 32)) as u32;
            assert_eq!(from_policy_hash(folded), m);
        }
    }

    #[test]
    fn buckets_tags_and_shards_stay_spread() {
        let hasher = crate::RandomState::default();
        let (mut buckets, mut tags, mut shards) = ([0u32; 64], [0u32; 128], [0u32; 64]);
        let n = 64_000u64;
        for k in 0..n {
            let m = map_hash(&hasher, &k);
            buckets[(m & 63) as usize] += 1;
            tags[(m >> 57) as usize] += 1;
            shards[((m >> 48) & 63) as usize] += 1;
        }
        // Each of these is about n / 64 or n / 128 per cell; a quarter off either way would
        // mean a skewed layout.
        for (name, cells) in [
            ("bucket", &buckets[..]),
            ("tag", &tags[..]),
            ("shard", &shards[..]),
        ] {
            let mean = n as f64 / cells.len() as f64;
            for &c in cells {
                assert!(
                    (c as f64) > mean * 0.75 && (c as f64) < mean * 1.25,
                    "{name}: {c} vs {mean}"
                );
            }
        }
    }
}
