//! Making room: which entries leave when the cache is over its bound. Candidates leave the
//! window for probation and duel with probation's coldest entry for a place in main (TinyLFU
//! admission by frequency estimate); main's losers and the duels' losers go to the ghost lists,
//! which steer the window's size (see `window.rs`).

use super::ghost::Ghost;
use super::node::{Queue, NIL};
use super::{EvictionPolicy, Policy, Victim, Victims, SECOND_CHANCES};

/// Candidates this frequent are sometimes admitted anyway, so an attacker cannot pin a victim
/// by inflating its frequency (hash flooding), as in Caffeine.
const ADMIT_HASHDOS_THRESHOLD: u8 = 6;

/// Entries from which prefetching pays: 32k nodes are 768 KiB, with the slots and the sketch
/// more than a core's L2.
const PREFETCH_FROM_ENTRIES: usize = 32 * 1024;

impl Policy {
    /// Chooses and drops entries until the policy's weighted size fits the maximum. `ext`
    /// returns (and clears) the hits recorded outside the policy for an entry.
    /// Returns whether it had to evict.
    pub(crate) fn evict(
        &mut self,
        out: &mut impl Victims,
        ext: &mut impl FnMut(u32, u32) -> u8,
    ) -> bool {
        // The window is trimmed only once the cache is full. Trimming it while the cache fills
        // (as Caffeine does) fills the protected segment with whatever was hit early, where it
        // stays: that cost 0.3 points of mean hit ratio on the shared traces and wrecked
        // recency-heavy workloads (see ghosts_grow_the_window_for_a_recency_workload).
        if self.weighted_size <= self.bound() {
            return false;
        }
        match self.kind {
            EvictionPolicy::Lru => {
                while self.weighted_size > self.bound() {
                    let Some(id) = self.probation.head_id() else {
                        break;
                    };
                    self.evict_node(id, out);
                }
            }
            EvictionPolicy::TinyLfu => {
                if !self.evict_one(out, ext) {
                    let candidates = self.evict_from_window(ext);
                    self.evict_from_main(candidates, out, ext);
                }
                self.fresh = NIL;
            }
        }
        self.prefetch_next_visits();
        true
    }

    /// Evicts until the weighted size fits `headroom` below the maximum: the victims of the
    /// next few inserts, chosen in one call by a host that pays per call (the Node binding).
    pub(crate) fn evict_ahead(
        &mut self,
        headroom: u64,
        out: &mut impl Victims,
        ext: &mut impl FnMut(u32, u32) -> u8,
    ) -> bool {
        self.headroom = headroom;
        let evicted = self.evict(out, ext);
        self.headroom = 0;
        evicted
    }

    /// The weighted size an eviction brings the policy down to.
    #[inline]
    pub(super) fn bound(&self) -> u64 {
        self.maximum.saturating_sub(self.headroom)
    }

    /// Whether the policy's tables are likely to have outgrown the CPU's caches; below that,
    /// computing what to prefetch costs more than the loads it would hide (measured at 10k
    /// entries: ~6% of an insert).
    pub(crate) fn worth_prefetching(&self) -> bool {
        self.nodes.len() >= PREFETCH_FROM_ENTRIES || self.prefetch_always
    }

    /// Prefetches whatever this policy's own size: for one shard's share of a large cache,
    /// whose shards' tables together outgrow the CPU caches.
    pub(crate) fn prefetch_always(&mut self) {
        self.prefetch_always = true;
    }

    /// The entries the next eviction will look at first: probation's head (the victim) and,
    /// for TinyLFU, the window's head (the candidate).
    pub(crate) fn next_visits(&self) -> [u32; 2] {
        let candidate = match self.kind {
            EvictionPolicy::TinyLfu => self.window.head,
            EvictionPolicy::Lru => NIL,
        };
        [self.probation.head, candidate]
    }

