//! A hierarchical timer wheel for reclaiming expired entries without scanning the cache.
//!
//! Entries with a time-to-live or per-entry expiry must be removed once their deadline
//! passes, even if nobody reads them again. Scanning the whole cache for them costs
//! O(n) per maintenance run, and a heap costs O(log n) per (re)schedule, which every
//! write and, with access-based expiry, every read would pay. A timer wheel makes
//! schedule, reschedule, deschedule and expiry amortized O(1).
//!
//! The layout:
//!
//! * Six levels of 64 buckets whose widths grow 64-fold per level (2^20 ns, about
//!   1 ms, up to 2^50 ns), plus an overflow list for deadlines more than about
//!   2.3 years beyond the current time.
//! * The buckets are *aligned*: a deadline sits at the finest level whose 64-bucket
//!   window (a block of 2^(width+6) ns aligned to its own size) also contains the
//!   wheel's current time. So every bucket left of the current one has fully passed,
//!   and when time enters a coarse bucket its ids are re-inserted into finer levels
//!   (or reported), as in Caffeine's cascade. Each id moves down at most six times.
//! * Ids that are due are first moved to a *due list* (whole buckets are spliced in
//!   O(1)), and only then reported, so a reporting budget can stop anywhere and the
//!   next advance simply resumes draining that list.
//! * Ids are the policy engine's dense `u32` node ids, so per-id state is two `u32`
//!   links and a `u64` deadline in plain vectors, with no allocation per schedule.
//!   Bucket heads are circular-list sentinels stored in the same link vector, so
//!   unlinking never needs to know which bucket an id is in.
//!
//! Expiry is exact: an id is reported by the first advance whose time reaches its
//! deadline, never earlier, whatever the granularity of the bucket holding it.

use std::fmt;

/// The null link, marking an id that is not scheduled.
const NULL: u32 = u32::MAX;
/// Number of wheel levels.
const LEVELS: usize = 6;
/// Buckets per level, as a bit count: 64 buckets, so one `u64` tracks occupancy.
const BUCKET_BITS: u32 = 6;
/// Buckets per level.
const BUCKETS: usize = 1 << BUCKET_BITS;
/// log2 of the bucket width of each level, in nanoseconds.
const SHIFTS: [u32; LEVELS] = [20, 26, 32, 38, 44, 50];
/// log2 of the span of the top level; deadlines in a later top-level block overflow.
const TOP_SHIFT: u32 = SHIFTS[LEVELS - 1] + BUCKET_BITS;
/// Sentinel of the overflow list (sentinels `0..OVERFLOW` are the wheel's buckets).
const OVERFLOW: u32 = (LEVELS * BUCKETS) as u32;
/// Sentinel of the list of ids that are due but not yet reported.
const DUE: u32 = OVERFLOW + 1;
/// Link index of id 0; ids are offset past the sentinels.
const BASE: u32 = DUE + 1;
/// Ids must stay below this so that their link index never reaches [`NULL`].
const ID_LIMIT: u32 = NULL - BASE;

/// Neighbours in a circular doubly-linked list; both [`NULL`] when not in a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Link {
    prev: u32,
    next: u32,
}

impl Link {
    const UNLINKED: Link = Link {
        prev: NULL,
        next: NULL,
    };
}

/// Tracks the deadlines of cache entries so that expired ones can be found in amortized
/// O(1) per entry, however many entries are live and however far time jumps.
pub struct TimerWheel {
    /// Sentinels (`0..BASE`) followed by one link pair per id (`BASE + id`).
    links: Vec<Link>,
    /// Deadline per id; meaningful only while the id is scheduled.
    deadlines: Vec<u64>,
    /// Per level, bit `b` set when bucket `b` is non-empty, to skip empty buckets.
    occupied: [u64; LEVELS],
    /// Lower bound of the deadlines in each level-0 bucket (`u64::MAX` when empty), so
    /// that the current bucket is only scanned when something in it may be due.
    level0_min: [u64; BUCKETS],
    /// Lower bound of the deadlines on the due list (`u64::MAX` when empty).
    due_min: u64,
    /// The time the wheel has been advanced to.
    current: u64,
    /// Number of scheduled ids, including due ones not yet reported.
    len: usize,
}

