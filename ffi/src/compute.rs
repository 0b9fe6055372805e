//! `cortado_cache_compute`: atomic read-modify-write of one key, on the core's
//! `entry(key).and_compute_with`.
//!
//! The core serialises computations (and loads) of one key and runs the closure with no lock
//! held. A callback that re-enters the cache with another computation or load of the same key
//! (which would deadlock) is a caller mistake, not a library bug: the core's
//! `try_and_compute_with` reports it, and it comes out as RECURSIVE_LOAD.

use std::ffi::c_void;
use std::sync::Arc;

use cortado::{CompResult, Op};

use crate::boundary::{bytes, clear_out, ffi_status};
use crate::cache::{cache, cortado_cache};
use crate::status::cortado_status;
use crate::value::{cortado_value, into_raw, Value};

/// What a compute callback asks for (its return value).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortado_compute_op {
    /// Leave the entry as it is (an absent key stays absent).
    Nop = 0,
    /// Store the value handle the callback wrote to `*out_new`; the cache takes over that
    /// reference.
    Put = 1,
    /// Remove the entry (reported to the listener as EXPLICIT).
    Remove = 2,
}

/// What `cortado_cache_compute` did (written to its `out_result`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortado_compute_result {
    /// The key was absent; the callback's value was stored.
    Inserted = 0,
    /// The key was present; its value was replaced by the callback's.
    Replaced = 1,
    /// The key was present and was removed.
    Removed = 2,
    /// The key was present and was left unchanged.
    Unchanged = 3,
    /// The key was absent and stays absent.
    StillNone = 4,
}

/// Decides the new state of one key. `current` is the key's value, borrowed for the call
/// (`cortado_value_retain` it to keep it), or NULL when the key is absent or expired. Return
/// a `cortado_compute_op`; for PUT write a value handle to `*out_new` and give up that
/// reference (the cache takes it over; with any other return a handle left there is released
/// for you). Runs on the calling thread, outside every cache lock: it may use the cache,
/// except a compute or `get_with` on the same key (RECURSIVE_LOAD). Must not unwind.
pub type cortado_compute_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        current: *const cortado_value,
        out_new: *mut *const cortado_value,
    ) -> u32,
>;

/// How the callback's decision turned out, for the status.
enum Decision {
    Applied,
    /// The callback returned an unknown op (INVALID_ARGUMENT) or PUT without a value
    /// (NULL_ARGUMENT): nothing was changed.
    Refused(cortado_status),
}

/// Atomically reads `key`, lets `compute(userdata, key, key_len, current, &new)` decide, and
/// applies its `cortado_compute_op`; see `cortado_compute_fn`. Computations (and `get_with`
/// loads) of one key run one at a time, so read-modify-write cycles such as counters lose no
/// update; other keys and plain reads are not held up. A plain insert or remove of the key
/// from elsewhere is not serialised with a computation: let every writer that needs the
/// guarantee use compute. A PUT is a write like an insert (the listener sees the replaced
/// value as REPLACED; per-entry expiry is asked); a computation counts in no statistic.
///
/// On OK, writes what happened (a `cortado_compute_result`) to `*out_result` and the entry's
/// value afterwards (the new value for INSERTED and REPLACED, the removed one for REMOVED,
/// the current one for UNCHANGED, NULL for STILL_NONE; a new reference to release) to
/// `*out_value`, each if not NULL.
///
/// Returns OK, RECURSIVE_LOAD (the callback, or the loader it runs in, computes or loads the
/// same key: nothing changed), INVALID_ARGUMENT (key length, or the callback returned an
/// unknown op: nothing changed) or NULL_ARGUMENT (`cache` or `compute` NULL, or PUT without
/// a handle in `*out_new`: nothing changed).
///
/// # Safety
/// `cache` NULL or live; `key` readable for `key_len` bytes; `out_result` NULL or writable;
/// `out_value` NULL or writable; `compute` must not unwind.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_compute(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    compute: cortado_compute_fn,
    userdata: *mut c_void,
    out_result: *mut u32,
    out_value: *mut *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let out_value = if out_value.is_null() { None } else { Some(unsafe { clear_out(out_value) }?) };
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let compute = compute.ok_or(cortado_status::NullArgument)?;
        let mut decision = Decision::Applied;
        let result = cache.entry(key.into()).try_and_compute_with(|current| {
            let current: Option<Value> = current.map(|e| e.into_value());
            let current_ptr = current.as_ref().map_or(std::ptr::null(), Arc::as_ptr);
            let mut new: *const cortado_value = std::ptr::null();
            // SAFETY: the caller's callback, with the key, the borrowed current value and the
            // out-parameter valid for the call.
            let op = unsafe { compute(userdata, key.as_ptr(), key.len(), current_ptr, &mut new) };
            // SAFETY: a non-NULL `new` is a reference the callback gives up (its contract).
            let new: Option<Value> = (!new.is_null()).then(|| unsafe { Arc::from_raw(new) });
            match (op, new) {
                (o, Some(v)) if o == cortado_compute_op::Put as u32 => Op::Put(v),
                (o, None) if o == cortado_compute_op::Put as u32 => {
                    decision = Decision::Refused(cortado_status::NullArgument);
                    Op::Nop
                }
                (o, _) if o == cortado_compute_op::Nop as u32 => Op::Nop,
                (o, _) if o == cortado_compute_op::Remove as u32 => Op::Remove,
                _ => {
                    decision = Decision::Refused(cortado_status::InvalidArgument);
                    Op::Nop
                }
            }
        });
        let result = result.map_err(|_| cortado_status::RecursiveLoad)?;
        if let Decision::Refused(status) = decision {
            return Err(status);
        }
        let (what, value) = match result {
            CompResult::Inserted(e) => (cortado_compute_result::Inserted, Some(e.into_value())),
            CompResult::ReplacedWith(e) => (cortado_compute_result::Replaced, Some(e.into_value())),
            CompResult::Removed(e) => (cortado_compute_result::Removed, Some(e.into_value())),
            CompResult::Unchanged(e) => (cortado_compute_result::Unchanged, Some(e.into_value())),
            CompResult::StillNone(_) => (cortado_compute_result::StillNone, None),
        };
        if let Some(r) = unsafe { out_result.as_mut() } {
            *r = what as u32;
        }
        if let (Some(out), Some(v)) = (out_value, value) {
            *out = into_raw(v);
        }
        Ok(cortado_status::Ok)
    }
}
