//! The concurrent cache: sharded map, buffered policy, amortised maintenance.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock, RwLockReadGuard};

use crate::builder::{CacheBuilder, Config};
use crate::clock::{deadline_after, Clock};
use crate::expiry::remaining;
use crate::listener::{Pending, RemovalCause};
use crate::policy::{Event, Policy};
use crate::read_buffer::{Offer, Padded, ReadBuffer};
use crate::shard::{Shard, WriteOp};
use crate::stats::{CacheStats, GlobalCounters};
use crate::RandomState;

mod maintenance;
mod write;

/// Expired entries reclaimed per amortised maintenance run (explicit runs have no cap): keeps
/// any single call's upkeep bounded however many entries expire at once.
const EXPIRE_BUDGET: usize = 1024;
/// Writes replayed into the policy per amortised maintenance round, for the same reason.
const REPLAY_BUDGET: usize = 1024;
/// Writes waiting for the policy beyond which a writer waits for the policy lock and helps,
/// instead of only logging: a writer faster than maintenance must not grow the backlog (and
/// the map past its bound) without limit.
const BACKLOG_LIMIT: usize = 16 * 1024;
/// Attempts a reader makes at a shard's lock before it queues (see `read_shard`). On 16 cores
/// (15 readers, one writer, TTL on) `get`'s p99.9 went from 30-31 us without spinning to 27-29
/// with 64 tries, 11-13 with 512 and 9-12 with 2,048; 512 keeps a reader whose writer was
/// descheduled from burning more than some tens of microseconds before it sleeps.
const READ_TRIES: usize = 512;

/// Entries per shard from which each shard gets its own share of the policy, so that a write
/// no longer crosses into a global policy lock or a second shard's lock to evict. Replayed on
/// the 22 shared traces with the shard counts of 16 CPUs, shares of at least 1,024 kept the
/// mean hit ratio (51.25-51.27% for 1,024, 2,048 and 4,096: the small traces' sketch seeds move
/// it more); summed over the 39 rows of at least 2,048 entries, the ones split, they cost 0.40
/// points against 4,096 (worst row -0.52), 512 cost 1.04 and 256 cost 3.14. On a 16-core Xeon a
/// 100k cache split into 64 shares instead of 16 did 1.7x the Zipf get/insert and 1.9x the
/// inserts at 16 threads, and `get`'s p99.9 under a writer fell from 13-14 us to 7.3.
const MIN_SEGMENT: u64 = 1024;
/// Above this a cache is effectively unbounded: one global policy, whose sketch is capped.
const MAX_SEGMENTED_CAPACITY: u64 = 1 << 32;

/// Shards when the builder names no count: 4 per CPU, but fewer (down to one per CPU) when that
/// lets a bounded TinyLFU cache's shares reach [`MIN_SEGMENT`]; shares too small for policies
/// of their own would queue every write on one global policy lock. Never fewer than one per
/// CPU: every read takes its shard's lock word (two atomic operations), and fewer words than
/// threads would make readers fight over them; a cache too small for that keeps the global
/// policy.
fn default_shards(cpus: usize, segmentable: bool, max_capacity: u64) -> usize {
    let per_cpu = (cpus * 4).next_power_of_two();
    let segments = max_capacity / MIN_SEGMENT;
    if segmentable && segments >= 2 && (per_cpu as u64) > segments {
        // The largest power of two whose shares still reach MIN_SEGMENT, but one per CPU at
        // least.
        (1usize << segments.ilog2()).max(cpus.next_power_of_two())
    } else {
        per_cpu
    }
}
/// From this capacity the shards' policies together outgrow the CPU caches: each prefetches
/// (see `Policy::worth_prefetching`) although its own share is small.
const PREFETCH_FROM_CAPACITY: u64 = 32 * 1024;

/// A shard's read lock for `get`, spinning while a writer holds it or waits for it instead of
/// parking: parking_lot's reader gives up after a few microseconds and sleeps, and waking takes
/// the scheduler tens of microseconds, while a write (with its eviction, under the shard's
/// lock when the shard has its own policy) holds a shard for about one.
#[inline]
fn read_shard<K, V>(lock: &RwLock<Shard<K, V>>) -> RwLockReadGuard<'_, Shard<K, V>> {
    if let Some(guard) = lock.try_read() {
        return guard;
    }
    read_shard_slow(lock)
}

#[inline(never)]
fn read_shard_slow<K, V>(lock: &RwLock<Shard<K, V>>) -> RwLockReadGuard<'_, Shard<K, V>> {
    for _ in 0..READ_TRIES {
        std::hint::spin_loop();
        if let Some(guard) = lock.try_read() {
            return guard;
        }
    }
    lock.read()
}

const IDLE: u8 = 0;
const REQUIRED: u8 = 1;
const PROCESSING: u8 = 2;

/// A thread-safe, bounded, in-memory cache.
///
/// Cloning is cheap (a reference count) and every clone is the same cache. Reads take only a
/// shard's shared lock and record the hit in a striped buffer; the eviction policy catches up
/// in batches, run by the callers themselves (there are no background threads), each run
/// bounded in the work it does. See the [crate documentation](crate) for examples.
pub struct Cache<K, V, S = RandomState> {
    pub(crate) inner: Arc<Inner<K, V, S>>,
}