    /// A full cache evicts on every insert, and what the next eviction reads (the victim's
    /// sketch block, the ghost blocks either may be pushed to, the victim's queue neighbour)
    /// is cold: start loading it now, so the next insert finds it in the CPU cache instead of
    /// waiting on memory for each line in turn. (The candidate's sketch block is not read: the
    /// duel uses the estimate kept in its node.)
    pub(super) fn prefetch_next_visits(&self) {
        if !self.worth_prefetching() {
            return;
        }
        let [victim, candidate] = self.next_visits();
        if let Some(node) = self.nodes.get(victim as usize) {
            if self.kind == EvictionPolicy::TinyLfu {
                self.sketch.prefetch(u64::from(node.hash));
                self.ghosts.prefetch(node.hash);
            }
            crate::prefetch::prefetch(&self.nodes, node.next as usize);
        }
        if let Some(node) = self.nodes.get(candidate as usize) {
            self.ghosts.prefetch(node.hash);
        }
    }

    pub(super) fn evict_node(&mut self, id: u32, out: &mut impl Victims) {
        let weight = self.weight(id);
        out.push_victim(Victim {
            id,
            gen: self.gen_of(id),
            weight,
            hash: self.nodes[id as usize].hash,
        });
        // Victims come from the queues: live, whatever their generation.
        self.drop_node(id, weight);
    }

    /// The eviction a full cache makes on nearly every insert, taken apart from the general
    /// loops (whose bookkeeping for many candidates, weights and exhausted queues was a third
    /// of an eviction's instructions): all weights 1, one entry over the bound and one over
    /// the window's share, so one candidate leaves the window and duels probation's victim.
    /// The decisions are those of `evict_from_window` and `evict_from_main`, step for step;
    /// wherever they would take another turn, this hands over to them in the state they would
    /// have reached: after a second chance in the window it returns false (the caller runs
    /// both loops); after a promotion, or when probation holds only the candidate, it runs
    /// `evict_from_main` itself with the one candidate. Returns whether it evicted.
    #[inline]
    pub(super) fn evict_one(
        &mut self,
        out: &mut impl Victims,
        ext: &mut impl FnMut(u32, u32) -> u8,
    ) -> bool {
        #[cfg(test)]
        if self.general_only {
            return false;
        }
        if self.weighted_size != self.bound() + 1
            || self.window_size != self.window_maximum + 1
            || !self.weights.is_empty()
        {
            return false;
        }
        let candidate = self.window.head;
        if candidate == NIL {
            return false;
        }
        if candidate != self.fresh && self.take_refs(candidate, ext) > 0 {
            self.second_chance_in_window(candidate);
            return false;
        }
        let victim = self.probation.head;
        if victim == NIL || self.take_refs(victim, ext) > 0 {
            // No victim (the candidate would be its own), or one hit since it entered
            // probation: the general path takes over where it would.
            self.window_to_probation(candidate, 1);
            if victim != NIL {
                self.promote(victim, 1);
            }
            self.evict_from_main(1, out, ext);
            return true;
        }
        let (loser, ghost) = if self.admit(candidate, victim) {
            self.window_to_probation(candidate, 1);
            self.probation.unlink_head(&mut self.nodes, victim);
            (victim, Ghost::Evicted)
        } else {
            // A rejected candidate leaves from the window: moving it to probation's back and
            // unlinking it from there would end in the same state.
            self.leave_window(candidate, 1);
            (candidate, Ghost::Rejected)
        };
        let cap = self.ghost_capacity();
        self.ghosts
            .push(ghost, self.nodes[loser as usize].hash, cap);
        out.push_victim(Victim {
            id: loser,
            gen: self.gen_of(loser),
            weight: 1,
            hash: self.nodes[loser as usize].hash,
        });
        self.forget_unlinked(loser, 1);
        true
    }

    /// A window entry hit since its last visit goes round again, just before the entries
    /// added since the last eviction (see [`fresh`](Self::fresh)).
    pub(super) fn second_chance_in_window(&mut self, id: u32) {
        self.window.unlink(&mut self.nodes, id);
        match self.fresh {
            NIL => self.window.push_back(&mut self.nodes, id),
            at => self.window.insert_before(&mut self.nodes, at, id),
        }
    }

