//! The eviction policy of the JS `Cache`, driven through one raw Node-API function per cache.
//!
//! `index.js` keeps keys, values and per-slot metadata in JavaScript; this module only runs
//! [`cortado::SlotPolicy`] over their slot numbers. A napi-rs class method costs 200-350 ns per
//! call (napi-rs 3.16 glue), more than a whole lru-cache `get`, so the hot path does not use it:
//! `createPolicy` returns a plain function created with `napi_create_function` whose callback
//! `data` is the policy itself (no `napi_unwrap`), taking no arguments. Arguments and results
//! travel through a control `ArrayBuffer` shared with JavaScript (layout below, exported by
//! `policyLayout()` so the two sides cannot drift), and reads are not calls at all: JavaScript
//! logs hits into the buffer and the next call replays them (a read buffer, as in Caffeine).
//!
//! The callback never calls back into JavaScript, so it cannot be re-entered.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use cortado::{EvictionPolicy, SlotPolicy};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

// ---- control buffer layout (byte offsets) -------------------------------------------------

/// `u32` words of the header.
const W_NLOG: usize = 0; // events in the log, set by JS before each call
const W_OP: usize = 1; // operation code
const W_SLOT: usize = 2; // slot argument
const W_WEIGHT: usize = 3; // weight argument
const W_HASH: usize = 4; // key hash argument
const W_FLAGS: usize = 5; // set by the call: bit 0 = more victims to take with OP_MORE
const W_AHEAD: usize = 12; // byte 48: OP_INSERT also evicts this much weight ahead
/// `f64` words of the header (index in f64 units).
const F_DEADLINE: usize = 3; // byte 24: deadline in ms (negative or NaN: none)
const F_NOW: usize = 4; // byte 32: current time in ms (negative: do not expire)
const F_ARG: usize = 5; // byte 40: numeric argument (capacity)
/// Byte 56 (after `W_AHEAD`), set by `OP_INSERT` and `OP_EXPIRE`: the earliest time in ms at
/// which an entry the policy holds may expire (+Infinity: none), so that JavaScript knows how
/// long victims chosen ahead may be dropped before expired entries must be reclaimed first.
const F_EXPIRY: usize = 7;

const HEADER_BYTES: usize = 64;
/// Events per log batch.
const LOG_CAP: usize = 1024;
const LOG_BYTES: usize = HEADER_BYTES;
const LOGV_BYTES: usize = LOG_BYTES + 4 * LOG_CAP;
const OUT_BYTES: usize = LOGV_BYTES + 8 * LOG_CAP;
/// Victims returned per call; more are kept for `OP_MORE`.
const OUT_CAP: usize = 1024;
const CTL_BYTES: usize = OUT_BYTES + 4 * OUT_CAP;

/// Event kinds, in the top 3 bits of a log word; the slot is in the low 29 bits.
const KIND_SHIFT: u32 = 29;
const SLOT_MASK: u32 = (1 << KIND_SHIFT) - 1;
const EV_ACCESS: u32 = 0;
const EV_ACCESS_DEADLINE: u32 = 1;
const EV_REMOVE: u32 = 2;
const EV_DEADLINE: u32 = 3;
/// An insert that needs no eviction decision yet: two words (slot, then hash) and two values
/// (deadline, then weight).
const EV_INSERT: u32 = 4;

/// Victim words: the slot, with this bit set when it left because it expired.
const EXPIRED_BIT: u32 = 1 << 31;

const OP_FLUSH: u32 = 0;
const OP_INSERT: u32 = 1;
const OP_UPDATE: u32 = 2;
const OP_EXPIRE: u32 = 3;
const OP_EVICT_ONE: u32 = 4;
const OP_MORE: u32 = 5;
const OP_ORDER: u32 = 6;
const OP_CLEAR: u32 = 7;
const OP_LEN: u32 = 8;
const OP_WEIGHTED_SIZE: u32 = 9;
const OP_SET_MAX: u32 = 10;
/// Takes the function's argument, an ArrayBuffer of one byte per slot in which JavaScript counts
/// the hits of a TinyLFU cache (saturating at 15) instead of logging each one: the policy reads
/// and resets a slot's count when it visits the slot, which is all TinyLFU does with a hit.
const OP_SET_HITS: u32 = 11;

/// Expired entries reclaimed by one insert into a full cache (expire-first eviction).
const EXPIRE_ON_INSERT_BUDGET: usize = 64;

