//! The write path: an insert or replacement in its shard, handed to the policy at once when the
//! writer can take it (or the shard has a policy of its own) and logged for the next
//! maintenance otherwise, then the listener, outside every lock.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use parking_lot::MutexGuard;

use super::{event_with, Cache, DeadlineChoice, Tally, BACKLOG_LIMIT, EXPIRE_BUDGET, REQUIRED};
use crate::clock::deadline_after;
use crate::expiry::remaining;
use crate::listener::{Pending, RemovalCause};
use crate::loader::LoadSlot;
use crate::policy::Policy;
use crate::shard::{Shard, Stored, WriteOp};

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// Inserts or replaces the value for `key`. A replaced value is reported to the listener
    /// as [`RemovalCause::Replaced`]. A load of `key` in flight (`get_with` and the like) will
    /// not overwrite this value: its callers get what they loaded, the cache keeps this.
    pub fn insert(&self, key: K, value: V) {
        let choice = self.expiry_choice(&key, &value);
        self.write(key, value, choice);
    }

    /// Inserts with a time-to-live of its own, overriding the cache-wide expiry for this entry.
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        let deadline = self.own_deadline_after(ttl);
        self.write(key, value, DeadlineChoice::Own(deadline));
    }

    /// The deadline `ttl` from now, switching expiry on for good.
    pub(crate) fn own_deadline_after(&self, ttl: Duration) -> u64 {
        self.inner.expiry_on.store(true, Ordering::Relaxed);
        deadline_after(self.inner.clock.now(), ttl)
    }

    /// Asks the user's `Expiry` (outside every lock) what deadline a write should set.
    #[inline]
    pub(crate) fn expiry_choice(&self, key: &K, value: &V) -> DeadlineChoice {
        let Some(exp) = &self.inner.config.custom_expiry else {
            return DeadlineChoice::Shared;
        };
        let now = self.inner.clock.now();
        let at = self.inner.clock.instant_at(now);
        let hash = self.hash(key);
        let current = {
            let shard = self.shard(hash).read();
            shard
                .find(hash, key)
                .map(|l| shard.deadline(l))
                .filter(|&d| d > now)
        };
        match current {
            None => match exp.expire_after_create(key, value, at) {
                Some(d) => DeadlineChoice::Own(deadline_after(now, d)),
                None => DeadlineChoice::Shared,
            },
            Some(deadline) => {
                match exp.expire_after_update(key, value, at, remaining(deadline, now)) {
                    Some(d) => DeadlineChoice::Own(deadline_after(now, d)),
                    None => DeadlineChoice::Keep,
                }
            }
        }
    }

    pub(super) fn weigh(&self, key: &K, value: &V) -> u32 {
        match &self.inner.config.weigher {
            Some(w) => w(key, value),
            None => 1,
        }
    }

    /// The one write path: insert or replace, log it for the policy, notify, maybe maintain.
    pub(crate) fn write(&self, key: K, value: V, choice: DeadlineChoice) {
        self.write_from(key, value, choice, None);
    }

    /// [`write`](Self::write), for a load's own result when `load` is its slot: then nothing
    /// is written if the key was written or explicitly removed while it loaded (see
    /// `LoadSlot::supersede`). Any other write marks such a load as superseded. Returns
    /// whether it wrote.
    pub(crate) fn write_from(
        &self,
        key: K,
        value: V,
        choice: DeadlineChoice,
        load: Option<&LoadSlot<K, V>>,
    ) -> bool {
        let weight = self.weigh(&key, &value);
        let now = self.now();
        let hash = self.hash(&key);
        let idx = self.shard_index(hash);
        let cfg = &self.inner.config;
        let shared = || cfg.expiry.shared_deadline(now, now);
        let mut notify: Option<(K, V, RemovalCause)> = None;
        let mut weight_delta: i64 = i64::from(weight);
        // Take the policy before the shard when it is free: the new key's sketch and ghost
        // blocks then load while the map is probed (see `log_or_apply`).
        let mut policy = self.policy_for_direct_apply();
        if let Some(p) = &policy {
            p.prefetch_add(hash);
        }
        let direct;
        let mut tally = Tally::default();
        let mut removed: Pending<K, V> = Pending::new();
        {
            let mut shard = self.inner.shards[idx].0.write();
            if let Some(p) = &shard.policy {
                p.prefetch_add(hash);
            }
            match load {
                None => shard.supersede_load(hash, &key),
                Some(slot) if slot.superseded() => {
                    drop(shard);
                    // Nothing to write; a policy taken for this write still does its upkeep.
                    if let Some(policy) = policy {
                        self.maintain(policy, EXPIRE_BUDGET, true);
                    }
                    return false;
                }
                Some(_) => {}
            }
            if let Some(local) = shard.find(hash, &key) {
                let current = shard.deadline(local);
                weight_delta -= i64::from(shard.weight(local));
                shard.set_weight(local, weight);
                let e = shard.stored_mut(local);
                let gen = e.gen;
                let expired = self.expiry_on() && current <= now;
                let (deadline, own) = match choice {
                    DeadlineChoice::Shared => (shared(), false),
                    DeadlineChoice::Own(d) => (d, true),
                    // An entry that follows the cache-wide rules goes on following them: a write
                    // restarts its time-to-live, as it would in a cache without an `Expiry`.
                    DeadlineChoice::Keep if expired || !e.own_deadline => (shared(), false),
                    DeadlineChoice::Keep => (current, true),
                };
                let old = std::mem::replace(&mut e.value, value);
                e.own_deadline = own;
                shard.set_times(local, deadline, now);
                let cause = if expired {
                    RemovalCause::Expired
                } else {
                    RemovalCause::Replaced
                };
                direct = self.log_or_apply(
                    &mut shard,
                    idx,
                    policy.take(),
                    WriteOp::Update {
                        local,
                        gen,
                        weight,
                        deadline,
                    },
                );
                notify = Some((key, old, cause));
            } else {
                let (deadline, own) = match choice {
                    DeadlineChoice::Own(d) => (d, true),
                    _ => (shared(), false),
                };
                let stored = Stored {
                    key,
                    value,
                    gen: 0,
                    own_deadline: own,
                    hits: AtomicU8::new(0),
                };
                let (local, gen) = shard.insert_new(&self.inner.hasher, hash, stored, weight);
                if !self.inner.segmented {
                    // Only the global policy prefetches through it (see `prefetch_entry`).
                    let base = shard.slots.as_ptr() as usize;
                    if self.inner.slot_bases[idx].load(Ordering::Relaxed) != base {
                        self.inner.slot_bases[idx].store(base, Ordering::Relaxed);
                    }
                }
                shard.set_times(local, deadline, now);
                direct = if let Some(p) = shard.policy.as_deref_mut() {
                    // The common insert of a segmented cache, straight to its shard's policy
                    // (what `log_op` does, without building the write and the event).
                    p.record_add(local, gen, hash, weight, deadline);
                    None
                } else {
                    self.log_or_apply(
                        &mut shard,
                        idx,
                        policy.take(),
                        WriteOp::Add {
                            local,
                            gen,
                            hash,
                            weight,
                            deadline,
                        },
                    )
                };
            }
            if self.inner.segmented {
                self.shard_maintenance(&mut shard, EXPIRE_BUDGET, &mut tally, &mut removed);
            }
        }
        tally.entries += i64::from(notify.is_none());
        tally.weight += weight_delta;
        // Maintenance (if this write holds the policy) before the listener: no user code runs
        // under the policy lock. It settles the counts with the evictions it makes, so a full
        // cache's insert and its eviction cost no shared counter update at all.
        let applied = direct.is_some();
        let mut panic = match direct {
            Some(policy) => self.maintain_with(policy, EXPIRE_BUDGET, true, tally),
            None => {
                self.settle(tally);
                None
            }
        };
        // Every removal is reported even if the listener panics on one (see `deliver`).
        if let Some(p) = self.deliver(removed) {
            panic.get_or_insert(p);
        }
        if let Some((k, v, cause)) = notify {
            if cause == RemovalCause::Expired {
                self.record_evictions(1, 0);
            }
            if let Some(p) = self.deliver(std::iter::once((k, v, cause))) {
                panic.get_or_insert(p);
            }
        }
        // A segmented cache's shard has maintained already: no call (`after_write` would return).
        if !applied && !self.inner.segmented {
            self.after_write();
        }
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        true
    }

    /// The policy, if this write may hand its change over directly: TinyLFU only (LRU must
    /// first apply the hits queued before the write) and no other thread holding it. Taking it
    /// before a shard lock is safe: a thread that holds a shard never waits for the policy (it
    /// only tries), and maintenance, which holds the policy, takes shard locks in the same
    /// order. Writes other threads logged meanwhile do not stop it (see `log_or_apply`): under
    /// contention the thread that holds the policy keeps applying its own writes directly and
    /// replays the others' logs after them, instead of every write taking the logged path.
    pub(super) fn policy_for_direct_apply(&self) -> Option<MutexGuard<'_, Policy>> {
        if self.inner.lazy_hits && !self.inner.segmented {
            self.inner.policy.try_lock()
        } else {
            None
        }
    }

    /// Hands a write to the policy at once if the caller holds it and nothing written before
    /// it to the same shard is still waiting for replay, otherwise logs it; returns the policy
    /// (if held) so the caller maintains after letting go of the shard.
    pub(super) fn log_or_apply<'a>(
        &'a self,
        shard: &mut Shard<K, V>,
        idx: usize,
        policy: Option<MutexGuard<'a, Policy>>,
        op: WriteOp,
    ) -> Option<MutexGuard<'a, Policy>> {
        if let Some(mut policy) = policy {
            // Writes to one key go through one shard, so the policy must see this shard's
            // logged writes (and any it queued) before this one; writes logged in other
            // shards are to other keys, and TinyLFU does not depend on their order.
            if shard.log.is_empty() && !policy.has_queued() {
                policy.apply(self.event(idx, op));
            } else {
                self.log_op(shard, idx, op);
            }
            return Some(policy);
        }
        self.log_op(shard, idx, op);
        None
    }

    /// Appends a write to its shard's log with a global sequence number, so the policy replays
    /// writes of all shards in the order they happened (LRU order depends on it).
    pub(super) fn log_op(&self, shard: &mut Shard<K, V>, idx: usize, op: WriteOp) {
        if let Some(policy) = shard.policy.as_deref_mut() {
            // Segmented: the shard's policy sees the write now, under the lock the writer holds.
            policy.apply(event_with(op, |local| local));
            return;
        }
        // Only exact LRU needs the global order of writes; TinyLFU needs each shard's order,
        // which its log keeps, and skips a counter every writer would contend on.
        let seq = if self.inner.lazy_hits {
            0
        } else {
            self.inner.write_seq.fetch_add(1, Ordering::Relaxed)
        };
        if shard.log.is_empty() {
            self.inner.dirty[idx / 64].fetch_or(1 << (idx % 64), Ordering::Release);
        }
        shard.log.push((seq, op));
        self.inner.pending_ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Every write asks for maintenance. Uncontended, it runs at once, so the policy is exact
    /// and the bound holds when the write returns; contended, the thread already maintaining
    /// picks the write up before it lets go (the drain status says so).
    pub(super) fn after_write(&self) {
        if self.inner.segmented {
            // The write's shard has already applied it and evicted what it had to.
            return;
        }
        self.inner.status.store(REQUIRED, Ordering::Release);
        if self.inner.pending_ops.load(Ordering::Relaxed) > BACKLOG_LIMIT {
            let policy = self.inner.policy.lock();
            self.maintain(policy, EXPIRE_BUDGET, false);
        } else {
            self.try_maintenance();
        }
    }
}
