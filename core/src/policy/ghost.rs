//! Ghosts: a few bits for each key the policy recently turned away, nothing else.
//!
//! Two ghost lists steer the admission window the way ARC steers its target size. A key that
//! comes back soon after it lost its admission duel shows that recency pays on this workload:
//! the window grows, and the returning key is admitted. A key that comes back soon after it was
//! evicted from the main space shows that the frequency filter was right to keep what it kept:
//! the window shrinks. Adapting on every such event follows a workload's phases far faster
//! than sampling hit rates (Caffeine's hill climber needs ten capacities of requests per
//! step), and measured +1.4 points of mean hit ratio over it on the shared traces.

/// Words of a block given to one generation of one list: a quarter of a cache line, so a
/// key's bits in both generations of both lists share one line, and the lookup every new
/// entry makes (is it in either list?) costs one cache miss.
const GEN_WORDS: usize = 2;
/// Filter bits per remembered key: with four bits set per key, about 0.3% false positives
/// per generation.
const BITS_PER_KEY: usize = 20;

/// Which ghost list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ghost {
    /// Candidates that lost their admission duel.
    Rejected = 0,
    /// Victims evicted from the main space.
    Evicted = 1,
}

/// How recently a ghost list was told about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recall {
    /// Not remembered (or long forgotten).
    No,
    /// In the older of the list's two filters: pushed between about a quarter and a half of a
    /// capacity's worth of pushes ago.
    Older,
    /// In the current filter: among the list's last pushes.
    Recent,
}

impl Recall {
    pub(crate) fn remembered(self) -> bool {
        self != Recall::No
    }
}

/// One list's turn-taking state (its bits live in [`Ghosts::blocks`]).
#[derive(Default, Clone, Copy)]
struct Generations {
    current: usize,
    current_len: usize,
    older_len: usize,
}

/// Both ghost lists, each remembering roughly the last `capacity` hashes pushed to it, in a
/// few bits each.
///
/// Each list is two Bloom filters that take turns: pushes go to the current one until it holds
/// half the capacity, then the older one is cleared and becomes current. A hash is remembered
/// while either filter has it, so for between half and all of the capacity's pushes. An exact
/// FIFO with a hash map cost a random access into a table larger than the L2 cache per push and
/// per lookup (12% of the time of a miss-heavy workload) and 16 bytes or more per remembered
/// key; this costs one cache line per operation and 4 bytes per remembered key.
#[derive(Default)]
pub(crate) struct Ghosts {
    /// Per block, words `4 * list + 2 * generation ..` (two words each).
    blocks: Vec<[u64; 4 * GEN_WORDS]>,
    lists: [Generations; 2],
    /// Pushes per generation (the same for both lists: they share one capacity).
    generation: usize,
    /// The capacity the filters were last fitted to.
    capacity: usize,
}

impl Ghosts {
    /// How many hashes `list` remembers (approximately).
    pub(crate) fn len(&self, list: Ghost) -> usize {
        let g = &self.lists[list as usize];
        g.current_len + g.older_len
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, list: Ghost, hash: u32) -> bool {
        let (rejected, evicted) = self.lookup(hash);
        match list {
            Ghost::Rejected => rejected.remembered(),
            Ghost::Evicted => evicted,
        }
    }

    /// What the lists remember of `hash`: how recently it was rejected, and whether it was
    /// evicted. One block lookup for both, which every new entry asks about.
    #[inline]
    pub(crate) fn lookup(&self, hash: u32) -> (Recall, bool) {
        if self.blocks.is_empty() {
            return (Recall::No, false);
        }
        let (block, masks) = self.locate(hash);
        let b = &self.blocks[block];
        let has = |at: usize| b[at] & masks[0] == masks[0] && b[at + 1] & masks[1] == masks[1];
        // Words: list 0 generation 0, list 0 generation 1, list 1 generation 0, ...
        let current = self.lists[Ghost::Rejected as usize].current;
        let rejected = if has(current * GEN_WORDS) {
            Recall::Recent
        } else if has((current ^ 1) * GEN_WORDS) {
            Recall::Older
        } else {
            Recall::No
        };
        (rejected, has(2 * GEN_WORDS) || has(3 * GEN_WORDS))
    }

    /// Starts loading the hash's block, so a later lookup or push does not wait for it.
    pub(crate) fn prefetch(&self, hash: u32) {
        if !self.blocks.is_empty() {
            crate::prefetch::prefetch(&self.blocks, self.locate(hash).0);
        }
    }

    /// Remembers `hash` in `list`, forgetting the list's oldest half once `capacity` is
    /// exceeded.
    #[inline]
    pub(crate) fn push(&mut self, list: Ghost, hash: u32, capacity: usize) {
        if capacity == 0 {
            return;
        }
        if capacity != self.capacity {
            self.fit(capacity);
        }
        if self.lists[list as usize].current_len >= self.generation {
            self.rotate(list);
        }
        let (block, masks) = self.locate(hash);
        let g = &mut self.lists[list as usize];
        let base = list as usize * 2 * GEN_WORDS + g.current * GEN_WORDS;
        let b = &mut self.blocks[block];
        b[base] |= masks[0];
        b[base + 1] |= masks[1];
        g.current_len += 1;
    }

