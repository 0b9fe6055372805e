//! A compact, aging popularity estimator for TinyLFU admission.
//!
//! Admission needs to compare how popular a new candidate is against the entry it
//! would displace, including for keys that are not (or no longer) in the cache. Keeping
//! exact counts for every key ever seen is unaffordable, so this is a 4-bit Count-Min
//! sketch of depth 4, following the design of Caffeine's `FrequencySketch`:
//!
//! * All four counters of a key live in one 64-byte block (eight `u64` words), so an
//!   estimate or an increment touches a single cache line instead of four.
//! * Counters saturate at 15: admission only needs to rank "hot" against "cold", and
//!   small counters keep the table at half a byte per counter.
//! * After a sample period every counter is halved, so the sketch follows shifts in
//!   popularity instead of favouring keys that were hot long ago.
//! * Incoming hashes are re-mixed with a per-sketch random seed, so callers who can
//!   choose keys cannot aim collisions at a victim's counters to block its admission.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

/// Fewest words in a table (4 KiB), which also sets the shortest sample period (5,120
/// increments): with 64 words, caches of a few dozen entries halved their counts so often
/// that a looping workload never built up a frequency; 512 measured +0.16 points of mean hit
/// ratio on the shared traces, fixing the loop rows, without saturating tiny caches.
const MIN_TABLE_LEN: u64 = 512;
/// Most words in a table (128 MiB); beyond that more counters buy little accuracy.
const MAX_TABLE_LEN: u64 = 1 << 24;
/// Words per block: the four counters of a key share one 64-byte cache line.
const BLOCK_WORDS: usize = 8;
/// Keeps the low three bits of every nibble after a one-bit shift (halving).
const RESET_MASK: u64 = 0x7777_7777_7777_7777;
/// Selects the lowest bit of every nibble, to count odd counters before halving.
const ONE_MASK: u64 = 0x1111_1111_1111_1111;
/// Largest value a 4-bit counter holds.
const COUNTER_MAX: u64 = 15;

/// Approximate, periodically aged access frequencies, used by TinyLFU to decide
/// whether a candidate is worth more than the entry it would evict.
pub struct FrequencySketch {
    /// Four-bit counters, sixteen per word, grouped into blocks of eight words.
    table: Vec<u64>,
    /// Selects a block from a mixed hash; `table.len() / 8 - 1`.
    block_mask: u64,
    /// Successful increments after which all counters are halved.
    sample_size: u64,
    /// Successful increments since the last halving (adjusted for truncation).
    size: u64,
    /// Per-sketch secret mixed into every hash so collisions cannot be aimed.
    seed: u64,
    /// Halvings so far (a table rebuild counts as four, which zeroes any 4-bit count): an
    /// estimate cached at epoch `e` is worth `estimate >> (epoch - e)` now, so callers can
    /// keep estimates without rereading the table.
    epoch: u16,
    /// The last estimate [`frequency`](Self::frequency) read, so the
    /// same key asked about again (probation's victim, while it wins duel after duel) is
    /// answered without the table. Exact: an increment that touches the key's block, a
    /// halving and a rebuild forget it.
    memo: Memo,
}

/// See [`FrequencySketch::memo`].
#[derive(Clone, Copy, Default)]
struct Memo {
    hash: u64,
    block: usize,
    estimate: u8,
    valid: bool,
}

impl FrequencySketch {
    /// Sizes the sketch for a cache holding about `capacity` entries, because both
    /// accuracy (table width) and how fast old popularity fades (sample period) must
    /// scale with how many entries compete for admission.
    pub fn new(capacity: u64) -> Self {
        let seed = RandomState::new().hash_one(0x9e37_79b9_7f4a_7c15_u64);
        let mut sketch = FrequencySketch {
            table: Vec::new(),
            block_mask: 0,
            sample_size: 0,
            size: 0,
            seed,
            epoch: 0,
            memo: Memo::default(),
        };
        sketch.ensure_capacity(capacity);
        sketch
    }

