//! One shard of the concurrent map: a hash index over a slab of slots.
//!
//! The index stores only `u32` slot numbers, so an entry is stored once, in the slab, with no
//! per-entry allocation; freed slots are reused. Each slot has a generation that the policy
//! quotes back, so a decision about an entry that has since been removed (and its slot reused)
//! is recognised as stale instead of evicting the wrong entry. Writes append to the shard's
//! own log under the shard lock they already hold: the policy learns about them in order, per
//! slot, with no extra synchronisation.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use crate::clock::NEVER;
use std::sync::Arc;

use hashbrown::HashTable;

use crate::loader::LoadSlot;
use crate::policy::Policy;
use crate::side_table::SideTable;

/// A live entry. Its times live beside it in [`Shard::times`], only in caches that use them.
pub(crate) struct Stored<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// Changes each time the slot is filled, so the policy's decisions about an entry since
    /// removed are recognised as stale when the slot holds another. Kept in the entry (an empty
    /// slot needs none: the shard hands out generations from one counter) so that a
    /// `u64 -> u64` slot is 24 bytes, not 32.
    pub(crate) gen: u32,
    /// Whether the deadline is the entry's own (per-entry expiry) rather than the cache-wide one.
    pub(crate) own_deadline: bool,
    /// Hits since the policy last looked (TinyLFU), saturating at
    /// [`MAX_REFS`](crate::policy::MAX_REFS): a reader bumps it under the shared lock it
    /// already holds, on a line it already loaded, and once saturated only reads it, so hot
    /// entries are not written by every reader.
    pub(crate) hits: AtomicU8,
}

/// An entry's times, kept apart from [`Stored`] so that caches without expiry or refresh do
/// not pay 16 bytes an entry for them (and a `u64 -> u64` slot fits 32 bytes, two to a cache
/// line, instead of straddling lines).
pub(crate) struct Times {
    /// Effective deadline in ticks ([`NEVER`] if none). Atomic because reads extend it under
    /// the shared lock (time-to-idle).
    pub(crate) deadline: AtomicU64,
    /// When the value was last written, in ticks (time-to-live, refresh-after-write).
    pub(crate) written: u64,
}

impl<K, V> Stored<K, V> {
    /// Counts a hit for the policy. A plain load and store, not an atomic add: two readers
    /// racing may count one hit, which the policy's estimate tolerates.
    #[inline]
    pub(crate) fn record_hit(&self) {
        let h = self.hits.load(Ordering::Relaxed);
        if h < crate::policy::MAX_REFS {
            self.hits.store(h + 1, Ordering::Relaxed);
        }
    }

    /// Takes the hits counted since the last call.
    pub(crate) fn take_hits(&self) -> u8 {
        match self.hits.load(Ordering::Relaxed) {
            0 => 0,
            _ => self.hits.swap(0, Ordering::Relaxed),
        }
    }
}

/// A slab cell. Weights (other than 1) and times live in side tables, only in caches that
/// use them.
pub(crate) type Slot<K, V> = Option<Stored<K, V>>;

/// What the policy must learn about a write, in the order it happened.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WriteOp {
    Add {
        local: u32,
        gen: u32,
        hash: u64,
        weight: u32,
        deadline: u64,
    },
    Update {
        local: u32,
        gen: u32,
        weight: u32,
        deadline: u64,
    },
    Remove {
        local: u32,
        gen: u32,
    },
    /// The entry's deadline moved earlier than the one the policy has (a per-entry expiry on
    /// read): the timer wheel must fire then. (Later deadlines need no event: the wheel fires
    /// at the old one and maintenance reschedules.)
    Reschedule {
        local: u32,
        gen: u32,
        deadline: u64,
    },
}

/// The shard's state, behind its `RwLock`.
pub(crate) struct Shard<K, V> {
    table: HashTable<u32>,
    pub(crate) slots: Vec<Slot<K, V>>,
    /// Times of the slots, by slot; empty until some entry has a deadline or a write time
    /// (a slot past its end has neither).
    times: Vec<Times>,
    /// Weights of the slots, by slot; empty until some entry weighs other than 1 (a slot past
    /// its end weighs 1), so caches without a weigher do not pay 4 bytes an entry for them.
    weights: SideTable<u32>,
    /// The generation the next filled slot gets.
    next_gen: u32,
    free: Vec<u32>,
    /// Pending writes with their global sequence numbers, oldest first.
    pub(crate) log: Vec<(u64, WriteOp)>,
    /// Loads in flight for keys of this shard (coalescing), keyed by the key's hash.
    pub(crate) loads: HashTable<Arc<LoadSlot<K, V>>>,
    /// This shard's own share of the policy, in a segmented cache (see `Cache::from_config`):
    /// it sees the shard's writes as they happen, by local slot id, under the shard's lock.
    pub(crate) policy: Option<Box<Policy>>,
}