impl TimerWheel {
    /// Creates an empty wheel whose clock starts at `now`, because buckets are placed
    /// relative to the current time and deadlines before `now` are already due.
    pub fn new(now: u64) -> Self {
        TimerWheel {
            links: (0..BASE).map(|s| Link { prev: s, next: s }).collect(),
            deadlines: Vec::new(),
            occupied: [0; LEVELS],
            level0_min: [u64::MAX; BUCKETS],
            due_min: u64::MAX,
            current: now,
            len: 0,
        }
    }

    /// Schedules `id` to expire at `deadline`, moving it if it was already scheduled,
    /// because an entry's deadline changes on every write (and, with access-based
    /// expiry, on reads). `u64::MAX` means "never" and deschedules the id instead, so
    /// that such entries cost nothing here. A deadline that has already passed is
    /// reported by the next [`advance`](Self::advance).
    ///
    /// # Panics
    ///
    /// If `id >= u32::MAX - 386`: those link indices are taken by the bucket heads.
    pub fn schedule(&mut self, id: u32, deadline: u64) {
        if deadline == u64::MAX {
            self.deschedule(id);
            return;
        }
        assert!(id < ID_LIMIT, "timer wheel id {id} is out of range");
        let node = id + BASE;
        if node as usize >= self.links.len() {
            self.links.resize(node as usize + 1, Link::UNLINKED);
            self.deadlines.resize(id as usize + 1, u64::MAX);
        }
        if self.links[node as usize].next == NULL {
            self.len += 1;
        } else {
            self.unlink(node);
        }
        self.deadlines[id as usize] = deadline;
        self.place(node, deadline);
    }

    /// Removes `id` from the wheel if it is scheduled, because an entry that is removed
    /// or replaced must not be reported as expired later; a no-op otherwise.
    pub fn deschedule(&mut self, id: u32) {
        if self.len == 0 {
            // Nothing scheduled (a cache without expiry): skip the lookup every removal made.
            return;
        }
        if let Some(node) = self.scheduled_node(id) {
            self.unlink(node);
            self.len -= 1;
        }
    }