/// The numbers `index.js` needs to address the control buffer.
#[napi(object)]
pub struct PolicyLayout {
    pub ctl_bytes: u32,
    pub header_u32: Vec<u32>,
    pub header_f64: Vec<u32>,
    pub log_offset: u32,
    pub logv_offset: u32,
    pub log_cap: u32,
    pub out_offset: u32,
    pub out_cap: u32,
    pub kind_shift: u32,
    pub max_slots: u32,
    pub ops: Vec<u32>,
}

/// Offsets and codes of the control buffer: header words `[nlog, op, slot, weight, hash,
/// flags]` (u32 indices) and `[deadline, now, arg]` (f64 indices); ops `[flush, insert,
/// update, expire, evictOne, more, order, clear, len, weightedSize, setMax]`.
#[napi]
pub fn policy_layout() -> PolicyLayout {
    PolicyLayout {
        ctl_bytes: CTL_BYTES as u32,
        header_u32: vec![
            W_NLOG as u32,
            W_OP as u32,
            W_SLOT as u32,
            W_WEIGHT as u32,
            W_HASH as u32,
            W_FLAGS as u32,
            W_AHEAD as u32,
        ],
        header_f64: vec![
            F_DEADLINE as u32,
            F_NOW as u32,
            F_ARG as u32,
            F_EXPIRY as u32,
        ],
        log_offset: LOG_BYTES as u32,
        logv_offset: LOGV_BYTES as u32,
        log_cap: LOG_CAP as u32,
        out_offset: OUT_BYTES as u32,
        out_cap: OUT_CAP as u32,
        kind_shift: KIND_SHIFT,
        max_slots: SLOT_MASK,
        ops: vec![
            OP_FLUSH,
            OP_INSERT,
            OP_UPDATE,
            OP_EXPIRE,
            OP_EVICT_ONE,
            OP_MORE,
            OP_ORDER,
            OP_CLEAR,
            OP_LEN,
            OP_WEIGHTED_SIZE,
            OP_SET_MAX,
            OP_SET_HITS,
        ],
    }
}

/// Milliseconds (JavaScript clock) to the policy's nanosecond ticks; `None` for "never".
fn ticks(ms: f64) -> Option<u64> {
    if ms.is_nan() || ms < 0.0 {
        None
    } else {
        // `as` saturates: +Infinity becomes u64::MAX, which the policy treats as "never".
        Some((ms * 1e6) as u64)
    }
}

