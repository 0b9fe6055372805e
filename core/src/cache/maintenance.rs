//! Maintenance, amortised on the callers (there are no background threads): replaying logged
//! writes and buffered reads into the policy, reclaiming expired entries, evicting down to the
//! bound, then settling the counts and notifying the listener once every lock is released.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::Ordering;

use parking_lot::MutexGuard;

use super::{event_with, Cache, Tally, EXPIRE_BUDGET, IDLE, PROCESSING, REPLAY_BUDGET, REQUIRED};
use crate::listener::{Pending, RemovalCause};
use crate::policy::{Event, Policy};
use crate::shard::{Shard, Stored, WriteOp};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    // ---- maintenance ------------------------------------------------------------------------

    /// Applies every buffered read and write to the policy, reclaims all expired entries and
    /// evicts down to the capacity, now. Blocks while another thread is doing maintenance. A
    /// listener that panics does not cut the upkeep short: every shard is maintained and every
    /// removal reported, then the first panic goes on to the caller.
    pub fn run_pending_tasks(&self) {
        if self.inner.segmented {
            let mut panic = None;
            for shard in self.inner.shards.iter() {
                loop {
                    let (mut tally, mut removed) = (Tally::default(), Pending::new());
                    let more = {
                        let mut s = shard.0.write();
                        self.shard_maintenance(&mut s, usize::MAX, &mut tally, &mut removed)
                    };
                    self.settle(tally);
                    if let Some(payload) = self.deliver(removed) {
                        panic.get_or_insert(payload);
                    }
                    if !more {
                        break;
                    }
                }
            }
            if let Some(payload) = panic {
                std::panic::resume_unwind(payload);
            }
            return;
        }
        self.inner.status.store(REQUIRED, Ordering::Release);
        let policy = self.inner.policy.lock();
        self.maintain(policy, usize::MAX, false);
    }

    /// Runs maintenance if no other thread is: the amortised path used by reads and writes.
    pub(super) fn try_maintenance(&self) {
        if let Some(policy) = self.inner.policy.try_lock() {
            self.maintain(policy, EXPIRE_BUDGET, true);
        }
    }

    /// Runs maintenance rounds while there is work, at most `MAX_ROUNDS` (more for an explicit
    /// run), then hands the lock back. If a writer asked for maintenance while the lock was
    /// held, it gets one more try (not more: with a writer that never stops, a reader that
    /// happened to start maintenance must not be kept doing it for as long as the writer runs).
    pub(super) fn maintain(&self, policy: MutexGuard<'_, Policy>, budget: usize, recheck: bool) {
        if let Some(payload) = self.maintain_with(policy, budget, recheck, Tally::default()) {
            std::panic::resume_unwind(payload);
        }
    }

    /// [`maintain`](Self::maintain), settling the caller's pending count changes with its own,
    /// and handing back a panic of the listener (see [`deliver`](Self::deliver)) for the
    /// caller to resume once it has reported its own removals.
    #[must_use]
    pub(super) fn maintain_with(
        &self,
        mut policy: MutexGuard<'_, Policy>,
        budget: usize,
        recheck: bool,
        mut tally: Tally,
    ) -> Option<Box<dyn std::any::Any + Send>> {
        let max_rounds = if budget == usize::MAX { 16 } else { 4 };
        let mut removed: Pending<K, V> = Pending::new();
        let mut rounds = 0;
        loop {
            self.inner.status.store(PROCESSING, Ordering::Release);
            let more = self.maintenance_round(&mut policy, budget, &mut removed, &mut tally);
            rounds += 1;
            let done = !more
                && self
                    .inner
                    .status
                    .compare_exchange(PROCESSING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok();
            if done {
                break;
            }
            if rounds >= max_rounds {
                // Leave the rest to the next caller: bounded upkeep per call.
                self.inner.status.store(REQUIRED, Ordering::Release);
                break;
            }
        }
        drop(policy);
        self.settle(tally);
        let panic = self.deliver(removed);
        if recheck && self.inner.status.load(Ordering::Acquire) == REQUIRED {
            if let Some(policy) = self.inner.policy.try_lock() {
                self.maintain(policy, budget, false);
            }
        }
        panic
    }

    /// One pass: drain reads and writes into the policy, expire, evict. Returns whether work
    /// was left over because of the budget.
    pub(super) fn maintenance_round(
        &self,
        policy: &mut Policy,
        budget: usize,
        removed: &mut Pending<K, V>,
        tally: &mut Tally,
    ) -> bool {
        // Reads first: they happened before the writes still in the logs (in one thread,
        // exactly; every write drains at once when uncontended).
        if !self.inner.lazy_hits {
            let drained = self.inner.reads.drain(|event| {
                policy.record_access((event >> 32) as u32, event as u32);
            });
            self.inner
                .counters
                .drained_hits
                .fetch_add(drained, Ordering::Relaxed);
        }
        let mut ops: Vec<(u64, usize, WriteOp)> = Vec::new();
        for (word, bits) in self.inner.dirty.iter().enumerate() {
            if bits.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut mask = bits.swap(0, Ordering::AcqRel);
            while mask != 0 {
                let idx = word * 64 + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let log = std::mem::take(&mut self.inner.shards[idx].0.write().log);
                ops.extend(log.into_iter().map(|(seq, op)| (seq, idx, op)));
            }
        }
        if !self.inner.lazy_hits {
            ops.sort_unstable_by_key(|&(seq, _, _)| seq);
        }
        if !ops.is_empty() {
            policy.enqueue(ops.into_iter().map(|(_, idx, op)| self.event(idx, op)));
        }
        let limit = if budget == usize::MAX {
            usize::MAX
        } else {
            REPLAY_BUDGET
        };
        let replayed = policy.replay_queued(limit);
        if replayed > 0 {
            self.inner
                .pending_ops
                .fetch_sub(replayed, Ordering::Relaxed);
        }

        let mut more = policy.has_queued();
        let mut victims = policy.take_victims();
        if self.expiry_on() {
            let now = self.inner.clock.now();
            more |= !policy.expired(now, budget, &mut victims);
            for v in victims.drain(..) {
                let (idx, local) = self.split_id(v.id);
                let mut s = self.inner.shards[idx].0.write();
                self.expire_or_reschedule(&mut s, local, policy, v, now, tally, removed);
            }
        }

        let mut ext = |id: u32, gen: u32| self.take_hits(id, gen);
        if policy.evict(&mut victims, &mut ext) && policy.worth_prefetching() {
            for id in policy.next_visits() {
                if id != crate::policy::NIL {
                    self.prefetch_entry(id);
                }
            }
        }
        for v in victims.drain(..) {
            let (idx, local) = self.split_id(v.id);
            let mut s = self.inner.shards[idx].0.write();
            self.evict_if_live(&mut s, local, &v, tally, removed);
        }
        policy.restore_victims(victims);
        let mut ext = |id: u32, gen: u32| self.take_hits(id, gen);
        policy.climb(&mut ext);
        more || budget == usize::MAX && !self.inner.reads.is_empty()
    }

    /// Removes the policy's size victim `v` from `shard`, where it is in slot `local`, if the
    /// slot still holds that generation (a stale decision, about an entry replaced or removed
    /// meanwhile, is dropped). The victim's hash finds its index entry: its key is not read.
    pub(super) fn evict_if_live(
        &self,
        shard: &mut Shard<K, V>,
        local: u32,
        v: &crate::policy::Victim,
        tally: &mut Tally,
        removed: &mut Pending<K, V>,
    ) {
        if shard.live_at(local, v.gen).is_some() {
            let hash = crate::key_hash::from_policy_hash(v.hash);
            let (e, weight) = shard.remove_at(hash, local);
            tally.evicted(weight);
            removed.push((e.key, e.value, RemovalCause::Size));
        }
    }

    /// An entry the timer wheel says is due: removed if its deadline has passed, else (a read
    /// extended it since) rescheduled. `local` is its slot in `shard`, `v` as the policy knows
    /// it; the caller holds both.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn expire_or_reschedule(
        &self,
        shard: &mut Shard<K, V>,
        local: u32,
        policy: &mut Policy,
        v: crate::policy::Victim,
        now: u64,
        tally: &mut Tally,
        removed: &mut Pending<K, V>,
    ) {
        if shard.live_at(local, v.gen).is_none() {
            return;
        }
        let deadline = shard.deadline(local);
        if deadline <= now {
            let hash = crate::key_hash::from_policy_hash(v.hash);
            let (e, weight) = shard.remove_at(hash, local);
            policy.record_remove(v.id, v.gen);
            tally.evicted(weight);
            removed.push((e.key, e.value, RemovalCause::Expired));
        } else {
            policy.set_deadline(v.id, v.gen, deadline);
        }
    }

    /// A segmented cache's upkeep of one shard, under its write lock: reclaims expired entries
    /// (at most `budget`), then evicts down to the shard's share. The shard's policy has seen
    /// every write already (`log_op` applies them at once), so there is nothing to replay and
    /// no other lock to take. Returns whether expired entries were left for later.
    pub(super) fn shard_maintenance(
        &self,
        shard: &mut Shard<K, V>,
        budget: usize,
        tally: &mut Tally,
        removed: &mut Pending<K, V>,
    ) -> bool {
        let Some(mut policy) = shard.policy.take() else {
            return false;
        };
        let mut victims = policy.take_victims();
        let mut more = false;
        if self.expiry_on() {
            let now = self.inner.clock.now();
            more = !policy.expired(now, budget, &mut victims);
            for v in victims.drain(..) {
                self.expire_or_reschedule(shard, v.id, &mut policy, v, now, tally, removed);
            }
        }
        policy.evict(&mut victims, &mut |id, gen| {
            shard.live_at(id, gen).map_or(0, Stored::take_hits)
        });
        for v in victims.drain(..) {
            self.evict_if_live(shard, v.id, &v, tally, removed);
        }
        policy.restore_victims(victims);
        policy.climb(&mut |id, gen| shard.live_at(id, gen).map_or(0, Stored::take_hits));
        if policy.worth_prefetching() {
            // The next eviction reads the victim's and the candidate's hit counters.
            for id in policy.next_visits() {
                crate::prefetch::prefetch(&shard.slots, id as usize);
            }
        }
        shard.policy = Some(policy);
        more
    }

    /// Starts loading an entry the policy will soon visit (see `Policy::prefetch_next_visits`).
    /// Through the shard's last known slot address rather than its lock: the lock's atomic
    /// operations would cost about as much as the prefetch saves.
    pub(super) fn prefetch_entry(&self, id: u32) {
        let (idx, local) = self.split_id(id);
        let base = self.inner.slot_bases[idx].load(Ordering::Relaxed);
        if base != 0 {
            let offset = local as usize * std::mem::size_of::<crate::shard::Slot<K, V>>();
            crate::prefetch::prefetch_address(base.wrapping_add(offset));
        }
    }

    /// The hits readers counted in an entry since the policy last visited it.
    pub(super) fn take_hits(&self, id: u32, gen: u32) -> u8 {
        let (idx, local) = self.split_id(id);
        let s = self.inner.shards[idx].0.read();
        s.live_at(local, gen).map_or(0, Stored::take_hits)
    }

    /// A shard's logged write as the global policy sees it (global slot ids).
    pub(super) fn event(&self, idx: usize, op: WriteOp) -> Event {
        event_with(op, |local| self.global_id(idx, local))
    }

    /// Applies count changes gathered during a write or a maintenance run, one shared update
    /// per counter that changed.
    pub(super) fn settle(&self, tally: Tally) {
        let i = &self.inner;
        let entries = tally.entries - tally.evictions as i64;
        let weight = tally.weight - tally.evicted_weight as i64;
        if entries > 0 {
            i.entry_count.fetch_add(entries as u64, Ordering::Relaxed);
        } else if entries < 0 {
            i.entry_count
                .fetch_sub(entries.unsigned_abs(), Ordering::Relaxed);
        }
        if weight > 0 {
            i.weighted_size.fetch_add(weight as u64, Ordering::Relaxed);
        } else if weight < 0 {
            i.weighted_size
                .fetch_sub(weight.unsigned_abs(), Ordering::Relaxed);
        }
        if tally.evictions > 0 {
            self.record_evictions(tally.evictions, tally.evicted_weight);
        }
    }

    pub(super) fn record_evictions(&self, count: u64, weight: u64) {
        self.inner.reads.counting().evictions(count, weight);
    }

    pub(super) fn notify_one(&self, key: K, value: V, cause: RemovalCause) {
        if let Some(l) = &self.inner.config.listener {
            l(key, value, cause);
        }
    }

    /// Tells the listener about each removal. A listener that panics on one still hears of
    /// every other (each removal is reported, whatever the listener does with the one before),
    /// and the first panic goes on to the caller once all have been delivered.
    pub(crate) fn notify(&self, removed: impl IntoIterator<Item = (K, V, RemovalCause)>) {
        if let Some(payload) = self.deliver(removed) {
            std::panic::resume_unwind(payload);
        }
    }

    /// [`notify`](Self::notify) that hands back the listener's first panic instead of resuming
    /// it, for callers with more to do (and to report) before they fail.
    #[inline]
    pub(crate) fn deliver(
        &self,
        removed: impl IntoIterator<Item = (K, V, RemovalCause)>,
    ) -> Option<Box<dyn std::any::Any + Send>> {
        // Without a listener there is nothing to tell: the removals are dropped here.
        self.inner.config.listener.as_ref()?;
        self.deliver_to_listener(removed)
    }

    #[inline(never)]
    fn deliver_to_listener(
        &self,
        removed: impl IntoIterator<Item = (K, V, RemovalCause)>,
    ) -> Option<Box<dyn std::any::Any + Send>> {
        let l = self.inner.config.listener.as_ref()?;
        let mut panic = None;
        for (k, v, c) in removed {
            let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l(k, v, c)));
            if let Err(payload) = delivered {
                panic.get_or_insert(payload);
            }
        }
        panic
    }
}