    /// Adapts the sketch when the cache's capacity changes, because a table sized for
    /// another capacity either wastes memory or saturates. The table is rebuilt (and
    /// every count forgotten) only when its length changes, in either direction; the
    /// sample period always follows the new capacity.
    pub fn ensure_capacity(&mut self, capacity: u64) {
        let len = table_len_for(capacity);
        if self.table.len() != len {
            self.table = vec![0; len];
            self.block_mask = (len / BLOCK_WORDS) as u64 - 1;
            self.size = 0;
            self.epoch = self.epoch.wrapping_add(4);
            self.memo.valid = false;
        }
        self.sample_size = sample_size_for(capacity);
        if self.size >= self.sample_size {
            self.reset();
        }
    }

    /// A fresh estimate of the key, what [`frequency`](Self::frequency) answers from the table
    /// (the tests compare the two).
    #[cfg(test)]
    pub fn fresh_frequency(&self, hash: u64) -> u8 {
        let (block, counters) = self.locate(hash);
        self.estimate(block, counters)
    }

    /// The smallest of a key's four counters, given where [`locate`](Self::locate) puts them.
    #[inline]
    fn estimate(&self, block: usize, counters: u32) -> u8 {
        let b = self.block(block);
        let mut min = COUNTER_MAX;
        for row in 0..4 {
            let (word, shift) = counter_position(counters, row);
            min = min.min((b[word] >> shift) & COUNTER_MAX);
        }
        min as u8
    }

    /// Estimates, in `0..=15`, how often the key with this hash was seen recently, so
    /// admission can compare a candidate against a victim. It may over-estimate (a
    /// collision in all four rows) but never under-estimates since the last halving.
    /// The last answer is remembered until the key's counters may have changed: admission
    /// reads probation's victim afresh for every duel, and the same victim usually meets
    /// candidate after candidate.
    #[inline]
    pub fn frequency(&mut self, hash: u64) -> u8 {
        if self.memo.valid && self.memo.hash == hash {
            return self.memo.estimate;
        }
        let (block, counters) = self.locate(hash);
        let estimate = self.estimate(block, counters);
        self.memo = Memo {
            hash,
            block,
            estimate,
            valid: true,
        };
        estimate
    }

    /// The key's block as an array, so the four counter reads need no bounds checks (a third
    /// of the instructions of an estimate, which admission makes twice per eviction).
    #[inline]
    fn block(&self, first_word: usize) -> &[u64; BLOCK_WORDS] {
        let words = &self.table[first_word..first_word + BLOCK_WORDS];
        words.try_into().expect("a block is BLOCK_WORDS long")
    }

    /// Starts loading the key's block, so a later lookup or increment does not wait for it.
    pub(crate) fn prefetch(&self, hash: u64) {
        if !self.table.is_empty() {
            crate::prefetch::prefetch(&self.table, self.locate(hash).0);
        }
    }

    /// Records one access to the key with this hash, because TinyLFU's estimates are
    /// only as good as the stream of accesses it sees. All four counters are
    /// incremented (saturating at 15), as Caffeine does; once `sample_size` increments
    /// have changed some counter, every counter is halved so that stale popularity
    /// fades. Returns the key's estimate afterwards, as [`increment_by`](Self::increment_by)
    /// does; this is its common case (every new entry), whose step needs no clamping.
    #[inline]
    pub fn increment(&mut self, hash: u64) -> u8 {
        self.add(hash, |count| u64::from(count != COUNTER_MAX))
    }