/// Spreads a 32-bit key hash from JavaScript over 64 bits for the frequency sketch.
fn spread(h: u32) -> u64 {
    let x = u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

struct State {
    policy: SlotPolicy,
    kind: EvictionPolicy,
    max_capacity: u64,
    weighted: bool,
    ctl: *mut u8,
    ctl_ref: sys::napi_ref,
    /// JavaScript's hit counts (see `OP_SET_HITS`), and the reference that keeps them alive.
    hits: HitCounts,
    hits_ref: sys::napi_ref,
    victims: Vec<u32>,
    scratch: Vec<u32>,
    /// Victims beyond `OUT_CAP` not yet handed out.
    pending: Vec<u32>,
    /// Whether a hit followed by a later event for the same slot in one batch is skipped:
    /// exact for LRU order (only a slot's last use decides its position).
    dedupe: bool,
    /// Per slot, the batch that last mentioned it (for `dedupe`).
    seen: Vec<u32>,
    batch: u32,
    /// Start of each event of the batch being replayed, and whether to apply it.
    events: Vec<(u16, bool)>,
}

/// The hit counts JavaScript keeps for a TinyLFU cache: one byte per slot, or none (`len` 0).
#[derive(Clone, Copy)]
struct HitCounts {
    base: *mut u8,
    len: usize,
}

impl HitCounts {
    /// Reads and resets the hits counted for `slot` since the policy last asked.
    fn take(self, slot: u32) -> u8 {
        let i = slot as usize;
        if i >= self.len {
            return 0;
        }
        // SAFETY: `base` points at a live ArrayBuffer of `len` bytes (kept alive by
        // `State::hits_ref`), only touched on the JS thread, during a call.
        unsafe {
            let p = self.base.add(i);
            let v = *p;
            if v != 0 {
                *p = 0;
            }
            v
        }
    }
}

impl State {
    fn u32_at(&self, word: usize) -> u32 {
        // SAFETY: `ctl` points at a live ArrayBuffer of CTL_BYTES (checked at creation, kept
        // alive by `ctl_ref`), 8-byte aligned, only touched on the JS thread during a call.
        unsafe { ptr::read(self.ctl.add(word * 4) as *const u32) }
    }
    fn set_u32(&mut self, word: usize, v: u32) {
        // SAFETY: as in `u32_at`.
        unsafe { ptr::write(self.ctl.add(word * 4) as *mut u32, v) }
    }
    fn f64_at(&self, index: usize) -> f64 {
        // SAFETY: as in `u32_at`.
        unsafe { ptr::read(self.ctl.add(index * 8) as *const f64) }
    }
    fn set_f64(&mut self, index: usize, v: f64) {
        // SAFETY: as in `u32_at`.
        unsafe { ptr::write(self.ctl.add(index * 8) as *mut f64, v) }
    }
    /// Publishes the policy's earliest possible expiry in ms (see `F_EXPIRY`).
    fn publish_next_expiry(&mut self) {
        let next = self
            .policy
            .next_expiry()
            .map_or(f64::INFINITY, |t| t as f64 / 1e6);
        self.set_f64(F_EXPIRY, next);
    }
    fn log(&self, i: usize) -> u32 {
        // SAFETY: as in `u32_at`; `i < LOG_CAP`.
        unsafe { ptr::read(self.ctl.add(LOG_BYTES + i * 4) as *const u32) }
    }
    fn logv(&self, i: usize) -> f64 {
        // SAFETY: as in `u32_at`; `i < LOG_CAP`.
        unsafe { ptr::read(self.ctl.add(LOGV_BYTES + i * 8) as *const f64) }
    }

    /// Replays the events JavaScript logged since the last call, in order.
    fn drain_log(&mut self) {
        let n = (self.u32_at(W_NLOG) as usize).min(LOG_CAP);
        self.set_u32(W_NLOG, 0);
        if n == 0 {
            return;
        }
        if self.dedupe {
            self.drain_deduped(n);
        } else {
            self.drain_all(n);
        }
        let hits = self.hits;
        self.policy.climb_with(|slot| hits.take(slot));
    }

    fn drain_all(&mut self, n: usize) {
        let mut i = 0;
        while i < n {
            i += self.apply(i, n);
        }
    }

    /// Replays the batch without the hits that a later event for the same slot makes moot.
    fn drain_deduped(&mut self, n: usize) {
        self.events.clear();
        let mut i = 0;
        while i < n {
            self.events.push((i as u16, true));
            i += if self.log(i) >> KIND_SHIFT == EV_INSERT {
                2
            } else {
                1
            };
        }
        self.batch = self.batch.wrapping_add(1);
        if self.batch == 0 {
            self.seen.iter_mut().for_each(|b| *b = 0);
            self.batch = 1;
        }
        for e in (0..self.events.len()).rev() {
            let word = self.log(self.events[e].0 as usize);
            let slot = (word & SLOT_MASK) as usize;
            if slot >= self.seen.len() {
                self.seen.resize(slot + 1, 0);
            }
            if word >> KIND_SHIFT == EV_ACCESS && self.seen[slot] == self.batch {
                self.events[e].1 = false;
            }
            self.seen[slot] = self.batch;
        }
        for e in 0..self.events.len() {
            let (start, keep) = self.events[e];
            if keep {
                self.apply(start as usize, n);
            }
        }
    }

    /// Applies the event at `i`; returns how many words it takes.
    fn apply(&mut self, i: usize, n: usize) -> usize {
        let word = self.log(i);
        let slot = word & SLOT_MASK;
        match word >> KIND_SHIFT {
            EV_ACCESS => self.policy.access(slot),
            EV_ACCESS_DEADLINE => {
                self.policy.access(slot);
                self.policy.set_deadline(slot, ticks(self.logv(i)));
            }
            EV_REMOVE => self.policy.remove(slot),
            EV_DEADLINE => self.policy.set_deadline(slot, ticks(self.logv(i))),
            EV_INSERT if i + 1 < n => {
                let hash = self.log(i + 1);
                let deadline = ticks(self.logv(i));
                let weight = self.logv(i + 1) as u32;
                self.policy.insert(slot, spread(hash), weight, deadline);
                return 2;
            }
            _ => {}
        }
        1
    }

    /// Evicts down to the capacity, reclaiming expired entries first when `now` is given and
    /// the cache is over its bound (expire-first eviction).
    fn evict(&mut self, expire_first: bool, ahead: u64) {
        if expire_first && self.policy.weighted_size() > self.max_capacity {
            if let Some(now) = ticks(self.f64_at(F_NOW)) {
                self.scratch.clear();
                self.policy
                    .expire(now, EXPIRE_ON_INSERT_BUDGET, &mut self.scratch);
                self.victims
                    .extend(self.scratch.drain(..).map(|s| s | EXPIRED_BIT));
            }
        }
        let hits = self.hits;
        if ahead > 0 {
            self.policy
                .evict_ahead_with(ahead, &mut self.victims, |slot| hits.take(slot));
        } else {
            self.policy
                .evict_with(&mut self.victims, |slot| hits.take(slot));
        }
    }

    /// Writes the victims gathered by this call to the output area; returns how many.
    fn emit(&mut self) -> u32 {
        if !self.pending.is_empty() {
            let mut rest = std::mem::take(&mut self.pending);
            rest.append(&mut self.victims);
            self.victims = rest;
        }
        let n = self.victims.len().min(OUT_CAP);
        for (i, &v) in self.victims[..n].iter().enumerate() {
            // SAFETY: as in `u32_at`; `i < OUT_CAP`.
            unsafe { ptr::write(self.ctl.add(OUT_BYTES + i * 4) as *mut u32, v) }
        }
        if self.victims.len() > n {
            self.pending = self.victims.split_off(n);
        }
        self.victims.clear();
        self.set_u32(W_FLAGS, u32::from(!self.pending.is_empty()));
        n as u32
    }

    /// Keeps `value`, an ArrayBuffer, as the hit counts (see `OP_SET_HITS`), in place of any
    /// before it.
    ///
    /// # Safety
    /// `env` must be the env of the current call.
    unsafe fn set_hits(
        &mut self,
        env: sys::napi_env,
        value: sys::napi_value,
    ) -> std::result::Result<(), &'static str> {
        const BAD: &str = "cortado: the hit counts must be an ArrayBuffer";
        if value.is_null() {
            return Err(BAD);
        }
        let mut base: *mut c_void = ptr::null_mut();
        let mut len: usize = 0;
        let mut new_ref = ptr::null_mut();
        // SAFETY: valid env and value; the first call checks that it is an ArrayBuffer.
        unsafe {
            if sys::napi_get_arraybuffer_info(env, value, &mut base, &mut len)
                != sys::Status::napi_ok
                || sys::napi_create_reference(env, value, 1, &mut new_ref) != sys::Status::napi_ok
            {
                return Err(BAD);
            }
            if !self.hits_ref.is_null() {
                sys::napi_delete_reference(env, self.hits_ref);
            }
        }
        self.hits_ref = new_ref;
        self.hits = HitCounts {
            base: base as *mut u8,
            len: if base.is_null() { 0 } else { len },
        };
        Ok(())
    }

    /// Runs the operation in the header. Returns a number, or for `OP_ORDER` the slots in a
    /// new array (through `order`).
    fn run(&mut self, order: &mut Option<Vec<u32>>) -> f64 {
        self.drain_log();
        self.set_u32(W_FLAGS, 0);
        let slot = self.u32_at(W_SLOT);
        match self.u32_at(W_OP) {
            OP_FLUSH => 0.0,
            OP_INSERT => {
                let hash = spread(self.u32_at(W_HASH));
                let weight = self.u32_at(W_WEIGHT);
                self.policy
                    .insert(slot, hash, weight, ticks(self.f64_at(F_DEADLINE)));
                let ahead = u64::from(self.u32_at(W_AHEAD));
                self.evict(self.kind == EvictionPolicy::TinyLfu, ahead);
                let hits = self.hits;
                self.policy.climb_with(|slot| hits.take(slot));
                self.publish_next_expiry();
                f64::from(self.emit())
            }
            OP_UPDATE => {
                let weight = self.u32_at(W_WEIGHT);
                self.policy
                    .update(slot, weight, ticks(self.f64_at(F_DEADLINE)));
                self.evict(self.kind == EvictionPolicy::TinyLfu, 0);
                f64::from(self.emit())
            }
            OP_EXPIRE => {
                if let Some(now) = ticks(self.f64_at(F_NOW)) {
                    let budget = self.u32_at(W_SLOT) as usize;
                    self.scratch.clear();
                    let done = self.policy.expire(now, budget.max(1), &mut self.scratch);
                    self.victims
                        .extend(self.scratch.drain(..).map(|s| s | EXPIRED_BIT));
                    let n = self.emit();
                    if !done {
                        self.set_u32(W_FLAGS, self.u32_at(W_FLAGS) | 2);
                    }
                    self.publish_next_expiry();
                    return f64::from(n);
                }
                0.0
            }
            OP_EVICT_ONE => {
                // The coldest slot, without resizing the policy (which would also resize, and
                // clear, its frequency sketch), and the `W_AHEAD` next ones, coldest first, for
                // a caller that evicts before it inserts and keeps them as chosen victims.
                let ahead = self.u32_at(W_AHEAD);
                for _ in 0..=ahead {
                    match self.policy.pop_coldest() {
                        Some(slot) => self.victims.push(slot),
                        None => break,
                    }
                }
                f64::from(self.emit())
            }
            OP_MORE => f64::from(self.emit()),
            OP_ORDER => {
                *order = Some(self.policy.coldest_first());
                0.0
            }
            OP_CLEAR => {
                let now = ticks(self.f64_at(F_NOW)).unwrap_or(0);
                self.policy = SlotPolicy::new(self.kind, self.max_capacity, self.weighted, now);
                self.pending.clear();
                self.victims.clear();
                0.0
            }
            OP_LEN => self.policy.len() as f64,
            OP_WEIGHTED_SIZE => self.policy.weighted_size() as f64,
            OP_SET_MAX => {
                let max = self.f64_at(F_ARG);
                self.max_capacity = if max.is_finite() && max >= 0.0 {
                    max as u64
                } else {
                    u64::MAX / 4
                };
                self.policy.set_max_capacity(self.max_capacity);
                self.policy.evict(&mut self.victims);
                f64::from(self.emit())
            }
            OP_SET_HITS => 0.0,
            _ => -1.0,
        }
    }
}

