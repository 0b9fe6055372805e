//! The map's hash of a key, laid out so that the 32 bits the policy keeps of it are enough to
//! rebuild it: a victim the policy names is then removed from its shard's index without
//! reading its key again (for a `String` key, a load of cold heap data and its hashing).
//!
//! The map's hash is the low half of the hasher's output times an odd constant, and the
//! policy's hash that low half (recovered with the constant's inverse): one multiplication
//! each way. The index's bucket (low bits) follows the low half's low bits, its tag (top
//! seven bits) and the shard (bits 48 and up) depend on all 32. Keys whose hasher outputs
//! share their low half share one map hash, and their lookups compare keys, as on any
//! collision.

use std::hash::{BuildHasher, Hash};

/// Spreads 32 bits over 64 (the golden ratio's odd 64-bit fraction).
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;
/// `SPREAD`'s inverse modulo 2^64: undoes the spreading.
const UNSPREAD: u64 = 0xF1DE_83E1_9937_733D;

/// The map's hash of `key` (see the module).
#[inline]
pub(crate) fn map_hash<S: BuildHasher, Q: Hash + ?Sized>(hasher: &S, key: &Q) -> u64 {
    from_policy_hash(hasher.hash_one(key) as u32)
}

/// The map's hash of the key whose policy hash is `h`.
#[inline]
pub(crate) fn from_policy_hash(h: u32) -> u64 {
    u64::from(h).wrapping_mul(SPREAD)
}

/// The 32 bits of a hash the policy keeps: the map's hash spread back (see the module), and
/// for the hashes a [`SlotPolicy`](crate::SlotPolicy) host passes, a bijection of their low
/// 32 bits.
#[inline]
pub(crate) fn policy_hash(hash: u64) -> u32 {
    hash.wrapping_mul(UNSPREAD) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreading_is_undone() {
        assert_eq!(SPREAD.wrapping_mul(UNSPREAD), 1);
    }

    #[test]
    fn the_policy_hash_rebuilds_the_map_hash() {
        let hasher = crate::RandomState::default();
        for k in 0..10_000u64 {
            let m = map_hash(&hasher, &k);
            assert_eq!(from_policy_hash(policy_hash(m)), m);
        }
    }

    #[test]
    fn buckets_tags_and_shards_stay_spread() {
        // A fixed seed: this checks the layout, not the hasher. Under about one random process
        // seed in fifty, foldhash's fast variant itself gives consecutive integers low bits
        // with some residues of 64 at twice their share (the test then failed about one run in
        // a hundred); its quality variant does not, but costs ~3 instructions a lookup, and
        // such a skew did not lengthen probes measurably (150 random seeds, 10k consecutive
        // keys: 121 instructions per get hit in every one).
        let hasher = foldhash::fast::FixedState::with_seed(0x5eed_cafe);
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