impl<K, V, S> Clone for Cache<K, V, S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V, S> std::fmt::Debug for Cache<K, V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field(
                "entry_count",
                &self.inner.entry_count.load(Ordering::Relaxed),
            )
            .field(
                "weighted_size",
                &self.inner.weighted_size.load(Ordering::Relaxed),
            )
            .field("max_capacity", &self.inner.config.max_capacity)
            .finish()
    }
}

/// A shard behind its lock, alone on its cache lines.
pub(crate) type PaddedShard<K, V> = Padded<RwLock<Shard<K, V>>>;

pub(crate) struct Inner<K, V, S> {
    pub(crate) shards: Box<[PaddedShard<K, V>]>,
    /// Where each shard's slots were last seen, so maintenance can prefetch an entry without
    /// taking the shard's lock (see `prefetch_entry`).
    slot_bases: Box<[AtomicUsize]>,
    shard_bits: u32,
    /// `shards.len() - 1`, kept so that picking a shard is one `and`.
    shard_mask: usize,
    pub(crate) hasher: S,
    policy: Mutex<Policy>,
    status: AtomicU8,
    reads: ReadBuffer,
    write_seq: AtomicU64,
    /// Writes logged but not yet replayed into the policy.
    pending_ops: AtomicUsize,
    /// The shard `pop_coldest` looks at first, in a segmented cache (taken in turn).
    pop_cursor: AtomicUsize,
    /// One bit per shard with a non-empty write log (at most 256 shards).
    dirty: [AtomicU64; 4],
    entry_count: AtomicU64,
    weighted_size: AtomicU64,
    /// Whether deadlines exist at all; switched on for good by the first `insert_with_ttl`
    /// so caches without expiry never read the clock on a hit.
    expiry_on: AtomicBool,
    /// Hits are counted in the entry (TinyLFU) rather than queued in the read buffer (LRU,
    /// whose order must be exact).
    lazy_hits: bool,
    /// Reads need nothing but the lookup and the hit counts: lazy hits, no refresh, no custom
    /// expiry (and, checked on each read since it can turn on later, no deadlines).
    plain_reads: bool,
    /// Hits and misses are counted for `stats()` (see `CacheBuilder::record_stats`).
    record_stats: bool,
    /// Each shard has its own share of the policy (see `from_config`); the global policy is
    /// then unused.
    segmented: bool,
    pub(crate) config: Config<K, V>,
    pub(crate) clock: Clock,
    pub(crate) counters: GlobalCounters,
}

/// How the deadline of a written entry is chosen.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DeadlineChoice {
    /// The cache-wide time-to-live / time-to-idle.
    Shared,
    /// The entry's own deadline, in ticks.
    Own(u64),
    /// Whatever the existing entry has (a new entry gets the shared one).
    Keep,
}