    /// Whether `id` is waiting to be reported, so callers can keep their own state
    /// consistent with the wheel's.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn is_scheduled(&self, id: u32) -> bool {
        self.scheduled_node(id).is_some()
    }

    /// The deadline `id` is scheduled at, or `None` if it is not scheduled, so callers
    /// can skip a reschedule that would not change anything.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn deadline(&self, id: u32) -> Option<u64> {
        self.scheduled_node(id).map(|_| self.deadlines[id as usize])
    }

    /// Number of scheduled ids (including due ids not yet reported), for sizing and
    /// consistency checks.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no id is scheduled, so maintenance can skip expiry entirely.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Advances the wheel's clock to `now` and reports, through `expired`, every
    /// scheduled id whose deadline is at or before `now`, descheduling each before it
    /// is reported. This is how the cache reclaims expired entries without scanning.
    ///
    /// At most `budget` ids are reported, so one maintenance run cannot stall on a
    /// burst of expirations: it returns `false` when due ids remain, and a later call
    /// (with the same or a later `now`) reports them. It returns `true` once every due
    /// id has been reported. Ids whose deadline is still in the future are never
    /// reported. Time never goes backwards: a `now` before the wheel's clock is treated
    /// as the wheel's clock.
    ///
    /// `expired` gets only the id, because the wheel is borrowed while it runs; callers
    /// collect the ids and act on them (including rescheduling) afterwards.
    ///
    /// Each level visits at most its 64 buckets per call, and only the occupied ones, so
    /// a mock clock may jump by years at the cost of a few hundred bit operations plus
    /// amortized O(1) per id moved.
    pub fn advance(&mut self, now: u64, budget: usize, mut expired: impl FnMut(u32)) -> bool {
        if now > self.current {
            let prev = self.current;
            self.current = now;
            self.cascade(prev, now);
        }
        let mut reported = 0;
        loop {
            let node = self.links[DUE as usize].next;
            if node == DUE {
                return true;
            }
            if reported == budget {
                return false;
            }
            self.unlink(node);
            self.len -= 1;
            reported += 1;
            expired(node - BASE);
        }
    }

    /// A time before which no [`advance`](Self::advance) can report anything, or `None`
    /// if nothing is scheduled, so callers can skip maintenance until then. It may be
    /// earlier than the earliest deadline (a bucket's start, or a bound left by a
    /// descheduled id), never later; when ids are already due it is at most the
    /// wheel's clock.
    pub fn next_expiry_hint(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        if self.links[DUE as usize].next != DUE {
            return Some(self.due_min);
        }
        // Lower levels hold strictly earlier deadlines than higher ones, and within a
        // level the buckets at or after the current one are in deadline order.
        if self.occupied[0] != 0 {
            return Some(self.level0_min[self.occupied[0].trailing_zeros() as usize]);
        }
        for (level, &shift) in SHIFTS.iter().enumerate().skip(1) {
            if self.occupied[level] != 0 {
                let bucket = u64::from(self.occupied[level].trailing_zeros());
                return Some(self.block_start(level) | (bucket << shift));
            }
        }
        // Only the overflow list is left; its deadlines lie in a later top-level block,
        // which exists because they are below u64::MAX.
        let top_block = (self.current >> TOP_SHIFT) + 1;
        Some(top_block.checked_shl(TOP_SHIFT).unwrap_or(u64::MAX))
    }

    /// The link index of `id` if it is scheduled.
    fn scheduled_node(&self, id: u32) -> Option<u32> {
        let node = id.checked_add(BASE)?;
        match self.links.get(node as usize) {
            Some(link) if link.next != NULL => Some(node),
            _ => None,
        }
    }

    /// Start of the block of `level` that contains the current time: the first tick
    /// of that level's window.
    fn block_start(&self, level: usize) -> u64 {
        let span = SHIFTS[level] + BUCKET_BITS;
        (self.current >> span) << span
    }

    /// Puts an unlinked node into the list for `deadline` relative to the current time.
    fn place(&mut self, node: u32, deadline: u64) {
        let now = self.current;
        if deadline <= now {
            self.due_min = self.due_min.min(deadline);
            self.link_last(DUE, node);
            return;
        }
        // The highest bit in which deadline and now differ picks the finest level whose
        // aligned window holds both.
        let diff = deadline ^ now;
        if diff >> TOP_SHIFT != 0 {
            self.link_last(OVERFLOW, node);
            return;
        }
        let level = if diff >> (SHIFTS[0] + BUCKET_BITS) == 0 {
            0
        } else {
            let high_bit = 63 - diff.leading_zeros();
            ((high_bit - SHIFTS[0]) / BUCKET_BITS) as usize
        };
        let bucket = ((deadline >> SHIFTS[level]) as usize) & (BUCKETS - 1);
        self.occupied[level] |= 1 << bucket;
        if level == 0 {
            self.level0_min[bucket] = self.level0_min[bucket].min(deadline);
        }
        self.link_last((level * BUCKETS + bucket) as u32, node);
    }

    /// Moves due ids into the due list and re-buckets the ids of every bucket whose
    /// window the clock entered, as the clock goes from `prev` to `now` (`prev < now`,
    /// and `self.current` is already `now`).
    fn cascade(&mut self, prev: u64, now: u64) {
        for (level, &shift) in SHIFTS.iter().enumerate() {
            let (prev_tick, now_tick) = (prev >> shift, now >> shift);
            if level > 0 && prev_tick == now_tick {
                // This and every coarser level (and the overflow) are unchanged.
                return;
            }
            if prev_tick >> BUCKET_BITS != now_tick >> BUCKET_BITS {
                // The clock left this level's window: everything in it is due.
                self.expire_buckets(level, prev, u64::MAX);
                continue;
            }
            let prev_index = (prev_tick as u32) & (BUCKETS as u32 - 1);
            let now_index = (now_tick as u32) & (BUCKETS as u32 - 1);
            // Buckets before the clock's bucket have fully passed.
            let passed = (1u64 << now_index) - (1u64 << prev_index);
            self.expire_buckets(level, prev, passed);
            let sentinel = level as u32 * BUCKETS as u32 + now_index;
            if level == 0 {
                self.expire_due_in(sentinel, now);
            } else {
                self.redistribute(sentinel);
            }
        }
        if prev >> TOP_SHIFT != now >> TOP_SHIFT {
            self.redistribute(OVERFLOW);
        }
    }

    /// Splices the occupied buckets of `level` selected by `mask` onto the due list,
    /// for buckets whose window is entirely at or before the clock. The buckets belong
    /// to the window that held `prev`, which bounds their deadlines from below.
    fn expire_buckets(&mut self, level: usize, prev: u64, mask: u64) {
        let shift = SHIFTS[level];
        let block_start = (prev >> (shift + BUCKET_BITS)) << (shift + BUCKET_BITS);
        let mut bits = self.occupied[level] & mask;
        while bits != 0 {
            let bucket = bits.trailing_zeros();
            bits &= bits - 1;
            let lower_bound = block_start | (u64::from(bucket) << shift);
            self.splice_to_due(level as u32 * BUCKETS as u32 + bucket, lower_bound);
        }
    }

    /// Moves the ids of the level-0 bucket `sentinel` that are due at `now` onto the due
    /// list and keeps the rest, re-computing the bucket's lower bound. Skipped when the
    /// bound shows nothing can be due, so frequent advances within one bucket's window
    /// do not rescan it.
    fn expire_due_in(&mut self, sentinel: u32, now: u64) {
        let bucket = sentinel as usize;
        if self.level0_min[bucket] > now {
            return;
        }
        let mut min = u64::MAX;
        let mut node = self.links[bucket].next;
        while node != sentinel {
            let next = self.links[node as usize].next;
            let deadline = self.deadlines[(node - BASE) as usize];
            if deadline <= now {
                self.unlink(node);
                self.due_min = self.due_min.min(deadline);
                self.link_last(DUE, node);
            } else {
                min = min.min(deadline);
            }
            node = next;
        }
        self.level0_min[bucket] = min;
    }

    /// Detaches the list of `sentinel` and places each of its ids again relative to the
    /// current time. Detaching first means an id that lands back in the same list is not
    /// visited twice.
    fn redistribute(&mut self, sentinel: u32) {
        let mut node = self.links[sentinel as usize].next;
        if node == sentinel {
            return;
        }
        self.links[sentinel as usize] = Link {
            prev: sentinel,
            next: sentinel,
        };
        self.on_emptied(sentinel);
        // The old chain still ends in `sentinel`, and placing a node only rewrites
        // links of that node and of nodes already placed.
        while node != sentinel {
            let next = self.links[node as usize].next;
            let deadline = self.deadlines[(node - BASE) as usize];
            self.place(node, deadline);
            node = next;
        }
    }

    /// Appends the whole list of `sentinel` to the due list in O(1).
    fn splice_to_due(&mut self, sentinel: u32, lower_bound: u64) {
        let s = sentinel as usize;
        let Link {
            prev: last,
            next: first,
        } = self.links[s];
        if first == sentinel {
            return;
        }
        let tail = self.links[DUE as usize].prev;
        self.links[tail as usize].next = first;
        self.links[first as usize].prev = tail;
        self.links[last as usize].next = DUE;
        self.links[DUE as usize].prev = last;
        self.links[s] = Link {
            prev: sentinel,
            next: sentinel,
        };
        self.on_emptied(sentinel);
        self.due_min = self.due_min.min(lower_bound);
    }

    /// Appends an unlinked node to the list of `sentinel`.
    fn link_last(&mut self, sentinel: u32, node: u32) {
        let tail = self.links[sentinel as usize].prev;
        self.links[node as usize] = Link {
            prev: tail,
            next: sentinel,
        };
        self.links[tail as usize].next = node;
        self.links[sentinel as usize].prev = node;
    }

    /// Removes a linked node from its list, updating the bookkeeping of the list's
    /// sentinel if the list became empty.
    fn unlink(&mut self, node: u32) {
        let Link { prev, next } = self.links[node as usize];
        self.links[prev as usize].next = next;
        self.links[next as usize].prev = prev;
        self.links[node as usize] = Link::UNLINKED;
        if prev == next && prev < BASE {
            self.on_emptied(prev);
        }
    }

    /// Resets the bookkeeping of a list that has just become empty.
    fn on_emptied(&mut self, sentinel: u32) {
        if sentinel < OVERFLOW {
            let level = sentinel as usize / BUCKETS;
            let bucket = sentinel as usize % BUCKETS;
            self.occupied[level] &= !(1u64 << bucket);
            if level == 0 {
                self.level0_min[bucket] = u64::MAX;
            }
        } else if sentinel == DUE {
            self.due_min = u64::MAX;
        }
    }
}