    /// Moves the window's head `id`, of weight `w`, to the back of probation, where it
    /// competes for admission (every caller takes the window's oldest entry).
    pub(super) fn window_to_probation(&mut self, id: u32, w: u64) {
        self.leave_window(id, w);
        self.nodes[id as usize].queue = Queue::Probation;
        self.probation.push_back(&mut self.nodes, id);
    }

    /// Takes the window's head `id`, of weight `w`, out of the window, for another queue
    /// to link it (or for it to leave the cache).
    fn leave_window(&mut self, id: u32, w: u64) {
        if self.fresh == id {
            self.fresh = self.nodes[id as usize].next;
        }
        self.window.unlink_head(&mut self.nodes, id);
        self.window_size -= w;
    }

    /// Moves a probation entry of weight `w` that was hit to protected, as an exact SLRU
    /// would have on the hit.
    pub(super) fn promote(&mut self, id: u32, w: u64) {
        self.probation.unlink(&mut self.nodes, id);
        self.nodes[id as usize].queue = Queue::Protected;
        self.protected_size += w;
        self.protected.push_back(&mut self.nodes, id);
    }

    /// Moves the window's overflow to the back of probation, where each competes for admission.
    /// An entry hit since its last visit goes round the window again instead (the window is a
    /// CLOCK, an approximate LRU).
    pub(super) fn evict_from_window(&mut self, ext: &mut impl FnMut(u32, u32) -> u8) -> usize {
        let mut candidates = 0;
        let mut chances = 0;
        let spared = self.spared();
        while self.window_size > self.window_maximum {
            let Some(id) = self.window.head_id() else {
                break;
            };
            if id == spared {
                break;
            }
            if id != self.fresh && chances < SECOND_CHANCES && self.take_refs(id, ext) > 0 {
                chances += 1;
                self.second_chance_in_window(id);
                continue;
            }
            self.window_to_probation(id, u64::from(self.weight(id)));
            candidates += 1;
        }
        candidates
    }

    /// The window's most recent entry (the one just written, unless a hit moved another behind
    /// it), which eviction takes from the window last, even when it alone outweighs the
    /// window's share: a value just written is readable at once in a weighted cache too (an
    /// entry heavier than the window's share otherwise went straight to a duel it usually
    /// lost, so `insert(k, v)` then `get(&k)` missed). Main makes room for it instead. Not
    /// spared: an entry heavier than the whole bound, which leaves at once. With all weights 1
    /// the window's share (at least 1) holds it whenever the window is over its share; it only
    /// mattered where eviction ran out of window candidates and took the window's entries
    /// themselves as candidates: a window growing below its share, or a batch of victims
    /// chosen ahead, could have the newest entry duel, and lose, at its own insert.
    fn spared(&self) -> u32 {
        let id = self.window.tail;
        if id != NIL && u64::from(self.weight(id)) <= self.bound() {
            id
        } else {
            NIL
        }
    }