unsafe fn throw(env: sys::napi_env, msg: &str) -> sys::napi_value {
    let msg = std::ffi::CString::new(msg).unwrap_or_default();
    // SAFETY: a valid env during a callback; a NUL-terminated message.
    unsafe { sys::napi_throw_error(env, ptr::null(), msg.as_ptr()) };
    ptr::null_mut()
}

/// The per-cache function: `op()` runs the operation in the control buffer.
unsafe extern "C" fn policy_op(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut data: *mut c_void = ptr::null_mut();
    let mut argc: usize = 1;
    let mut argv: [sys::napi_value; 1] = [ptr::null_mut()];
    // SAFETY: called by Node-API with a valid env and callback info; `argv` has room for `argc`.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        )
    };
    if status != sys::Status::napi_ok || data.is_null() {
        // SAFETY: valid env.
        return unsafe { throw(env, "cortado: policy function called without its state") };
    }
    // SAFETY: `data` is the `State` boxed by `create_policy`, freed only by the function's
    // finalizer (after which the function cannot be called), and the callback is not
    // re-entrant (it never calls into JavaScript).
    let state = unsafe { &mut *(data as *mut State) };
    if state.u32_at(W_OP) == OP_SET_HITS {
        // SAFETY: valid env; `argv[0]` is the argument (or undefined, which the call rejects).
        if let Err(msg) =
            unsafe { state.set_hits(env, if argc >= 1 { argv[0] } else { ptr::null_mut() }) }
        {
            // SAFETY: valid env.
            return unsafe { throw(env, msg) };
        }
    }
    let mut order = None;
    let result = catch_unwind(AssertUnwindSafe(|| state.run(&mut order)));
    let mut out = ptr::null_mut();
    match result {
        Ok(_) if order.is_some() => {
            let slots = order.unwrap_or_default();
            let bytes = slots.len() * 4;
            let mut buf_data: *mut c_void = ptr::null_mut();
            let mut ab = ptr::null_mut();
            // SAFETY: valid env; the new buffer is `bytes` long and we write exactly that much.
            unsafe {
                if sys::napi_create_arraybuffer(env, bytes, &mut buf_data, &mut ab)
                    != sys::Status::napi_ok
                {
                    return throw(env, "cortado: cannot allocate the order array");
                }
                if bytes > 0 {
                    ptr::copy_nonoverlapping(
                        slots.as_ptr() as *const u8,
                        buf_data as *mut u8,
                        bytes,
                    );
                }
                sys::napi_create_typedarray(
                    env,
                    sys::TypedarrayType::uint32_array,
                    slots.len(),
                    ab,
                    0,
                    &mut out,
                );
            }
            out
        }
        Ok(n) => {
            // SAFETY: valid env.
            unsafe { sys::napi_create_double(env, n, &mut out) };
            out
        }
        // SAFETY: valid env.
        Err(_) => unsafe { throw(env, "cortado: internal error in the eviction policy") },
    }
}