    /// Sizes the filters for `capacity`. Weighted caches change it with every entry; the
    /// table is rebuilt (forgetting everything) only when it is off by more than twice.
    fn fit(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.generation = capacity.div_ceil(2);
        let wanted = (self.generation * BITS_PER_KEY).div_ceil(GEN_WORDS * 64);
        let have = self.blocks.len();
        if have == 0 || wanted > have * 2 || wanted * 2 < have {
            self.blocks = vec![[0; 4 * GEN_WORDS]; wanted];
            self.lists = Default::default();
        }
    }

    fn rotate(&mut self, list: Ghost) {
        let g = &mut self.lists[list as usize];
        g.current ^= 1;
        let base = list as usize * 2 * GEN_WORDS + g.current * GEN_WORDS;
        for b in &mut self.blocks {
            b[base..base + GEN_WORDS].fill(0);
        }
        g.older_len = g.current_len;
        g.current_len = 0;
    }

    /// The block and, for the two words of a generation, the masks of a hash's four bits.
    fn locate(&self, hash: u32) -> (usize, [u64; GEN_WORDS]) {
        let h = u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // Any number of blocks (not only powers of two, which would round the memory up by
        // as much as half): the top 32 bits scaled to the block count.
        let block = (((h >> 32) * self.blocks.len() as u64) >> 32) as usize;
        let bits = (h ^ (h >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 32;
        // Two bits in each word (a partitioned filter: the same false-positive rate within a
        // rounding error). Choosing each bit's word from the hash instead made the masks an
        // indexed array on the stack, and the store-forwarding stalls of building it cost a
        // third of a push.
        let bit = |shift: u64| 1u64 << ((bits >> shift) & 63);
        (block, [bit(0) | bit(8), bit(16) | bit(24)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> u32 {
        i.wrapping_mul(0x2545_F491)
    }

    #[test]
    fn remembers_recent_pushes_and_forgets_old_ones() {
        for list in [Ghost::Rejected, Ghost::Evicted] {
            let mut g = Ghosts::default();
            let cap = 1000;
            for i in 0..10_000 {
                g.push(list, key(i), cap);
                assert!(g.len(list) <= cap && (i < cap as u32 || g.len(list) >= cap / 2));
            }
            // The newest half of the capacity is always remembered.
            assert!((10_000 - cap as u32 / 2..10_000).all(|i| g.contains(list, key(i))));
            // Anything older than the capacity is forgotten, but for rare false positives.
            let stale = (0..9_000).filter(|&i| g.contains(list, key(i))).count();
            assert!(stale < 90, "{stale} false positives in 9,000");
            // Keys never pushed are rarely reported.
            let never = (20_000..120_000)
                .filter(|&i| g.contains(list, key(i)))
                .count();
            assert!(never < 1_000, "{never} false positives in 100,000");
        }
    }

    /// A rejected key is recalled as recent until its filter turns older, then as older until
    /// it is cleared; the window grows less for the older ones (see `Policy::adapt_to_ghosts`).
    #[test]
    fn rejected_keys_are_recalled_with_their_age() {
        let mut g = Ghosts::default();
        let cap = 1000;
        g.push(Ghost::Rejected, key(0), cap);
        assert_eq!(g.lookup(key(0)), (Recall::Recent, false));
        // Half a capacity of pushes fills the current filter; the next one turns it older.
        for i in 1..=500 {
            g.push(Ghost::Rejected, key(i), cap);
        }
        assert_eq!(g.lookup(key(0)).0, Recall::Older);
        assert_eq!(g.lookup(key(500)).0, Recall::Recent);
        for i in 501..=1000 {
            g.push(Ghost::Rejected, key(i), cap);
        }
        assert_eq!(g.lookup(key(0)).0, Recall::No);
        assert_eq!(g.lookup(key(500)).0, Recall::Older);
        // The evicted list does not answer for the rejected one.
        g.push(Ghost::Evicted, key(5000), cap);
        assert_eq!(g.lookup(key(5000)), (Recall::No, true));
    }

    #[test]
    fn the_two_lists_are_independent() {
        let mut g = Ghosts::default();
        let cap = 1000;
        for i in 0..500 {
            g.push(Ghost::Rejected, key(i), cap);
        }
        for i in 500..10_000 {
            g.push(Ghost::Evicted, key(i), cap);
        }
        // The evicted list's turns did not clear the rejected list's bits, nor the other way.
        assert!((0..500).all(|i| g.contains(Ghost::Rejected, key(i))));
        assert_eq!(g.len(Ghost::Rejected), 500);
        assert!((9_500..10_000).all(|i| g.contains(Ghost::Evicted, key(i))));
        let crossed = (0..500)
            .filter(|&i| g.contains(Ghost::Evicted, key(i)))
            .count();
        assert!(crossed < 10, "{crossed} rejected keys reported as evicted");
    }

    #[test]
    fn tiny_and_changing_capacities() {
        let mut g = Ghosts::default();
        g.push(Ghost::Rejected, 1, 0);
        assert!(!g.contains(Ghost::Rejected, 1) && g.len(Ghost::Rejected) == 0);
        g.push(Ghost::Rejected, 1, 1);
        assert!(g.contains(Ghost::Rejected, 1));
        for i in 0..100 {
            g.push(Ghost::Evicted, key(i), 1 + (i as usize % 7) * 300);
        }
        assert!(g.contains(Ghost::Evicted, key(99)));
    }
}