impl<K, V> Cache<K, V, RandomState>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache holding at most `max_capacity` entries, with every other setting at its default.
    pub fn new(max_capacity: u64) -> Self {
        Self::builder().max_capacity(max_capacity).build()
    }

    /// Starts configuring a cache.
    pub fn builder() -> CacheBuilder<K, V, RandomState> {
        CacheBuilder::default()
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    pub(crate) fn from_config(config: Config<K, V>, hasher: S, clock: Clock) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let shard_count = config
            .shards
            .unwrap_or_else(|| {
                let segmentable = config.policy == crate::EvictionPolicy::TinyLfu
                    && config.weigher.is_none()
                    && config.max_capacity <= MAX_SEGMENTED_CAPACITY;
                default_shards(cpus, segmentable, config.max_capacity)
            })
            .next_power_of_two()
            .clamp(1, 256);
        let now = clock.now();
        // One shard holds the whole policy whatever its size or weights: nothing is split.
        let segmented = config.policy == crate::EvictionPolicy::TinyLfu
            && config.max_capacity <= MAX_SEGMENTED_CAPACITY
            && (shard_count == 1
                || config.weigher.is_none()
                    && config.max_capacity / shard_count as u64 >= MIN_SEGMENT);
        let policy = Policy::new(
            config.policy,
            if segmented { 0 } else { config.max_capacity },
            config.weigher.is_some(),
            now,
        );
        let shards = shard_count as u64;
        Self {
            inner: Arc::new(Inner {
                shards: (0..shards)
                    .map(|i| {
                        let mut shard = Shard::default();
                        if segmented {
                            let share = config.max_capacity / shards
                                + u64::from(i < config.max_capacity % shards);
                            let mut policy =
                                Policy::new(config.policy, share, config.weigher.is_some(), now);
                            if config.max_capacity >= PREFETCH_FROM_CAPACITY {
                                policy.prefetch_always();
                            }
                            // It sees every change of its shard in order, under its lock.
                            policy.forget_generations();
                            shard.policy = Some(Box::new(policy));
                        }
                        Padded(RwLock::new(shard))
                    })
                    .collect(),
                slot_bases: (0..shard_count).map(|_| AtomicUsize::new(0)).collect(),
                shard_bits: shard_count.trailing_zeros(),
                shard_mask: shard_count - 1,
                hasher,
                policy: Mutex::new(policy),
                status: AtomicU8::new(IDLE),
                reads: ReadBuffer::new(),
                write_seq: AtomicU64::new(0),
                pending_ops: AtomicUsize::new(0),
                pop_cursor: AtomicUsize::new(0),
                dirty: Default::default(),
                entry_count: AtomicU64::new(0),
                weighted_size: AtomicU64::new(0),
                expiry_on: AtomicBool::new(config.expiry.enabled),
                lazy_hits: config.policy == crate::EvictionPolicy::TinyLfu,
                record_stats: config.record_stats,
                plain_reads: config.policy == crate::EvictionPolicy::TinyLfu
                    && config.refresh_after.is_none()
                    && config.custom_expiry.is_none(),
                segmented,
                config,
                clock,
                counters: GlobalCounters::default(),
            }),
        }
    }

    // ---- addressing -------------------------------------------------------------------------

    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        crate::key_hash::map_hash(&self.inner.hasher, key)
    }

    #[inline]
    pub(crate) fn shard_index(&self, hash: u64) -> usize {
        ((hash >> 48) as usize) & self.inner.shard_mask
    }

    #[inline]
    pub(crate) fn shard(&self, hash: u64) -> &RwLock<Shard<K, V>> {
        &self.inner.shards[self.shard_index(hash)].0
    }

    #[inline]
    fn global_id(&self, shard: usize, local: u32) -> u32 {
        (local << self.inner.shard_bits) | shard as u32
    }

    #[inline]
    fn split_id(&self, id: u32) -> (usize, u32) {
        let bits = self.inner.shard_bits;
        ((id & ((1u32 << bits) - 1)) as usize, id >> bits)
    }

    #[inline]
    pub(crate) fn expiry_on(&self) -> bool {
        self.inner.expiry_on.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn now(&self) -> u64 {
        if self.expiry_on() || self.inner.config.refresh_after.is_some() {
            self.inner.clock.now()
        } else {
            0
        }
    }

    // ---- reads ------------------------------------------------------------------------------

    /// The value for `key` if present and not expired. Counts as a use for the eviction policy
    /// and for time-to-idle.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.inner.plain_reads && !self.expiry_on() {
            return self.get_plain(key);
        }
        self.get_full(key)
    }

    /// `get` with deadlines, refresh or custom expiry, kept out of line: inlined, its register
    /// needs gave every plain hit a prologue and epilogue of a dozen pushes and pops (16 of
    /// its ~100 instructions).
    #[inline(never)]
    fn get_full<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_inner(key, true).map(|(v, _)| v)
    }

    /// [`get_inner`](Self::get_inner) for the common cache (see `plain_reads`) without the
    /// branches for deadlines, refresh and custom expiry: a hit is the lookup, the entry's hit
    /// counter, the clone and the stats count (about a fifth fewer instructions).
    #[inline]
    fn get_plain<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = read_shard(self.shard(hash));
        let Some(e) = shard.find_stored(hash, key) else {
            drop(shard);
            self.record_miss();
            return None;
        };
        e.record_hit();
        let value = e.value.clone();
        drop(shard);
        self.count_hit();
        Some(value)
    }

    /// Reads `key`, recording the hit (or miss) when `record` is set. Returns the value and
    /// when it was written (ticks), for refresh decisions.
    pub(crate) fn get_inner<Q>(&self, key: &Q, record: bool) -> Option<(V, u64)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let idx = self.shard_index(hash);
        let shard = read_shard(&self.inner.shards[idx].0);
        let Some(local) = shard.find(hash, key) else {
            drop(shard);
            if record {
                self.record_miss();
            }
            return None;
        };
        let e = shard.stored(local);
        let gen = e.gen;
        let cfg = &self.inner.config;
        let mut now = 0;
        if self.expiry_on() || cfg.refresh_after.is_some() {
            now = self.inner.clock.now();
            if shard.deadline(local) <= now {
                drop(shard);
                if record {
                    self.record_miss();
                }
                return None;
            }
            if record && !e.own_deadline && cfg.expiry.tti.is_some() {
                if let Some(t) = shard.times_at(local) {
                    t.deadline.store(
                        cfg.expiry.shared_deadline(t.written, now),
                        Ordering::Relaxed,
                    );
                }
            }
        }
        let lazy = record && self.inner.lazy_hits;
        if lazy {
            e.record_hit();
        }
        let value = e.value.clone();
        let written = shard.written(local);
        let custom_read = record && cfg.custom_expiry.is_some();
        let key_for_expiry =
            custom_read.then(|| (e.key.clone(), shard.deadline(local), e.own_deadline));
        drop(shard);
        if record {
            if let Some((k, deadline, own)) = key_for_expiry {
                self.apply_read_expiry(idx, local, gen, &k, &value, now, deadline, own);
            }
            if lazy {
                self.count_hit();
            } else {
                self.record_hit(self.global_id(idx, local), gen);
            }
        }
        Some((value, written))
    }

    /// Runs the user's `expire_after_read` outside every lock, then stores the new deadline if
    /// the entry is still the same one. A deadline set this way is the entry's own: the
    /// cache-wide time-to-idle no longer moves it.
    #[allow(clippy::too_many_arguments)]
    fn apply_read_expiry(
        &self,
        idx: usize,
        local: u32,
        gen: u32,
        key: &K,
        value: &V,
        now: u64,
        deadline: u64,
        own: bool,
    ) {
        let Some(exp) = &self.inner.config.custom_expiry else {
            return;
        };
        let at = self.inner.clock.instant_at(now);
        if let Some(d) = exp.expire_after_read(key, value, at, remaining(deadline, now)) {
            let new = deadline_after(now, d);
            if new >= deadline && own {
                // Later (or the same): the timer wheel fires at the old deadline, and
                // maintenance then finds the new one and reschedules.
                let shard = self.inner.shards[idx].0.read();
                if shard.live_at(local, gen).is_some() {
                    if let Some(t) = shard.times_at(local) {
                        t.deadline.store(new, Ordering::Relaxed);
                    }
                }
                return;
            }
            // Earlier, or a first deadline: the policy must learn of it, or maintenance would
            // not reclaim the entry when it expires (it stayed counted, unreported, until
            // evicted for size). That takes the write lock, as every write to the policy does,
            // and so does marking the deadline as the entry's own (once per entry).
            let mut shard = self.inner.shards[idx].0.write();
            if shard.live_at(local, gen).is_none() {
                return;
            }
            let written = shard.written(local);
            shard.set_times(local, new, written);
            shard.stored_mut(local).own_deadline = true;
            self.log_op(
                &mut shard,
                idx,
                WriteOp::Reschedule {
                    local,
                    gen,
                    deadline: new,
                },
            );
            drop(shard);
            // Like any write: the cache-wide policy replays its log now (or the thread already
            // maintaining it does), instead of when some later call happens to.
            self.after_write();
        }
    }

    /// The value for `key` without counting it as a use: no effect on eviction order, time-to-idle
    /// or statistics.
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_inner(key, false).map(|(v, _)| v)
    }

    /// Whether `key` is present and not expired, without counting it as a use.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash).read();
        let Some(local) = shard.find(hash, key) else {
            return false;
        };
        !self.expiry_on() || shard.deadline(local) > self.inner.clock.now()
    }

    /// Remaining time to live of `key`'s entry: `None` if absent or expired, `Some(None)` if it
    /// never expires.
    pub fn remaining_ttl<Q>(&self, key: &Q) -> Option<Option<Duration>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash).read();
        let local = shard.find(hash, key)?;
        let deadline = shard.deadline(local);
        let now = self.inner.clock.now();
        if deadline <= now {
            return None;
        }
        Some(remaining(deadline, now))
    }

    /// Counts a hit in the stats (the policy learns of it through the entry's counter).
    #[inline]
    fn count_hit(&self) {
        if self.inner.record_stats {
            self.inner.reads.counting().hit();
        }
    }

    #[inline]
    fn record_miss(&self) {
        if self.inner.record_stats {
            self.inner.reads.counting().miss();
        }
    }

    #[inline]
    pub(crate) fn record_hit(&self, id: u32, gen: u32) {
        let stripe = self.inner.reads.stripe();
        let event = (u64::from(id) << 32) | u64::from(gen);
        let mut offer = stripe.offer(event);
        if offer == Offer::Full {
            self.try_maintenance();
            offer = stripe.offer(event);
        }
        if offer != Offer::Added && self.inner.record_stats {
            self.inner.reads.counting().hit();
        }
    }

    /// Removes `key` and returns its value if it was present and not expired. The removal is
    /// reported to the listener as [`RemovalCause::Explicit`] (or `Expired` if it had expired).
    /// A load of `key` in flight (`get_with` and the like) will not store its value: it may
    /// have read what the caller is removing the key for.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let idx = self.shard_index(hash);
        let stored = {
            let mut shard = self.inner.shards[idx].0.write();
            shard.supersede_load(hash, key);
            let local = shard.find(hash, key)?;
            let deadline = shard.deadline(local);
            let (stored, weight) = shard.remove_at(hash, local);
            let gen = stored.gen;
            self.log_op(&mut *shard, idx, WriteOp::Remove { local, gen });
            (stored, weight, deadline)
        };
        let (stored, weight, deadline) = stored;
        self.inner.entry_count.fetch_sub(1, Ordering::Relaxed);
        self.inner
            .weighted_size
            .fetch_sub(u64::from(weight), Ordering::Relaxed);
        let expired = self.expiry_on() && deadline <= self.inner.clock.now();
        let out = (!expired).then(|| stored.value.clone());
        let cause = if expired {
            self.record_evictions(1, u64::from(weight));
            RemovalCause::Expired
        } else {
            RemovalCause::Explicit
        };
        self.notify_one(stored.key, stored.value, cause);
        self.after_write();
        out
    }

    /// Removes `key` if present (see [`remove`](Self::remove)), discarding the value.
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _ = self.remove(key);
    }

    /// Removes every entry, reporting each as [`RemovalCause::Explicit`] (expired ones as
    /// `Expired`). Loads in flight will not store their values.
    pub fn invalidate_all(&self) {
        let now = self.inner.clock.now();
        let mut panic = None;
        for (idx, shard) in self.inner.shards.iter().enumerate() {
            let drained = {
                let mut s = shard.0.write();
                s.supersede_loads();
                let drained = s.drain_all();
                for (local, _, _, e) in &drained {
                    self.log_op(
                        &mut *s,
                        idx,
                        WriteOp::Remove {
                            local: *local,
                            gen: e.gen,
                        },
                    );
                }
                drained
            };
            let mut pending = Vec::with_capacity(drained.len());
            for (_, deadline, weight, e) in drained {
                self.inner.entry_count.fetch_sub(1, Ordering::Relaxed);
                self.inner
                    .weighted_size
                    .fetch_sub(u64::from(weight), Ordering::Relaxed);
                let cause = if self.expiry_on() && deadline <= now {
                    self.record_evictions(1, u64::from(weight));
                    RemovalCause::Expired
                } else {
                    RemovalCause::Explicit
                };
                pending.push((e.key, e.value, cause));
            }
            // A listener that panics does not stop the other shards' removals.
            if let Some(p) = self.deliver(pending) {
                panic.get_or_insert(p);
            }
        }
        self.after_write();
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
    }

    /// Removes every entry for which `predicate` returns true and returns how many were
    /// removed. The predicate runs outside every lock, on snapshots of each shard; an entry
    /// replaced meanwhile is judged again on its new value. Unlike `invalidate`, it leaves
    /// loads in flight alone (they have no value to judge yet): their values are stored.
    pub fn invalidate_entries_if(&self, predicate: impl Fn(&K, &V) -> bool) -> usize {
        let now = self.inner.clock.now();
        let mut removed = 0;
        let mut panic = None;
        for (idx, shard) in self.inner.shards.iter().enumerate() {
            let snapshot: Vec<(u32, u32, K, V)> = {
                let s = shard.0.read();
                s.entries()
                    .filter(|&(_, deadline, _)| !self.expiry_on() || deadline > now)
                    .map(|(l, _, e)| (l, e.gen, e.key.clone(), e.value.clone()))
                    .collect()
            };
            let doomed: Vec<(u32, u32, K)> = snapshot
                .into_iter()
                .filter(|(_, _, k, v)| predicate(k, v))
                .map(|(l, g, k, _)| (l, g, k))
                .collect();
            if doomed.is_empty() {
                continue;
            }
            let mut pending = Vec::new();
            {
                let mut s = shard.0.write();
                for (local, gen, key) in doomed {
                    if s.live_at(local, gen).is_some() {
                        let hash = self.hash(&key);
                        let (e, weight) = s.remove_at(hash, local);
                        self.log_op(&mut *s, idx, WriteOp::Remove { local, gen });
                        pending.push((e.key, e.value, RemovalCause::Explicit, weight));
                    }
                }
            }
            removed += pending.len();
            let pending = pending
                .into_iter()
                .map(|(k, v, c, w)| {
                    self.inner.entry_count.fetch_sub(1, Ordering::Relaxed);
                    self.inner
                        .weighted_size
                        .fetch_sub(u64::from(w), Ordering::Relaxed);
                    (k, v, c)
                })
                .collect::<Vec<_>>();
            if let Some(p) = self.deliver(pending) {
                panic.get_or_insert(p);
            }
        }
        self.after_write();
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        removed
    }

    // ---- sizes and stats --------------------------------------------------------------------

    /// Number of entries stored, including expired ones not yet reclaimed (call
    /// [`run_pending_tasks`](Self::run_pending_tasks) first for an exact live count).
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count.load(Ordering::Relaxed)
    }

    /// Total weight of the stored entries (equal to `entry_count` without a weigher).
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size.load(Ordering::Relaxed)
    }

    /// The configured bound (entries, or total weight with a weigher).
    pub fn max_capacity(&self) -> u64 {
        self.inner.config.max_capacity
    }

    /// A snapshot of the statistics (hits and misses stay zero when the cache was built with
    /// `record_stats(false)`).
    pub fn stats(&self) -> CacheStats {
        let mut s = CacheStats::default();
        let g = &self.inner.counters;
        if self.inner.record_stats {
            for stripe in self.inner.reads.stripes() {
                s.hits += stripe.queued();
            }
            for c in self.inner.reads.all_counters() {
                s.hits += c.hits.load(Ordering::Relaxed);
                s.misses += c.misses.load(Ordering::Relaxed);
            }
            s.hits += g.drained_hits.load(Ordering::Relaxed);
        }
        s.load_successes = g.load_successes.load(Ordering::Relaxed);
        s.load_failures = g.load_failures.load(Ordering::Relaxed);
        s.total_load_time_nanos = g.total_load_time_nanos.load(Ordering::Relaxed);
        for c in self.inner.reads.all_counters() {
            s.eviction_count += c.evictions.load(Ordering::Relaxed);
            s.eviction_weight += c.evicted_weight.load(Ordering::Relaxed);
        }
        s
    }

    /// Keys in the policy's eviction order, coldest first (exact LRU order with
    /// [`EvictionPolicy::Lru`](crate::EvictionPolicy::Lru)); runs pending maintenance first.
    pub fn keys_coldest_first(&self) -> Vec<K> {
        if self.inner.segmented {
            return self.keys_coldest_first_segmented();
        }
        self.inner.status.store(REQUIRED, Ordering::Release);
        let policy = self.inner.policy.lock();
        let mut policy = policy;
        let mut removed = Pending::new();
        let mut tally = Tally::default();
        // Bounded like `run_pending_tasks`: other threads may keep adding work.
        for _ in 0..16 {
            if !self.maintenance_round(&mut policy, usize::MAX, &mut removed, &mut tally) {
                break;
            }
        }
        let ids = policy.ids_coldest_first();
        let now = self.inner.clock.now();
        let mut keys = Vec::with_capacity(ids.len());
        for id in ids {
            let (idx, local) = self.split_id(id);
            let s = self.inner.shards[idx].0.read();
            if let Some(Some(e)) = s.slots.get(local as usize) {
                if !self.expiry_on() || s.deadline(local) > now {
                    keys.push(e.key.clone());
                }
            }
        }
        drop(policy);
        self.settle(tally);
        self.notify(removed);
        keys
    }

    /// Removes and returns the entry the policy would evict next (reported to the listener as
    /// [`RemovalCause::Explicit`], like [`remove`](Self::remove)); `None` if the cache holds no
    /// live entry. In a cache whose shards keep their own policies, the next victim of one of
    /// them, taken in turn. What `dict.popitem` and lru-cache's `pop()` are to the bindings.
    pub fn pop_coldest(&self) -> Option<(K, V)> {
        // A few rounds: another thread may remove the chosen key before this one does.
        for _ in 0..64 {
            let key = self.coldest_key()?;
            if let Some(v) = self.remove(&key) {
                return Some((key, v));
            }
        }
        None
    }

    /// The key of the first live, unexpired entry in eviction order (see `pop_coldest`).
    fn coldest_key(&self) -> Option<K> {
        let now = self.inner.clock.now();
        let live = |s: &Shard<K, V>, local: u32| {
            let e = s.slots.get(local as usize)?.as_ref()?;
            (!self.expiry_on() || s.deadline(local) > now).then(|| e.key.clone())
        };
        if self.inner.segmented {
            let n = self.inner.shards.len();
            let start = self.inner.pop_cursor.fetch_add(1, Ordering::Relaxed);
            return (0..n).find_map(|i| {
                let s = self.inner.shards[(start + i) % n].0.read();
                let p = s.policy.as_ref()?;
                let key = p.coldest_first().find_map(|local| live(&s, local));
                key
            });
        }
        self.run_pending_tasks();
        let policy = self.inner.policy.lock();
        let key = policy.coldest_first().find_map(|id| {
            let (idx, local) = self.split_id(id);
            live(&self.inner.shards[idx].0.read(), local)
        });
        key
    }

    /// Each shard's keys in its policy's order, taken in turn from every shard (one from each,
    /// then the next from each...): shards split the key space evenly, so this approximates
    /// the order one policy over all entries would give.
    fn keys_coldest_first_segmented(&self) -> Vec<K> {
        self.run_pending_tasks();
        let now = self.inner.clock.now();
        let per_shard: Vec<Vec<K>> = self
            .inner
            .shards
            .iter()
            .map(|shard| {
                let s = shard.0.read();
                let ids = s
                    .policy
                    .as_ref()
                    .map_or_else(Vec::new, |p| p.ids_coldest_first());
                ids.into_iter()
                    .filter_map(|local| {
                        let e = s.slots.get(local as usize)?.as_ref()?;
                        (!self.expiry_on() || s.deadline(local) > now).then(|| e.key.clone())
                    })
                    .collect()
            })
            .collect();
        let mut iters: Vec<_> = per_shard.into_iter().map(Vec::into_iter).collect();
        let mut keys = Vec::new();
        loop {
            let before = keys.len();
            keys.extend(iters.iter_mut().filter_map(Iterator::next));
            if keys.len() == before {
                return keys;
            }
        }
    }

    /// The policy's own view of its size and length, for tests that map and policy agree.
    #[cfg(test)]
    pub(crate) fn policy_sizes(&self) -> (u64, u64) {
        if self.inner.segmented {
            return self.inner.shards.iter().fold((0, 0), |(n, w), s| {
                let s = s.0.read();
                let p = s.policy.as_ref().expect("segmented shard has a policy");
                (n + p.len(), w + p.weighted_size())
            });
        }
        let p = self.inner.policy.lock();
        (p.len(), p.weighted_size())
    }
}

