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
use std::sync::Arc;

use hashbrown::HashTable;

use crate::loader::LoadSlot;

/// A live entry.
pub(crate) struct Stored<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// Effective deadline in ticks ([`crate::clock::NEVER`] if none). Atomic because reads
    /// extend it under the shared lock (time-to-idle).
    pub(crate) deadline: AtomicU64,
    /// When the value was last written, in ticks (time-to-live, refresh-after-write).
    pub(crate) written: u64,
    /// Whether the deadline is the entry's own (per-entry expiry) rather than the cache-wide one.
    pub(crate) own_deadline: bool,
    pub(crate) weight: u32,
    /// Hits since the policy last looked (TinyLFU), saturating at
    /// [`MAX_REFS`](crate::policy::MAX_REFS): a reader bumps it under the shared lock it
    /// already holds, on a line it already loaded, and once saturated only reads it, so hot
    /// entries are not written by every reader.
    pub(crate) hits: AtomicU8,
}

impl<K, V> Stored<K, V> {
    #[inline]
    pub(crate) fn deadline(&self) -> u64 {
        self.deadline.load(Ordering::Relaxed)
    }

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

/// A slab cell: a generation and maybe an entry.
pub(crate) struct Slot<K, V> {
    pub(crate) gen: u32,
    pub(crate) entry: Option<Stored<K, V>>,
}

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
}

/// The shard's state, behind its `RwLock`.
pub(crate) struct Shard<K, V> {
    table: HashTable<u32>,
    pub(crate) slots: Vec<Slot<K, V>>,
    free: Vec<u32>,
    /// Pending writes with their global sequence numbers, oldest first.
    pub(crate) log: Vec<(u64, WriteOp)>,
    /// Loads in flight for keys of this shard (coalescing), keyed by the key's hash.
    pub(crate) loads: HashTable<Arc<LoadSlot<K, V>>>,
}

impl<K, V> Default for Shard<K, V> {
    fn default() -> Self {
        Self {
            table: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            log: Vec::new(),
            loads: HashTable::new(),
        }
    }
}

impl<K: Hash + Eq, V> Shard<K, V> {
    /// The slot holding `key`, expired or not.
    #[inline]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slots = &self.slots;
        self.table
            .find(hash, |&i| match &slots[i as usize].entry {
                Some(e) => e.key.borrow() == key,
                None => false,
            })
            .copied()
    }

    #[inline]
    pub(crate) fn stored(&self, local: u32) -> &Stored<K, V> {
        self.slots[local as usize]
            .entry
            .as_ref()
            .expect("indexed slot holds an entry")
    }

    #[inline]
    pub(crate) fn stored_mut(&mut self, local: u32) -> &mut Stored<K, V> {
        self.slots[local as usize]
            .entry
            .as_mut()
            .expect("indexed slot holds an entry")
    }

    /// Stores a new entry (the key must be absent) and returns its slot and generation.
    pub(crate) fn insert_new<S: BuildHasher>(
        &mut self,
        hasher: &S,
        hash: u64,
        stored: Stored<K, V>,
    ) -> (u32, u32) {
        let local = match self.free.pop() {
            Some(l) => l,
            None => {
                let l = u32::try_from(self.slots.len()).expect("fewer than 2^32 entries per shard");
                self.slots.push(Slot {
                    gen: 0,
                    entry: None,
                });
                l
            }
        };
        let slot = &mut self.slots[local as usize];
        slot.gen = slot.gen.wrapping_add(1).max(1);
        slot.entry = Some(stored);
        let gen = slot.gen;
        let slots = &self.slots;
        self.table.insert_unique(hash, local, |&i| {
            hasher.hash_one(&slots[i as usize].entry.as_ref().expect("live").key)
        });
        (local, gen)
    }

    /// Takes the entry out of `local` (which must be live) and frees the slot.
    pub(crate) fn remove_at(&mut self, hash: u64, local: u32) -> Stored<K, V> {
        if let Ok(e) = self.table.find_entry(hash, |&i| i == local) {
            e.remove();
        }
        self.free.push(local);
        self.slots[local as usize].entry.take().expect("live slot")
    }

    /// The live entry in `local` if its generation is still `gen`.
    pub(crate) fn live_at(&self, local: u32, gen: u32) -> Option<&Stored<K, V>> {
        let slot = self.slots.get(local as usize)?;
        if slot.gen == gen {
            slot.entry.as_ref()
        } else {
            None
        }
    }

    /// Removes every entry, returning them with their slot and generation.
    pub(crate) fn drain_all(&mut self) -> Vec<(u32, u32, Stored<K, V>)> {
        self.table.clear();
        let mut out = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(e) = slot.entry.take() {
                out.push((i as u32, slot.gen, e));
                self.free.push(i as u32);
            }
        }
        out
    }

    /// Live entries by slot, for iteration and predicate scans.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (u32, u32, &Stored<K, V>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.entry.as_ref().map(|e| (i as u32, s.gen, e)))
    }
}