impl<K, V> Default for Shard<K, V> {
    fn default() -> Self {
        Self {
            table: HashTable::new(),
            slots: Vec::new(),
            times: Vec::new(),
            weights: SideTable::new(1),
            next_gen: 1,
            free: Vec::new(),
            log: Vec::new(),
            loads: HashTable::new(),
            policy: None,
        }
    }
}

impl<K: Hash + Eq, V> Shard<K, V> {
    /// Marks the load in flight for `key`, if any, as superseded by a write or an explicit
    /// removal (see `LoadSlot`): its value will not be stored, and callers from now on do not
    /// wait for it (those already waiting get its value).
    #[inline(always)]
    pub(crate) fn supersede_load<Q>(&mut self, hash: u64, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        // Every write asks; almost none finds a load in flight.
        if !self.loads.is_empty() {
            self.supersede_load_found(hash, key);
        }
    }

    #[cold]
    #[inline(never)]
    fn supersede_load_found<Q>(&mut self, hash: u64, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        if let Ok(entry) = self.loads.find_entry(hash, |s| s.key.borrow() == key) {
            if entry.get().supersede() {
                entry.remove();
            }
        }
    }

    /// [`supersede_load`](Self::supersede_load) for every load in flight.
    pub(crate) fn supersede_loads(&mut self) {
        self.loads.retain(|slot| !slot.supersede());
    }