impl fmt::Debug for TimerWheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("current", &self.current)
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    const MS: u64 = 1_000_000;
    const SECOND: u64 = 1_000_000_000;
    const DAY: u64 = 86_400 * SECOND;
    const YEAR: u64 = 365 * DAY + DAY / 4;

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
            if n == 0 {
                0
            } else {
                self.next() % n
            }
        }

        /// A value spread over all scales up to 2^max_bits, as time steps are.
        fn log_uniform(&mut self, max_bits: u64) -> u64 {
            let bits = self.below(max_bits + 1);
            self.below(1u64 << bits) + u64::from(bits > 0)
        }
    }

    fn collect(wheel: &mut TimerWheel, now: u64, budget: usize) -> (Vec<u32>, bool) {
        let mut out = Vec::new();
        let done = wheel.advance(now, budget, |id| out.push(id));
        (out, done)
    }

    /// Checks the structural invariants that the cheap paths rely on.
    fn check_invariants(wheel: &TimerWheel) {
        let mut count = 0;
        for sentinel in 0..BASE {
            let mut node = wheel.links[sentinel as usize].next;
            let mut prev = sentinel;
            let mut members = 0;
            while node != sentinel {
                assert!(node >= BASE);
                assert_eq!(wheel.links[node as usize].prev, prev);
                let deadline = wheel.deadlines[(node - BASE) as usize];
                if sentinel < OVERFLOW {
                    let level = sentinel as usize / BUCKETS;
                    let bucket = sentinel as usize % BUCKETS;
                    let span = SHIFTS[level] + BUCKET_BITS;
                    assert!(deadline > wheel.current);
                    assert_eq!(deadline >> span, wheel.current >> span);
                    assert_eq!((deadline >> SHIFTS[level]) as usize % BUCKETS, bucket);
                    if level == 0 {
                        assert!(wheel.level0_min[bucket] <= deadline);
                    } else {
                        assert_ne!(deadline >> SHIFTS[level], wheel.current >> SHIFTS[level]);
                    }
                } else if sentinel == OVERFLOW {
                    assert_ne!(deadline >> TOP_SHIFT, wheel.current >> TOP_SHIFT);
                    assert!(deadline > wheel.current);
                } else {
                    assert!(deadline <= wheel.current);
                    assert!(wheel.due_min <= deadline);
                }
                members += 1;
                prev = node;
                node = wheel.links[node as usize].next;
            }
            assert_eq!(wheel.links[sentinel as usize].prev, prev);
            if sentinel < OVERFLOW {
                let level = sentinel as usize / BUCKETS;
                let bit = (wheel.occupied[level] >> (sentinel as usize % BUCKETS)) & 1;
                assert_eq!(bit == 1, members > 0, "occupancy of sentinel {sentinel}");
            }
            count += members;
        }
        assert_eq!(count, wheel.len());
    }

    #[test]
    fn fires_exactly_at_deadline_at_every_level() {
        let deltas = [
            1,
            500_000,
            (1 << 20) - 1,
            1 << 20,
            (1 << 26) - 1,
            1 << 26,
            5 * (1 << 26) + 3,
            (1 << 32) + 1,
            1 << 40,
            1 << 51,
            (1 << 56) + 5,
            1 << 60,
        ];
        let starts = [
            0,
            1,
            123_456_789,
            (1 << 26) - 5,
            (1 << 50) + 12_345,
            (1 << 56) - 3,
            3 << 60,
        ];
        for &start in &starts {
            for &delta in &deltas {
                for halfway in [false, true] {
                    let deadline = start + delta;
                    let mut wheel = TimerWheel::new(start);
                    wheel.schedule(9, deadline);
                    check_invariants(&wheel);
                    if halfway {
                        assert_eq!(collect(&mut wheel, start + delta / 2, usize::MAX).0, []);
                        check_invariants(&wheel);
                    }
                    let hint = wheel.next_expiry_hint().unwrap();
                    assert!(hint <= deadline, "hint {hint} after deadline {deadline}");
                    let early = collect(&mut wheel, deadline - 1, usize::MAX);
                    assert_eq!(early, (vec![], true), "start {start} delta {delta}");
                    assert!(wheel.is_scheduled(9));
                    check_invariants(&wheel);
                    let on_time = collect(&mut wheel, deadline, usize::MAX);
                    assert_eq!(on_time, (vec![9], true), "start {start} delta {delta}");
                    assert!(!wheel.is_scheduled(9));
                    assert!(wheel.is_empty());
                    assert_eq!(wheel.next_expiry_hint(), None);
                    check_invariants(&wheel);
                }
            }
        }
    }

    #[test]
    fn reschedule_moves_and_deschedule_cancels() {
        let mut wheel = TimerWheel::new(0);
        wheel.schedule(1, 10 * MS);
        wheel.schedule(2, 20 * MS);
        wheel.schedule(1, 30 * MS);
        assert_eq!(wheel.len(), 2);
        assert_eq!(wheel.deadline(1), Some(30 * MS));
        assert_eq!(collect(&mut wheel, 25 * MS, usize::MAX), (vec![2], true));
        assert_eq!(collect(&mut wheel, 30 * MS, usize::MAX), (vec![1], true));

        wheel.schedule(3, 40 * MS);
        wheel.schedule(4, 40 * MS);
        wheel.deschedule(3);
        wheel.deschedule(3);
        wheel.deschedule(1000);
        wheel.schedule(4, u64::MAX);
        assert!(!wheel.is_scheduled(4));
        assert_eq!(wheel.deadline(4), None);
        assert!(wheel.is_empty());
        assert_eq!(
            collect(&mut wheel, 100 * SECOND, usize::MAX),
            (vec![], true)
        );
        assert!(!wheel.is_scheduled(u32::MAX));
        wheel.deschedule(u32::MAX);
    }

    #[test]
    fn past_deadlines_fire_on_next_advance() {
        let mut wheel = TimerWheel::new(5 * SECOND);
        wheel.schedule(0, 0);
        wheel.schedule(1, 5 * SECOND);
        assert_eq!(wheel.next_expiry_hint(), Some(0));
        // A clock that went backwards is treated as the wheel's clock.
        let (mut ids, done) = collect(&mut wheel, SECOND, usize::MAX);
        ids.sort_unstable();
        assert_eq!((ids, done), (vec![0, 1], true));
        wheel.schedule(2, 6 * SECOND);
        assert_eq!(collect(&mut wheel, 4 * SECOND, usize::MAX), (vec![], true));
        assert_eq!(collect(&mut wheel, 6 * SECOND, usize::MAX), (vec![2], true));
    }

    #[test]
    fn budget_limits_each_call() {
        let mut wheel = TimerWheel::new(0);
        for id in 0..10 {
            wheel.schedule(id, 1 + u64::from(id) * MS);
        }
        wheel.schedule(10, SECOND);
        let (first, done) = collect(&mut wheel, 100 * MS, 3);
        assert_eq!(first.len(), 3);
        assert!(!done);
        assert_eq!(wheel.len(), 8);
        let mut seen: Vec<u32> = first;
        let mut calls = 1;
        loop {
            let (more, done) = collect(&mut wheel, 100 * MS, 3);
            assert!(more.len() <= 3);
            seen.extend(more);
            calls += 1;
            if done {
                break;
            }
        }
        assert_eq!(calls, 4);
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(wheel.len(), 1);
        assert_eq!(collect(&mut wheel, SECOND, 0), (vec![], false));
        assert_eq!(collect(&mut wheel, SECOND, 1), (vec![10], true));
        assert_eq!(collect(&mut wheel, SECOND, 0), (vec![], true));
    }

    #[test]
    fn huge_jump_reports_all_due() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let start = 1_700_000_000 * SECOND;
        let mut wheel = TimerWheel::new(start);
        let mut deadlines = Vec::new();
        for id in 0..10_000u32 {
            let deadline = start + rng.log_uniform(62);
            wheel.schedule(id, deadline);
            deadlines.push(deadline);
        }
        check_invariants(&wheel);
        let now = start + 100 * YEAR;
        let (mut ids, done) = collect(&mut wheel, now, usize::MAX);
        assert!(done);
        ids.sort_unstable();
        let expected: Vec<u32> = (0..10_000u32)
            .filter(|&id| deadlines[id as usize] <= now)
            .collect();
        assert!(expected.len() > 9_000);
        assert_eq!(ids, expected);
        check_invariants(&wheel);
        let (rest, done) = collect(&mut wheel, u64::MAX - 1, usize::MAX);
        assert!(done);
        assert_eq!(rest.len() + expected.len(), 10_000);
        assert!(wheel.is_empty());
    }

    #[test]
    fn ids_are_reusable_after_expiry() {
        let mut wheel = TimerWheel::new(0);
        wheel.schedule(5, MS);
        assert_eq!(collect(&mut wheel, MS, usize::MAX), (vec![5], true));
        wheel.schedule(5, 3 * MS);
        assert_eq!(wheel.deadline(5), Some(3 * MS));
        assert_eq!(collect(&mut wheel, 2 * MS, usize::MAX), (vec![], true));
        assert_eq!(collect(&mut wheel, 3 * MS, usize::MAX), (vec![5], true));
        // Growing to a larger id keeps smaller ones intact.
        wheel.schedule(1, 4 * MS);
        wheel.schedule(70_000, 4 * MS);
        let (mut ids, _) = collect(&mut wheel, 4 * MS, usize::MAX);
        ids.sort_unstable();
        assert_eq!(ids, [1, 70_000]);
    }

    #[test]
    fn frequent_advances_within_a_bucket() {
        let mut wheel = TimerWheel::new(0);
        for id in 0..100u32 {
            wheel.schedule(id, 1000 + u64::from(id) * 1000);
        }
        for step in 0..=100u64 {
            let now = step * 1000;
            let (ids, done) = collect(&mut wheel, now, usize::MAX);
            assert!(done);
            let expected: Vec<u32> = if step == 0 {
                vec![]
            } else {
                vec![(step - 1) as u32]
            };
            assert_eq!(ids, expected);
            check_invariants(&wheel);
        }
    }

    #[test]
    fn matches_model_under_random_operations() {
        for seed in 1..=6u64 {
            run_model(seed, 20_000);
        }
    }

    fn run_model(seed: u64, ops: usize) {
        let mut rng = XorShift(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let start = match seed % 3 {
            0 => 0,
            1 => 1_700_000_000 * SECOND + rng.below(SECOND),
            // Close to a top-level boundary, so the overflow list is exercised.
            _ => (1 << 57) - rng.log_uniform(50),
        };
        let ids = 1 + rng.below(300) as u32;
        let mut wheel = TimerWheel::new(start);
        let mut model: BTreeMap<u32, u64> = BTreeMap::new();
        let mut now = start;
        for op in 0..ops {
            match rng.below(10) {
                0..=4 => {
                    let id = rng.below(u64::from(ids)) as u32;
                    let deadline = match rng.below(10) {
                        0 => now.saturating_sub(rng.log_uniform(40)),
                        1 => now.saturating_add(rng.log_uniform(62)),
                        2 => u64::MAX,
                        // Exactly on a bucket boundary of some level.
                        3 => {
                            let shift = SHIFTS[rng.below(LEVELS as u64) as usize];
                            ((now >> shift) + rng.below(3)) << shift
                        }
                        _ => now.saturating_add(rng.log_uniform(48)),
                    };
                    wheel.schedule(id, deadline);
                    if deadline == u64::MAX {
                        model.remove(&id);
                    } else {
                        model.insert(id, deadline);
                    }
                }
                5 => {
                    let id = rng.below(u64::from(ids)) as u32;
                    wheel.deschedule(id);
                    model.remove(&id);
                }
                _ => {
                    let target = match rng.below(8) {
                        0 => now,
                        1 => now.saturating_sub(rng.log_uniform(30)),
                        2 => now.saturating_add(rng.log_uniform(58)),
                        _ => now.saturating_add(rng.log_uniform(48)),
                    };
                    let target = target.min(u64::MAX - 1);
                    now = now.max(target);
                    let budget = if rng.below(4) == 0 {
                        rng.below(5) as usize
                    } else {
                        usize::MAX
                    };
                    let (reported, done) = collect(&mut wheel, target, budget);
                    let due: BTreeSet<u32> = model
                        .iter()
                        .filter(|&(_, &d)| d <= now)
                        .map(|(&id, _)| id)
                        .collect();
                    let got: BTreeSet<u32> = reported.iter().copied().collect();
                    assert_eq!(got.len(), reported.len(), "duplicate report at op {op}");
                    assert!(got.is_subset(&due), "reported early at op {op}");
                    if done {
                        assert_eq!(got, due, "seed {seed} op {op}");
                    } else {
                        assert_eq!(reported.len(), budget);
                        assert!(got.len() < due.len());
                    }
                    for id in &reported {
                        model.remove(id);
                    }
                }
            }
            assert_eq!(wheel.len(), model.len());
            match model.values().min() {
                Some(&min) => assert!(wheel.next_expiry_hint().unwrap() <= min),
                None => assert_eq!(wheel.next_expiry_hint(), None),
            }
            let probe = rng.below(u64::from(ids)) as u32;
            assert_eq!(wheel.deadline(probe), model.get(&probe).copied());
            if op % 64 == 0 {
                check_invariants(&wheel);
            }
        }
        let (reported, done) = collect(&mut wheel, u64::MAX - 1, usize::MAX);
        assert!(done);
        assert_eq!(reported.len(), model.len());
        assert!(wheel.is_empty());
        check_invariants(&wheel);
    }
}
