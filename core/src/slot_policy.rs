//! The eviction policy on its own, over caller-managed slot numbers.
//!
//! For hosts that keep keys and values in their own runtime (the Node binding keeps them in
//! JavaScript, where a native call per `get` would cost more than the lookup itself) but want
//! cortado's admission, eviction order and expiry decisions. The host numbers its entries with
//! dense `u32` slots, reports events (usually batched), and drops what the policy tells it to.
//! Single-threaded by design: the host serialises calls.

use crate::clock::NEVER;
use crate::policy::{EvictionPolicy, Policy, Victim, ANY_GEN};

/// Admission, eviction order and expiry over slot numbers chosen by the caller.
///
/// Slots carry no generations of their own: the host reports events in the order they
/// happened, so an event never outlives its entry (a generation table would cost 4 bytes per
/// slot and one more cache line per replayed hit).
pub struct SlotPolicy {
    policy: Policy,
    scratch: Vec<Victim>,
}

impl std::fmt::Debug for SlotPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotPolicy")
            .field("len", &self.policy.len())
            .finish()
    }
}

impl SlotPolicy {
    /// A policy bounding the total weight to `max_capacity` (entries count 1 each unless
    /// `weighted`), with time measured in the caller's nanoseconds starting near `now`.
    pub fn new(kind: EvictionPolicy, max_capacity: u64, weighted: bool, now: u64) -> Self {
        let mut policy = Policy::new(kind, max_capacity, weighted, now);
        policy.forget_generations();
        Self {
            policy,
            scratch: Vec::new(),
        }
    }

    /// A new entry in `slot` (a miss that was filled). `hash` feeds the frequency sketch: pass
    /// a hash of the key, stable for the key's lifetime, whose low 32 bits are well mixed
    /// (only they are kept). `deadline` is `None` for no expiry.
    pub fn insert(&mut self, slot: u32, hash: u64, weight: u32, deadline: Option<u64>) {
        self.policy
            .record_add(slot, ANY_GEN, hash, weight, deadline.unwrap_or(NEVER));
    }

    /// The entry in `slot` was written again (new weight and deadline): also a use.
    pub fn update(&mut self, slot: u32, weight: u32, deadline: Option<u64>) {
        self.policy
            .record_update(slot, ANY_GEN, weight, deadline.unwrap_or(NEVER));
    }

    /// The entry in `slot` was read (a hit).
    pub fn access(&mut self, slot: u32) {
        self.policy.record_access(slot, ANY_GEN);
    }

    /// The entry in `slot` got a new deadline without being written (time-to-idle).
    pub fn set_deadline(&mut self, slot: u32, deadline: Option<u64>) {
        self.policy
            .set_deadline(slot, ANY_GEN, deadline.unwrap_or(NEVER));
    }

    /// The caller removed the entry in `slot`.
    pub fn remove(&mut self, slot: u32) {
        self.policy.record_remove(slot, ANY_GEN);
    }

    /// Slots to drop so the total weight fits the capacity, in eviction order. They are
    /// already forgotten by the policy.
    pub fn evict(&mut self, out: &mut Vec<u32>) {
        self.evict_with(out, |_| 0);
    }

    /// [`evict`](Self::evict) for a host that counts hits itself instead of reporting each
    /// through [`access`](Self::access) (TinyLFU only needs how many there were): `hits(slot)`
    /// returns, and resets, the hits the slot had since the policy last asked.
    pub fn evict_with(&mut self, out: &mut Vec<u32>, mut hits: impl FnMut(u32) -> u8) {
        self.policy.evict(out, &mut |slot, _| hits(slot));
    }

    /// Like [`evict`](Self::evict), but down to `headroom` below the capacity: the victims of
    /// the next inserts too, for a host that would rather drop them one per insert than call
    /// the policy on each. Victims come coldest first.
    pub fn evict_ahead(&mut self, headroom: u64, out: &mut Vec<u32>) {
        self.evict_ahead_with(headroom, out, |_| 0);
    }

    /// [`evict_ahead`](Self::evict_ahead) with hits counted by the host (see
    /// [`evict_with`](Self::evict_with)).
    pub fn evict_ahead_with(
        &mut self,
        headroom: u64,
        out: &mut Vec<u32>,
        mut hits: impl FnMut(u32) -> u8,
    ) {
        self.policy
            .evict_ahead(headroom, out, &mut |slot, _| hits(slot));
    }