unsafe extern "C" fn finalize_policy(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the boxed `State`, finalized exactly once.
    let state = unsafe { Box::from_raw(data as *mut State) };
    for r in [state.ctl_ref, state.hits_ref] {
        if !r.is_null() {
            // SAFETY: the reference was created on this env.
            unsafe { sys::napi_delete_reference(env, r) };
        }
    }
}

/// Returned to JavaScript as the raw value it already is.
pub struct RawValue(sys::napi_value);

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

impl TypeName for RawValue {
    fn type_name() -> &'static str {
        "Function"
    }
    fn value_type() -> ValueType {
        ValueType::Function
    }
}

/// Creates the eviction policy of one cache over the control buffer `ctl` (an ArrayBuffer of
/// `policyLayout().ctlBytes`), and returns the function that drives it.
#[napi(ts_return_type = "() => number | Uint32Array")]
pub fn create_policy(
    env: Env,
    #[napi(ts_arg_type = "ArrayBuffer")] ctl: Unknown,
    lru: bool,
    max_capacity: f64,
    weighted: bool,
    now_ms: f64,
) -> Result<RawValue> {
    let env = env.raw();
    let value = ctl.value().value;
    let mut data: *mut c_void = ptr::null_mut();
    let mut len: usize = 0;
    // SAFETY: valid env and value; the call checks that the value is an ArrayBuffer.
    let status = unsafe { sys::napi_get_arraybuffer_info(env, value, &mut data, &mut len) };
    if status != sys::Status::napi_ok
        || len < CTL_BYTES
        || data.is_null()
        || (data as usize) % 8 != 0
    {
        return Err(Error::new(
            Status::InvalidArg,
            format!("createPolicy needs an ArrayBuffer of at least {CTL_BYTES} bytes"),
        ));
    }
    let mut ctl_ref = ptr::null_mut();
    // SAFETY: valid env and value.
    check_status!(unsafe { sys::napi_create_reference(env, value, 1, &mut ctl_ref) })?;
    let kind = if lru {
        EvictionPolicy::Lru
    } else {
        EvictionPolicy::TinyLfu
    };
    let max_capacity = if max_capacity.is_finite() && max_capacity >= 0.0 {
        max_capacity as u64
    } else {
        u64::MAX / 4
    };
    let state = Box::new(State {
        policy: SlotPolicy::new(kind, max_capacity, weighted, ticks(now_ms).unwrap_or(0)),
        kind,
        max_capacity,
        weighted,
        ctl: data as *mut u8,
        ctl_ref,
        hits: HitCounts {
            base: ptr::null_mut(),
            len: 0,
        },
        hits_ref: ptr::null_mut(),
        victims: Vec::new(),
        scratch: Vec::new(),
        pending: Vec::new(),
        dedupe: kind == EvictionPolicy::Lru,
        seen: Vec::new(),
        batch: 0,
        events: Vec::with_capacity(LOG_CAP),
    });
    let raw = Box::into_raw(state) as *mut c_void;
    let mut func = ptr::null_mut();
    let name = "cortadoPolicy";
    // SAFETY: valid env; `raw` stays valid until the finalizer below runs.
    unsafe {
        let status = sys::napi_create_function(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(policy_op),
            raw,
            &mut func,
        );
        if status != sys::Status::napi_ok {
            finalize_policy(env, raw, ptr::null_mut());
            return Err(Error::new(
                Status::GenericFailure,
                "cannot create the policy function",
            ));
        }
        let status = sys::napi_add_finalizer(
            env,
            func,
            raw,
            Some(finalize_policy),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        if status != sys::Status::napi_ok {
            finalize_policy(env, raw, ptr::null_mut());
            return Err(Error::new(
                Status::GenericFailure,
                "cannot attach the policy finalizer",
            ));
        }
    }
    Ok(RawValue(func))
}