    /// Fixes the secret, so that two sketches fed the same keys agree (tests only).
    #[cfg(test)]
    pub(crate) fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.memo.valid = false;
    }

    /// Halvings so far (see the field); estimates returned by the increments belong to the
    /// epoch current when they return.
    pub fn epoch(&self) -> u16 {
        self.epoch
    }

    /// Records `n` accesses at once (hits the policy learns about late), with the same
    /// effect as `n` calls of [`increment`](Self::increment) but one lookup of the block.
    /// Returns the key's estimate afterwards, what [`frequency`](Self::frequency) would say
    /// now: the policy keeps it with the entry, so admission compares two entries without
    /// loading their blocks again (two cache misses per eviction).
    #[inline]
    pub fn increment_by(&mut self, hash: u64, n: u8) -> u8 {
        self.add(hash, |count| (COUNTER_MAX - count).min(u64::from(n)))
    }

    /// Adds `step(count)` to each of the key's four counters and returns its estimate
    /// afterwards, halving everything once the sample period is over. `step` is
    /// `min(15 - count, n)` for some `n`, so both what the increment adds to the sample (the
    /// largest step, taken by the smallest counter) and the new estimate (the smallest counter
    /// plus its step) follow from the smallest counter before it: tracking only that minimum
    /// is a quarter of the loop's work less than tracking both.
    #[inline(always)]
    fn add(&mut self, hash: u64, step: impl Fn(u64) -> u64) -> u8 {
        let (block, counters) = self.locate(hash);
        if block == self.memo.block {
            self.memo.valid = false;
        }
        let words = &mut self.table[block..block + BLOCK_WORDS];
        let b: &mut [u64; BLOCK_WORDS] = words.try_into().expect("a block is BLOCK_WORDS long");
        let mut min = COUNTER_MAX;
        for row in 0..4 {
            let (word, shift) = counter_position(counters, row);
            let count = (b[word] >> shift) & COUNTER_MAX;
            b[word] += step(count) << shift;
            min = min.min(count);
        }
        let added = step(min);
        let mut estimate = min + added;
        if added > 0 {
            self.size += added;
            if self.size >= self.sample_size {
                self.reset();
                // Halving every counter halves their minimum.
                estimate >>= 1;
            }
        }
        estimate as u8
    }

    /// Halves every counter (aging). Halving truncates odd counters; each key owns four
    /// counters, so a quarter of the odd ones approximates the increments lost, which
    /// keeps `size` in step with what the table still remembers.
    fn reset(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.memo.valid = false;
        let mut odd: u64 = 0;
        for word in &mut self.table {
            odd += u64::from((*word & ONE_MASK).count_ones());
            *word = (*word >> 1) & RESET_MASK;
        }
        self.size = self.size.saturating_sub(odd / 4) / 2;
    }

    /// Mixes the caller's hash with the seed, and splits it into the index of the first
    /// word of the key's block and 32 bits that pick one counter in each row.
    fn locate(&self, hash: u64) -> (usize, u32) {
        let mixed = mix64(hash ^ self.seed);
        // The block comes from the low bits and the counters from the high 32 bits,
        // which never overlap because the table has at most 2^21 blocks.
        let block = ((mixed & self.block_mask) as usize) * BLOCK_WORDS;
        (block, (mixed >> 32) as u32)
    }
}

impl fmt::Debug for FrequencySketch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrequencySketch")
            .field("table_len", &self.table.len())
            .field("sample_size", &self.sample_size)
            .field("size", &self.size)
            .finish()
    }
}

/// Word (within the block) and bit shift of the counter of `row` (0..4). Row `r` owns words
/// `2r` and `2r + 1` of the block, giving 32 counters per row; one byte of the counter bits
/// picks the word (bit 0) and the nibble (bits 1..5).
#[inline]
fn counter_position(counters: u32, row: usize) -> (usize, u32) {
    let bits = counters >> (row * 8);
    let word = row * 2 + (bits & 1) as usize;
    let shift = ((bits >> 1) & 15) * 4;
    (word, shift)
}

/// Table length in words for a capacity: the next power of two, clamped so tiny caches
/// still get several blocks and huge ones do not allocate without bound.
fn table_len_for(capacity: u64) -> usize {
    let clamped = capacity.clamp(MIN_TABLE_LEN, MAX_TABLE_LEN);
    clamped.next_power_of_two() as usize
}

/// Successful increments between halvings: ten per entry, as in Caffeine, with the
/// capacity clamped to the range the table is sized for so that the period stays in
/// proportion to the number of counters.
fn sample_size_for(capacity: u64) -> u64 {
    10 * capacity.clamp(MIN_TABLE_LEN, MAX_TABLE_LEN)
}