/// A shard's write as a policy sees it, with slot ids mapped by `id` (local for a shard's own
/// policy, global for the cache-wide one).
fn event_with(op: WriteOp, id: impl Fn(u32) -> u32) -> Event {
    match op {
        WriteOp::Add {
            local,
            gen,
            hash,
            weight,
            deadline,
        } => Event::Add {
            id: id(local),
            gen,
            hash,
            weight,
            deadline,
        },
        WriteOp::Update {
            local,
            gen,
            weight,
            deadline,
        } => Event::Update {
            id: id(local),
            gen,
            weight,
            deadline,
        },
        WriteOp::Remove { local, gen } => Event::Remove { id: id(local), gen },
        WriteOp::Reschedule {
            local,
            gen,
            deadline,
        } => Event::Reschedule {
            id: id(local),
            gen,
            deadline,
        },
    }
}

/// Changes to the entry count, total weight and eviction statistics, gathered while locks
/// are held and applied once afterwards ([`Cache::settle`]).
#[derive(Default)]
struct Tally {
    entries: i64,
    weight: i64,
    evictions: u64,
    evicted_weight: u64,
}

impl Tally {
    fn evicted(&mut self, weight: u32) {
        self.evictions += 1;
        self.evicted_weight += u64::from(weight);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that outlasts its spin behind a writer still waits for it (parks) and sees
    /// what the writer left.
    #[test]
    fn get_waits_for_a_writer_that_holds_the_shard_past_the_spin() {
        let cache: Cache<u64, u64> = Cache::new(100);
        cache.insert(7, 1);
        let idx = cache.shard_index(cache.hash(&7));
        let mut shard = cache.inner.shards[idx].0.write();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                tx.send(()).unwrap();
                cache.get(&7)
            })
        };
        rx.recv().unwrap();
        // Long past READ_TRIES spins on any machine; the reader is parked or still trying.
        std::thread::sleep(Duration::from_millis(20));
        let local = shard.find(cache.hash(&7), &7).unwrap();
        shard.stored_mut(local).value = 2;
        drop(shard);
        assert_eq!(reader.join().unwrap(), Some(2));
    }

    #[test]
    fn default_shards_keep_shares_large_enough_for_their_own_policies() {
        // 100k entries: 64 shares of 1,562 on 16 CPUs, each with its own policy.
        assert_eq!(default_shards(16, true, 100_000), 64);
        assert_eq!(default_shards(2, true, 100_000), 8);
        assert_eq!(default_shards(2, true, 10_000), 8);
        assert_eq!(default_shards(2, true, 3_000), 2);
        assert_eq!(default_shards(1, true, 1_000_000), 4);
        assert_eq!(default_shards(64, true, 1_000_000), 256);
        // Fewer shards than 4 per CPU where that keeps the shares large enough.
        assert_eq!(default_shards(16, true, 40_000), 32);
        // Never fewer than one per CPU, even if the shares stay too small to segment.
        assert_eq!(default_shards(16, true, 10_000), 16);
        assert_eq!(default_shards(64, true, 100_000), 64);
        // Too small for two segments, or never segmented: 4 per CPU.
        assert_eq!(default_shards(16, true, 1_500), 64);
        assert_eq!(default_shards(16, false, 100_000), 64);
    }

    /// After maintenance the policy tracks exactly the entries the map holds, whatever mix of
    /// writes, removals, replacements with new weights and bulk invalidations came before.
    #[test]
    fn policy_and_map_agree_after_maintenance() {
        for policy in [crate::EvictionPolicy::TinyLfu, crate::EvictionPolicy::Lru] {
            let cache: Cache<u32, u32> = Cache::builder()
                .max_capacity(300)
                .weigher(|_, v| *v % 7)
                .eviction_policy(policy)
                .build();
            let mut x = 12345u32;
            for i in 0..20_000u32 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let k = x % 500;
                match x % 13 {
                    0 => {
                        cache.remove(&k);
                    }
                    1 if i % 97 == 0 => cache.invalidate_all(),
                    2 if i % 31 == 0 => {
                        cache.invalidate_entries_if(|k, _| k % 5 == 0);
                    }
                    3..=6 => {
                        cache.get(&k);
                    }
                    _ => cache.insert(k, x),
                }
            }
            cache.run_pending_tasks();
            assert_eq!(
                cache.policy_sizes(),
                (cache.entry_count(), cache.weighted_size())
            );
            assert!(cache.weighted_size() <= 300);
        }
    }

    /// A cache big enough for each of its 4 shards to keep its own share of the policy.
    fn segmented(
        listener: impl Fn(u32, u32, RemovalCause) + Send + Sync + 'static,
    ) -> Cache<u32, u32> {
        let cache = Cache::builder()
            .max_capacity(4 * MIN_SEGMENT)
            .shards(4)
            .eviction_listener(listener)
            .build();
        assert!(cache.inner.segmented);
        cache
    }

    #[test]
    fn small_weighted_or_lru_caches_keep_one_policy() {
        let one = |b: crate::CacheBuilder<u32, u32, _>| !b.shards(4).build().inner.segmented;
        assert!(one(Cache::builder().max_capacity(4 * MIN_SEGMENT - 1)));
        assert!(one(Cache::builder()
            .max_capacity(1 << 20)
            .eviction_policy(crate::EvictionPolicy::Lru)));
        assert!(one(Cache::builder()
            .max_capacity(1 << 20)
            .weigher(|_, _| 1)));
        assert!(one(Cache::builder()));
    }

    /// With one shard nothing is split, so the policy lives under the shard's lock whatever
    /// the capacity or weights: the fastest layout for callers that never contend (a binding
    /// whose calls are serialised by a GIL or a single JS thread).
    #[test]
    fn one_shard_keeps_its_policy_under_its_lock() {
        let removed = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&removed);
        let cache: Cache<u32, u32> = Cache::builder()
            .max_capacity(100)
            .shards(1)
            .weigher(|_, v: &u32| *v)
            .eviction_listener(move |k, _, cause| log.lock().push((k, cause)))
            .build();
        assert!(cache.inner.segmented);
        for k in 0..1_000u32 {
            cache.insert(k, k % 7);
            assert!(cache.weighted_size() <= 100, "bound broken at {k}");
        }
        cache.insert(5000, 101);
        cache.run_pending_tasks();
        assert!(
            cache.get(&5000).is_none(),
            "heavier than the cache: evicted"
        );
        let (n, w) = cache.policy_sizes();
        assert_eq!((n, w), (cache.entry_count(), cache.weighted_size()));
        let gone = removed.lock().len() as u64;
        assert_eq!(
            gone + cache.entry_count(),
            1_001,
            "every entry is held or reported"
        );
        assert!(
            !Cache::<u32, u32>::builder()
                .max_capacity(100)
                .shards(1)
                .eviction_policy(crate::EvictionPolicy::Lru)
                .build()
                .inner
                .segmented
        );
    }

    #[test]
    fn segmented_caches_stay_in_bounds_and_account_for_everything() {
        let evicted = Arc::new(AtomicU64::new(0));
        let e = Arc::clone(&evicted);
        let cache = segmented(move |_, _, c| {
            assert_eq!(c, RemovalCause::Size);
            e.fetch_add(1, Ordering::Relaxed);
        });
        let max = cache.max_capacity();
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let (cache, barrier) = (cache.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..40_000u32 {
                        let k = i.wrapping_mul(2_654_435_761) ^ t;
                        if cache.get(&k).is_none() {
                            cache.insert(k, i);
                        }
                        assert!(cache.entry_count() <= max);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        cache.run_pending_tasks();
        let n = cache.iter().count() as u64;
        assert_eq!(n, cache.entry_count());
        assert_eq!(cache.policy_sizes(), (n, n));
        assert!(n <= max && n > max * 9 / 10, "{n} of {max}");
        assert_eq!(
            cache.stats().eviction_count,
            evicted.load(Ordering::Relaxed)
        );
        let keys = cache.keys_coldest_first();
        assert_eq!(keys.len() as u64, n);
        assert_eq!(
            keys.iter().collect::<std::collections::HashSet<_>>().len() as u64,
            n
        );
    }

    #[test]
    fn segmented_caches_expire_on_writes_and_on_demand() {
        let (clock, mock) = quanta::Clock::mock();
        let expired = Arc::new(AtomicU64::new(0));
        let e = Arc::clone(&expired);
        let cache: Cache<u32, u32> = Cache::builder()
            .max_capacity(4 * MIN_SEGMENT)
            .shards(4)
            .time_to_live(Duration::from_secs(10))
            .eviction_listener(move |_, _, c| {
                if c == RemovalCause::Expired {
                    e.fetch_add(1, Ordering::Relaxed);
                }
            })
            .clock(clock)
            .build();
        assert!(cache.inner.segmented);
        for k in 0..1000 {
            cache.insert(k, k);
        }
        mock.increment(Duration::from_secs(11));
        assert_eq!(cache.get(&1), None);
        // Writes reclaim their own shard's expired entries; the rest go on demand.
        cache.insert(5000, 0);
        assert!(expired.load(Ordering::Relaxed) > 0);
        cache.run_pending_tasks();
        assert_eq!(expired.load(Ordering::Relaxed), 1000);
        assert_eq!(cache.entry_count(), 1);
        assert_eq!(cache.policy_sizes(), (1, 1));
    }

    #[test]
    fn policy_and_map_agree_after_racing_writes() {
        // Few keys and several threads: one key's replacements (with other weights) and
        // removals race, some applied directly by the thread holding the policy and some
        // logged by the others. The policy must still see each key's writes in order, or its
        // total weight drifts from the map's.
        for round in 0..4u32 {
            let cache: Cache<u32, u32> = Cache::builder()
                .max_capacity(300)
                .weigher(|_, v| *v % 7 + 1)
                .build();
            let barrier = Arc::new(std::sync::Barrier::new(4));
            let threads: Vec<_> = (0..4u32)
                .map(|t| {
                    let (cache, barrier) = (cache.clone(), Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        let mut x = (round * 4 + t) * 0x9E37 + 1;
                        barrier.wait();
                        for _ in 0..50_000 {
                            x ^= x << 13;
                            x ^= x >> 17;
                            x ^= x << 5;
                            let k = x % 40;
                            match x >> 29 {
                                0 => {
                                    cache.remove(&k);
                                }
                                1 | 2 => {
                                    cache.get(&k);
                                }
                                _ => cache.insert(k, x),
                            }
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            cache.run_pending_tasks();
            assert_eq!(
                cache.policy_sizes(),
                (cache.entry_count(), cache.weighted_size())
            );
            let total: u64 = cache.iter().map(|(_, v)| u64::from(v % 7 + 1)).sum();
            assert_eq!(total, cache.weighted_size());
            assert!(cache.weighted_size() <= 300);
        }
    }

    /// Halves the remaining lifetime on every read: each read moves the deadline earlier.
    struct HalveOnRead;

    impl crate::Expiry<u64, u64> for HalveOnRead {
        fn expire_after_create(&self, _: &u64, _: &u64, _: quanta::Instant) -> Option<Duration> {
            Some(Duration::from_secs(3600))
        }
        fn expire_after_read(
            &self,
            _: &u64,
            _: &u64,
            _: quanta::Instant,
            left: Option<Duration>,
        ) -> Option<Duration> {
            left.map(|d| d / 2)
        }
    }

    /// Reads that keep moving deadlines earlier log a write each for the cache-wide policy;
    /// like writes, they have it replay its log at once (without that, 290 of them were still
    /// waiting after these 40,000 reads).
    #[test]
    fn reads_that_move_deadlines_do_not_grow_the_policy_log() {
        let cache: Cache<u64, u64> = Cache::builder()
            .max_capacity(100)
            .shards(4)
            .expire_after(HalveOnRead)
            .build();
        assert!(!cache.inner.segmented);
        for k in 0..10 {
            cache.insert(k, k);
        }
        for i in 0..40_000u64 {
            cache.get(&(i % 10));
        }
        assert!(
            cache.inner.pending_ops.load(Ordering::Relaxed) < 100,
            "{} writes waiting for the policy",
            cache.inner.pending_ops.load(Ordering::Relaxed)
        );
    }
}