    /// The slot holding `key`, expired or not.
    #[inline]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slots = &self.slots;
        self.table
            .find(hash, |&i| match &slots[i as usize] {
                Some(e) => e.key.borrow() == key,
                None => false,
            })
            .copied()
    }

    /// The entry holding `key`, expired or not.
    #[inline]
    pub(crate) fn find_stored<Q>(&self, hash: u64, key: &Q) -> Option<&Stored<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let local = self.find(hash, key)?;
        self.slots[local as usize].as_ref()
    }

    #[inline]
    pub(crate) fn stored(&self, local: u32) -> &Stored<K, V> {
        self.slots[local as usize]
            .as_ref()
            .expect("indexed slot holds an entry")
    }

    #[inline]
    pub(crate) fn stored_mut(&mut self, local: u32) -> &mut Stored<K, V> {
        self.slots[local as usize]
            .as_mut()
            .expect("indexed slot holds an entry")
    }

    /// The deadline of the entry in `local` ([`NEVER`] if it has none).
    #[inline]
    pub(crate) fn deadline(&self, local: u32) -> u64 {
        self.times
            .get(local as usize)
            .map_or(NEVER, |t| t.deadline.load(Ordering::Relaxed))
    }

    /// When the entry in `local` was last written (0 if the cache does not keep time).
    #[inline]
    pub(crate) fn written(&self, local: u32) -> u64 {
        self.times.get(local as usize).map_or(0, |t| t.written)
    }

    /// The times of `local`, if stored: readers may move the deadline through it.
    #[inline]
    pub(crate) fn times_at(&self, local: u32) -> Option<&Times> {
        self.times.get(local as usize)
    }

    /// The weight of the entry in `local`.
    #[inline]
    pub(crate) fn weight(&self, local: u32) -> u32 {
        self.weights.get(local as usize)
    }

    pub(crate) fn set_weight(&mut self, local: u32, weight: u32) {
        self.weights.set(local as usize, weight, self.slots.len());
    }

    /// Records the times of the entry in `local`, growing the times only when there is
    /// something to keep.
    pub(crate) fn set_times(&mut self, local: u32, deadline: u64, written: u64) {
        let i = local as usize;
        if i >= self.times.len() {
            if deadline == NEVER && written == 0 {
                return;
            }
            self.times
                .resize_with(self.slots.len().max(i + 1), || Times {
                    deadline: AtomicU64::new(NEVER),
                    written: 0,
                });
        }
        let t = &mut self.times[i];
        *t.deadline.get_mut() = deadline;
        t.written = written;
    }

    /// Stores a new entry (the key must be absent; its `gen` is set here) with its weight, and
    /// returns its slot and generation.
    pub(crate) fn insert_new<S: BuildHasher>(
        &mut self,
        hasher: &S,
        hash: u64,
        mut stored: Stored<K, V>,
        weight: u32,
    ) -> (u32, u32) {
        let local = match self.free.pop() {
            Some(l) => l,
            None => {
                let l = u32::try_from(self.slots.len()).expect("fewer than 2^32 entries per shard");
                self.slots.push(None);
                l
            }
        };
        let gen = self.next_gen;
        // Never 0 (no entry) nor ANY_GEN (the wildcard of policies without generations).
        self.next_gen = match gen.wrapping_add(1) {
            0 | crate::policy::ANY_GEN => 1,
            g => g,
        };
        stored.gen = gen;
        self.slots[local as usize] = Some(stored);
        self.set_weight(local, weight);
        if self.table.len() == self.table.capacity() {
            self.rebuild_index(hasher);
        }
        let slots = &self.slots;
        self.table.insert_unique(hash, local, |&i| {
            crate::key_hash::map_hash(hasher, &slots[i as usize].as_ref().expect("live").key)
        });
        (local, gen)
    }

    /// Rebuilds the index when it has no room left: at the same size while the live entries
    /// fill at most half of its buckets, else twice as large. Left to itself, hashbrown lets
    /// removals fill its spare room with tombstones and, once the room is gone, doubles any
    /// table more than 7/16 full, although the live entries fit the one it has: a cache of 1M
    /// `u64` entries (8 shards of 125k in 262,144 buckets each, 48% full) went from 60 to 74
    /// bytes per entry over 100M inserts with eviction, against 63.5 with this. Past half
    /// full it still grows: a 10k cache in 16,384 buckets kept at its size inserted 5% slower
    /// (longer probes) for 80 KB saved. A rebuild runs once per hundreds of thousands of
    /// removals and costs what hashbrown's own resize would.
    #[cold]
    #[inline(never)]
    fn rebuild_index<S: BuildHasher>(&mut self, hasher: &S) {
        let len = self.table.len();
        let slots = &self.slots;
        let hash_of = |&i: &u32| {
            crate::key_hash::map_hash(hasher, &slots[i as usize].as_ref().expect("live").key)
        };
        let mut table = HashTable::with_capacity(len + len * 3 / 4 + 1);
        // Copied, not drained: should a key's `Hash` panic, the old index is still whole.
        for &i in self.table.iter() {
            table.insert_unique(hash_of(&i), i, hash_of);
        }
        self.table = table;
    }

    /// Takes the entry out of `local` (which must be live) and frees the slot; returns the
    /// entry and its weight.
    pub(crate) fn remove_at(&mut self, hash: u64, local: u32) -> (Stored<K, V>, u32) {
        if let Ok(e) = self.table.find_entry(hash, |&i| i == local) {
            e.remove();
        }
        self.free.push(local);
        let weight = self.weight(local);
        (
            self.slots[local as usize].take().expect("live slot"),
            weight,
        )
    }

    /// The live entry in `local` if its generation is still `gen`.
    /// `gen` may be [`ANY_GEN`](crate::policy::ANY_GEN) (from a policy that keeps no
    /// generations because it sees every change in order): whatever entry is there.
    pub(crate) fn live_at(&self, local: u32, gen: u32) -> Option<&Stored<K, V>> {
        self.slots
            .get(local as usize)?
            .as_ref()
            .filter(|e| e.gen == gen || gen == crate::policy::ANY_GEN)
    }

    /// Removes every entry, returning them with their slot, deadline and weight.
    pub(crate) fn drain_all(&mut self) -> Vec<(u32, u64, u32, Stored<K, V>)> {
        self.table.clear();
        let mut out = Vec::new();
        for i in 0..self.slots.len() {
            let local = i as u32;
            let (deadline, weight) = (self.deadline(local), self.weight(local));
            if let Some(e) = self.slots[i].take() {
                out.push((local, deadline, weight, e));
                self.free.push(local);
            }
        }
        out
    }

    /// Live entries by slot with their deadlines, for iteration and predicate scans.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u32, u64, &Stored<K, V>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|e| (i as u32, self.deadline(i as u32), e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(k: u64) -> Stored<u64, u64> {
        Stored {
            key: k,
            value: k,
            gen: 0,
            own_deadline: false,
            hits: AtomicU8::new(0),
        }
    }

    #[test]
    fn generations_never_take_the_wildcard_value() {
        let mut s: Shard<u64, u64> = Shard::default();
        let h = crate::RandomState::default();
        s.next_gen = crate::policy::ANY_GEN - 1;
        let (_, g1) = s.insert_new(&h, crate::key_hash::map_hash(&h, &1u64), stored(1), 1);
        let (_, g2) = s.insert_new(&h, crate::key_hash::map_hash(&h, &2u64), stored(2), 1);
        assert_eq!((g1, g2), (crate::policy::ANY_GEN - 1, 1));
    }

    /// Replacing entries for a long time must not grow the index: 480 entries sit in 1,024
    /// buckets (more than 7/16 full, where hashbrown doubles a table whose spare room
    /// tombstones have used up), and half a million removals and inserts later the table is
    /// the size it was, every entry still found.
    #[test]
    fn churn_does_not_grow_the_index() {
        let mut s: Shard<u64, u64> = Shard::default();
        let h = crate::RandomState::default();
        let mut live: std::collections::VecDeque<(u64, u32)> = Default::default();
        for k in 0..480u64 {
            live.push_back((
                k,
                s.insert_new(&h, crate::key_hash::map_hash(&h, &k), stored(k), 1)
                    .0,
            ));
        }
        let size = s.table.allocation_size();
        for k in 480..500_000u64 {
            let (old, local) = live.pop_front().expect("live entries");
            s.remove_at(crate::key_hash::map_hash(&h, &old), local);
            live.push_back((
                k,
                s.insert_new(&h, crate::key_hash::map_hash(&h, &k), stored(k), 1)
                    .0,
            ));
        }
        // Without the rebuild hashbrown doubles it (5,136 -> 10,256 bytes here).
        assert_eq!(s.table.allocation_size(), size, "the index kept its size");
        for &(k, local) in &live {
            assert_eq!(s.find(crate::key_hash::map_hash(&h, &k), &k), Some(local));
        }
    }

    /// A `u64 -> u64` slot is the key, the value and 8 bytes of generation, flags and hit
    /// counter: the memory benchmark's bytes per entry depend on it.
    #[test]
    fn a_u64_slot_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Slot<u64, u64>>(), 24);
    }

    #[test]
    fn weights_are_kept_only_once_some_entry_weighs_other_than_one() {
        let mut s: Shard<u64, u64> = Shard::default();
        let h = crate::RandomState::default();
        let (a, ga) = s.insert_new(&h, crate::key_hash::map_hash(&h, &1u64), stored(1), 1);
        assert!(s.weights.is_empty());
        let (b, gb) = s.insert_new(&h, crate::key_hash::map_hash(&h, &2u64), stored(2), 7);
        assert_ne!(ga, gb);
        assert_eq!((s.weight(a), s.weight(b)), (1, 7));
        assert_eq!(s.remove_at(crate::key_hash::map_hash(&h, &2u64), b).1, 7);
        let (c, gc) = s.insert_new(&h, crate::key_hash::map_hash(&h, &3u64), stored(3), 1);
        assert_eq!(c, b, "the freed slot is reused");
        assert_ne!(gc, gb, "with another generation");
        assert!(s.live_at(c, gb).is_none() && s.live_at(c, gc).is_some());
        assert!(
            s.live_at(c, crate::policy::ANY_GEN).is_some(),
            "the wildcard"
        );
        assert!(
            s.live_at(b + 1, crate::policy::ANY_GEN).is_none(),
            "but only a live slot"
        );
        assert_eq!(s.weight(c), 1, "a reused slot does not inherit a weight");
    }

    #[test]
    fn times_are_kept_only_once_some_entry_has_them() {
        let mut s: Shard<u64, u64> = Shard::default();
        let h = crate::RandomState::default();
        let (a, _) = s.insert_new(&h, crate::key_hash::map_hash(&h, &1u64), stored(1), 1);
        s.set_times(a, NEVER, 0);
        assert!(s.times.is_empty());
        let (b, _) = s.insert_new(&h, crate::key_hash::map_hash(&h, &2u64), stored(2), 1);
        s.set_times(b, 500, 7);
        assert_eq!((s.deadline(a), s.written(a)), (NEVER, 0));
        assert_eq!((s.deadline(b), s.written(b)), (500, 7));
        s.remove_at(crate::key_hash::map_hash(&h, &2u64), b);
        let (c, _) = s.insert_new(&h, crate::key_hash::map_hash(&h, &3u64), stored(3), 1);
        assert_eq!(c, b, "the freed slot is reused");
        s.set_times(c, NEVER, 0);
        assert_eq!(
            s.deadline(c),
            NEVER,
            "a reused slot does not inherit a deadline"
        );
    }
}