/// A strong 64-bit finalizer (the SplitMix64 / Stafford "mix13" variant): every input
/// bit affects every output bit, so weak or sequential caller hashes still spread
/// evenly over blocks and counters.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct, well-spread key hashes for tests.
    fn key(i: u64) -> u64 {
        mix64(i.wrapping_add(0x1234_5678))
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn increments_saturate_at_fifteen() {
        let mut sketch = FrequencySketch::new(512);
        let k = key(42);
        assert_eq!(sketch.fresh_frequency(k), 0);
        for i in 1..=20u8 {
            sketch.increment(k);
            assert_eq!(sketch.fresh_frequency(k), i.min(15));
        }
    }

    #[test]
    fn unseen_keys_stay_near_zero() {
        let mut sketch = FrequencySketch::new(1000);
        for i in 0..1000 {
            sketch.increment(key(i));
        }
        for i in 0..1000 {
            assert!(
                sketch.fresh_frequency(key(i)) >= 1,
                "count-min never under-estimates"
            );
        }
        let total: u64 = (1000..2000)
            .map(|i| u64::from(sketch.fresh_frequency(key(i))))
            .sum();
        let mean = total as f64 / 1000.0;
        assert!(mean < 1.0, "mean estimate of unseen keys is {mean}");
    }

    #[test]
    fn aging_halves_counts() {
        let mut sketch = FrequencySketch::new(512);
        let hot = key(7);
        for _ in 0..15 {
            sketch.increment(hot);
        }
        assert_eq!(sketch.fresh_frequency(hot), 15);
        let sample_size = sketch.sample_size;
        for i in 0..sample_size {
            sketch.increment(key(1_000_000 + i));
        }
        let after = sketch.fresh_frequency(hot);
        assert!(after <= 7, "frequency after aging is {after}");
        assert!(sketch.size < sample_size);
    }

    #[test]
    fn reset_halves_every_counter_and_size() {
        let mut sketch = FrequencySketch::new(64);
        for (i, &word) in [u64::MAX, 0x1234_5678_9abc_def0, 1].iter().enumerate() {
            sketch.table[i] = word;
        }
        sketch.size = 100;
        sketch.reset();
        assert_eq!(sketch.table[0], 0x7777_7777_7777_7777);
        assert_eq!(sketch.table[1], 0x0112_2334_4556_6770);
        assert_eq!(sketch.table[2], 0);
        // 16 odd nibbles in word 0, 8 in word 1 and 1 in word 2: 25 / 4 = 6.
        assert_eq!(sketch.size, (100 - 6) / 2);
    }

    #[test]
    fn ensure_capacity_resizes_and_clears() {
        let mut sketch = FrequencySketch::new(16);
        assert_eq!(sketch.table.len(), 512);
        assert_eq!(sketch.block_mask, 63);
        let k = key(3);
        sketch.increment(k);
        sketch.increment(k);

        // Same table length: counts survive, the sample period follows the capacity.
        sketch.ensure_capacity(400);
        assert_eq!(sketch.table.len(), 512);
        assert_eq!(sketch.fresh_frequency(k), 2);

        sketch.ensure_capacity(10_000);
        assert_eq!(sketch.table.len(), 16_384);
        assert_eq!(sketch.block_mask, 16_384 / 8 - 1);
        assert_eq!(sketch.sample_size, 100_000);
        assert_eq!(sketch.fresh_frequency(k), 0);
        sketch.increment(k);
        assert_eq!(sketch.fresh_frequency(k), 1);

        sketch.ensure_capacity(1000);
        assert_eq!(sketch.table.len(), 1024);
        assert_eq!(sketch.sample_size, 10_000);
        assert_eq!(sketch.fresh_frequency(k), 0);
    }

    #[test]
    fn table_sizes_are_clamped_powers_of_two() {
        assert_eq!(table_len_for(0), 512);
        assert_eq!(table_len_for(1), 512);
        assert_eq!(table_len_for(513), 1024);
        assert_eq!(table_len_for(1000), 1024);
        assert_eq!(table_len_for(1 << 24), 1 << 24);
        assert_eq!(table_len_for(u64::MAX), 1 << 24);
        assert_eq!(sample_size_for(0), 5120);
        assert_eq!(sample_size_for(1000), 10_000);
        assert_eq!(sample_size_for(u64::MAX), 10 << 24);
        let tiny = FrequencySketch::new(0);
        assert_eq!(tiny.fresh_frequency(key(1)), 0);
    }

    #[test]
    fn sketches_use_different_seeds() {
        let a = FrequencySketch::new(64);
        let b = FrequencySketch::new(64);
        assert_ne!(a.seed, b.seed);
    }

    #[test]
    fn heavy_hitters_rank_above_light_ones() {
        let mut sketch = FrequencySketch::new(1000);
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let pairs = 300u64;
        // Hot key 2i seen 10 times, warm key 2i+1 seen twice, amid Zipf-ish background
        // traffic over other keys, all shuffled together.
        let mut events = Vec::new();
        for i in 0..pairs {
            events.extend(std::iter::repeat_n(key(2 * i), 10));
            events.extend(std::iter::repeat_n(key(2 * i + 1), 2));
        }
        for _ in 0..6000 {
            // Rank r is drawn with probability roughly proportional to 1 / r.
            let rank = (1u64 << rng.below(11)) + rng.below(1 << 10);
            events.push(key(1_000_000 + rank % 2000));
        }
        for i in (1..events.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            events.swap(i, j);
        }
        for &e in &events {
            sketch.increment(e);
        }
        let ordered = (0..pairs)
            .filter(|&i| {
                sketch.fresh_frequency(key(2 * i)) >= sketch.fresh_frequency(key(2 * i + 1))
            })
            .count() as u64;
        assert!(
            ordered * 100 >= pairs * 95,
            "only {ordered} of {pairs} pairs ranked correctly"
        );
    }

    /// A remembered estimate is only ever the current one: a small table (so increments
    /// often land in the remembered key's block), hot keys asked about again and again,
    /// halvings, and a rebuild for another capacity.
    #[test]
    fn remembered_frequencies_are_always_current() {
        let mut s = FrequencySketch::new(16);
        let mut rng = XorShift(0x9E37_79B9);
        let mut remembered = 0;
        // Asked about like probation's victim: the same key several times running.
        let mut asked = key(0);
        for step in 0..200_000u64 {
            if step == 100_000 {
                s.ensure_capacity(4096);
            }
            let k = key(rng.below(2_000));
            match rng.below(4) {
                0 => {
                    s.increment(k);
                }
                1 => {
                    s.increment_by(k, 1 + rng.below(3) as u8);
                }
                _ => {
                    if rng.below(4) == 0 {
                        asked = k;
                    }
                    let fresh = s.fresh_frequency(asked);
                    remembered += usize::from(s.memo.valid && s.memo.hash == asked);
                    assert_eq!(s.frequency(asked), fresh, "step {step}");
                }
            }
        }
        assert!(s.epoch > 10, "the table was halved {} times", s.epoch);
        assert!(remembered > 1_000, "the memo answered {remembered} times");
    }

    #[test]
    fn increment_by_matches_repeated_increments() {
        let mut one = FrequencySketch::new(64);
        let mut many = FrequencySketch::new(64);
        many.seed = one.seed;
        for (i, n) in [(1u64, 3u8), (2, 15), (1, 14), (3, 1), (2, 2)] {
            for _ in 0..n {
                one.increment(key(i));
            }
            many.increment_by(key(i), n);
            assert_eq!(one.fresh_frequency(key(i)), many.fresh_frequency(key(i)));
            assert_eq!(one.size, many.size);
        }
    }

    #[test]
    fn increments_return_the_new_estimate_and_epochs_count_halvings() {
        let mut s = FrequencySketch::new(512);
        let start = s.epoch();
        for i in 0..200 {
            assert_eq!(
                s.increment_by(key(i % 50), 3),
                s.fresh_frequency(key(i % 50))
            );
        }
        // Across a halving, the estimate returned is the halved one.
        let mut i = 1_000;
        while s.epoch() == start {
            assert_eq!(
                s.increment(key(i % 7_000)),
                s.fresh_frequency(key(i % 7_000))
            );
            i += 1;
        }
        assert_eq!(s.epoch(), start.wrapping_add(1));
        let before = s.epoch();
        s.ensure_capacity(1 << 20);
        assert_eq!(
            s.epoch(),
            before.wrapping_add(4),
            "a rebuild zeroes every kept estimate"
        );
    }
}