    /// Caffeine's duel: the newest candidate from the window against probation's LRU victim,
    /// falling back to protected and then the window when probation runs dry.
    pub(super) fn evict_from_main(
        &mut self,
        mut candidates: usize,
        out: &mut impl Victims,
        ext: &mut impl FnMut(u32, u32) -> u8,
    ) {
        #[derive(PartialEq)]
        enum From {
            Probation,
            Protected,
            Window,
        }
        let mut victim_queue = From::Probation;
        let mut candidate_from_window = false;
        let mut victim = self.probation.head;
        let mut candidate = self.probation.tail;
        let mut chances = 0;
        let bound = self.bound();
        let spared = self.spared();
        while self.weighted_size > bound {
            // Probation's victim was hit since it entered: promote it, as an exact SLRU would
            // have on the hit, and take the next one.
            if victim_queue == From::Probation
                && victim != NIL
                && victim != candidate
                && chances < SECOND_CHANCES
                && self.take_refs(victim, ext) > 0
            {
                chances += 1;
                let next = self.nodes[victim as usize].next;
                self.promote(victim, u64::from(self.weight(victim)));
                victim = next;
                continue;
            }
            if candidates == 0 && !candidate_from_window {
                candidate = self.window.head;
                candidate_from_window = true;
            }
            if candidate_from_window && candidate == spared {
                candidate = NIL;
            }
            if candidate == NIL && victim == NIL {
                match victim_queue {
                    From::Probation => {
                        victim = self.protected.head;
                        victim_queue = From::Protected;
                        continue;
                    }
                    From::Protected => {
                        victim = self.window.head;
                        victim_queue = From::Window;
                        continue;
                    }
                    From::Window => break,
                }
            }
            let step = |p: &Policy, id: u32, backwards: bool| {
                if backwards {
                    p.nodes[id as usize].prev
                } else {
                    p.nodes[id as usize].next
                }
            };
            let cand_backwards = candidates > 0 && !candidate_from_window;
            if victim == NIL {
                let next = step(self, candidate, cand_backwards);
                candidates = candidates.saturating_sub(1);
                self.evict_node(candidate, out);
                candidate = next;
                continue;
            }
            if candidate == NIL {
                let next = self.nodes[victim as usize].next;
                self.evict_node(victim, out);
                victim = next;
                continue;
            }
            if candidate == victim {
                let next = self.nodes[victim as usize].next;
                self.evict_node(candidate, out);
                victim = next;
                candidate = NIL;
                candidates = candidates.saturating_sub(1);
                continue;
            }
            let cw = u64::from(self.weight(candidate));
            if cw > self.maximum {
                let next = step(self, candidate, cand_backwards);
                candidates = candidates.saturating_sub(1);
                self.evict_node(candidate, out);
                candidate = next;
                continue;
            }
            candidates = candidates.saturating_sub(1);
            let (ch, vh) = (
                self.nodes[candidate as usize].hash,
                self.nodes[victim as usize].hash,
            );
            if self.admit(candidate, victim) {
                let next = self.nodes[victim as usize].next;
                let cap = self.ghost_capacity();
                self.ghosts.push(Ghost::Evicted, vh, cap);
                self.evict_node(victim, out);
                victim = next;
                candidate = step(self, candidate, true);
                if candidate_from_window {
                    candidate = NIL;
                }
            } else {
                let next = step(self, candidate, cand_backwards);
                let cap = self.ghost_capacity();
                self.ghosts.push(Ghost::Rejected, ch, cap);
                self.evict_node(candidate, out);
                candidate = next;
            }
        }
    }

    #[inline]
    pub(super) fn admit(&mut self, candidate: u32, victim: u32) -> bool {
        let epoch = self.sketch.epoch();
        let (candidate, victim) = (
            &self.nodes[candidate as usize],
            &self.nodes[victim as usize],
        );
        let returning = candidate.returning();
        // A candidate the duel turned away a moment ago and that is back already shows that
        // recency pays, but only where the ghosts have grown the window past its starting 1%
        // does the policy act on it: in frequency-bound phases such keys displaced entries
        // worth more (arc-P6 at 5% of its keys: 32.6% -> 34.3% once admission waits for the
        // window; mean of the 88 shared-trace rows 51.12-51.18% -> 51.26-51.29%).
        if returning && self.window_maximum > self.window_base {
            return true;
        }
        // The candidate's estimate is the one kept when it was last counted, a moment ago (it
        // has only crossed the window since): its sketch block is not loaded again. The
        // victim's is read afresh: an estimate kept since it entered probation misses what
        // colliding keys added since, and duelling a fresh estimate against such a stale one
        // admitted too much (mean of the 88 trace rows 51.27 -> 51.09%).
        let victim = self.sketch.frequency(u64::from(victim.hash));
        let candidate = candidate.frequency(epoch);
        if candidate > victim {
            true
        } else if candidate >= ADMIT_HASHDOS_THRESHOLD {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            self.rng & 127 == 0
        } else {
            false
        }
    }
}