    /// Slots whose deadline is at or before `now` (at most `budget`); they are forgotten by
    /// the policy. Returns false if more are due.
    pub fn expire(&mut self, now: u64, budget: usize, out: &mut Vec<u32>) -> bool {
        let done = self.policy.expired(now, budget, &mut self.scratch);
        for v in self.scratch.drain(..) {
            self.policy.record_remove(v.id, v.gen);
            out.push(v.id);
        }
        done
    }

    /// Drops the coldest live slot (the next one eviction would consider) and returns it.
    pub fn pop_coldest(&mut self) -> Option<u32> {
        self.policy.pop_coldest().map(|v| v.id)
    }

    /// The earliest time (in the caller's nanoseconds) at which some slot may expire: never
    /// later than the true earliest deadline, possibly earlier. `None` if no slot has one.
    pub fn next_expiry(&self) -> Option<u64> {
        self.policy.next_expiry()
    }

    /// Adapts the admission window to the recent hit rate; call after each batch of events.
    pub fn climb(&mut self) {
        self.climb_with(|_| 0);
    }

    /// [`climb`](Self::climb) with hits counted by the host (see [`evict_with`](Self::evict_with)).
    pub fn climb_with(&mut self, mut hits: impl FnMut(u32) -> u8) {
        self.policy.climb(&mut |slot, _| hits(slot));
    }

    /// Live slots, coldest (next to be evicted) first.
    pub fn coldest_first(&self) -> Vec<u32> {
        self.policy.ids_coldest_first()
    }

    /// Number of live slots.
    pub fn len(&self) -> u64 {
        self.policy.len()
    }

    /// Whether no slot is live.
    pub fn is_empty(&self) -> bool {
        self.policy.len() == 0
    }

    /// Total weight of the live slots.
    pub fn weighted_size(&self) -> u64 {
        self.policy.weighted_size()
    }

    /// Changes the capacity; call [`evict`](Self::evict) afterwards.
    pub fn set_max_capacity(&mut self, max_capacity: u64) {
        self.policy.set_maximum(max_capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_over_slots() {
        let mut p = SlotPolicy::new(EvictionPolicy::Lru, 2, false, 0);
        let mut out = Vec::new();
        p.insert(0, 11, 1, None);
        p.insert(1, 22, 1, None);
        p.access(0);
        p.insert(2, 33, 1, None);
        p.evict(&mut out);
        assert_eq!(out, vec![1]);
        assert_eq!(p.coldest_first(), vec![0, 2]);
        p.insert(1, 44, 1, None);
        out.clear();
        p.evict(&mut out);
        assert_eq!(out, vec![0]);
        assert_eq!(p.pop_coldest(), Some(2));
        assert_eq!(p.coldest_first(), vec![1]);
    }

    #[test]
    fn evicting_ahead_makes_room_for_the_next_inserts() {
        let mut p = SlotPolicy::new(EvictionPolicy::TinyLfu, 1000, false, 0);
        let mut out = Vec::new();
        for s in 0..1000u32 {
            p.insert(s, u64::from(s).wrapping_mul(0x9E37_79B9_7F4A_7C15), 1, None);
        }
        p.evict(&mut out);
        assert!(out.is_empty());
        p.insert(1000, 7, 1, None);
        p.evict_ahead(10, &mut out);
        assert_eq!(out.len(), 11);
        assert_eq!(p.len(), 990);
        let mut distinct = out.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 11);
        // Ten more fit without an eviction; the eleventh needs one again.
        for s in 1001..1011u32 {
            p.insert(s, u64::from(s), 1, None);
        }
        out.clear();
        p.evict(&mut out);
        assert!(out.is_empty());
        p.insert(1011, 11, 1, None);
        p.evict(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(p.len(), 1000);
        // Ahead of nothing is a plain eviction.
        p.insert(1012, 12, 1, None);
        out.clear();
        p.evict_ahead(0, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(p.len(), 1000);
    }

    #[test]
    fn expiry_over_slots() {
        let mut p = SlotPolicy::new(EvictionPolicy::TinyLfu, 10, false, 0);
        p.insert(0, 1, 1, Some(1_000));
        p.insert(1, 2, 1, Some(5_000));
        p.insert(2, 3, 1, None);
        assert!(p.next_expiry().is_some_and(|t| t <= 1_000));
        let mut out = Vec::new();
        assert!(p.expire(999, usize::MAX, &mut out));
        assert!(out.is_empty());
        assert!(p.expire(1_000, usize::MAX, &mut out));
        assert_eq!(out, vec![0]);
        p.set_deadline(1, Some(10_000));
        out.clear();
        p.expire(6_000, usize::MAX, &mut out);
        assert!(out.is_empty());
        assert_eq!(p.len(), 2);
    }
}
