//! `cortado_cache_get_with`: read-through with a C loader, coalesced across threads by the
//! core's load slots.
//!
//! The coalescing itself is the core's (`Cache::claim_load`): for a missing key exactly one
//! caller gets the duty to load, the others wait (parked) for its result. This module only
//! runs the C loader for the claimant and translates the outcome, so every waiter sees what
//! the loader produced: the same value handle, or the same error code. Nothing but a value is
//! ever cached, so a failed load is retried by the next call.

use std::ffi::c_void;
use std::sync::Arc;

use cortado::{Claim, LoadResult};

use crate::boundary::{bytes, clear_out, ffi_status, handle, handle_mut, Checked};
use crate::cache::cortado_cache;
use crate::status::cortado_status;
use crate::value::{self, cortado_value, into_raw, Value};

/// Loads the value of a missing key: sets it with `cortado_load_ctx_set_bytes` or
/// `cortado_load_ctx_set_value` and returns 0, or returns a non-zero error code of the
/// caller's choosing. Runs on the thread that called `cortado_cache_get_with`, outside every
/// cache lock: it may use the cache, except `get_with` on the same key (RECURSIVE_LOAD).
pub type cortado_loader_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        ctx: *mut cortado_load_ctx,
    ) -> i32,
>;

/// Where a loader puts its value. Valid only during the loader call that received it.
pub struct cortado_load_ctx {
    value: Option<Value>,
}

/// A loader's error code, as the core passes it to every waiter.
struct LoaderError(i32);

/// How one `get_with` call ends.
enum Outcome {
    Value(Value),
    Failed(i32),
    NoValue,
}

/// Runs the C loader for a load this caller claimed, and resolves the claim.
fn load(
    guard: cortado::LoadGuard<Box<[u8]>, Value, cortado::RandomState>,
    loader: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut cortado_load_ctx) -> i32,
    userdata: *mut c_void,
) -> Outcome {
    let mut ctx = cortado_load_ctx { value: None };
    let key = guard.key();
    // SAFETY: the caller's loader, with the key and the context valid for the call. The guard
    // holds no lock, so the loader may call the cache.
    let code = unsafe { loader(userdata, key.as_ptr(), key.len(), &mut ctx) };
    if code != 0 {
        guard.fail(Arc::new(LoaderError(code)));
        return Outcome::Failed(code);
    }
    match ctx.value {
        Some(v) => {
            guard.complete(Arc::clone(&v));
            Outcome::Value(v)
        }
        None => {
            guard.complete_absent();
            Outcome::NoValue
        }
    }
}

/// What a waiter makes of someone else's load; `None` means claim again (the load was
/// abandoned, which only a panic in the loading thread can cause).
fn waited(result: LoadResult<Value>) -> Option<Outcome> {
    match result {
        LoadResult::Loaded(v) => Some(Outcome::Value(v)),
        LoadResult::Absent => Some(Outcome::NoValue),
        LoadResult::Failed(e) => e
            .downcast_ref::<LoaderError>()
            .map(|e| Outcome::Failed(e.0)),
        LoadResult::Abandoned => None,
    }
}

/// The miss path of `get_with`: claims the key (waiting for a load in flight) and loads it.
/// The borrowed lookup before this counted the miss, so the claim does not count again.
fn claim_and_load(
    handle: &cortado_cache,
    key: &[u8],
    loader: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut cortado_load_ctx) -> i32,
    userdata: *mut c_void,
) -> Checked<Outcome> {
    let cache = &handle.cache;
    loop {
        let claimed = cache
            .claim_load_after_miss(key.into())
            .map_err(|_| cortado_status::RecursiveLoad)?;
        match claimed {
            Claim::Present(v) => return Ok(Outcome::Value(v)),
            Claim::Load(guard) => return Ok(load(guard, loader, userdata)),
            Claim::Wait(w) => {
                if let Some(o) = waited(w.wait()) {
                    return Ok(o);
                }
            }
        }
    }
}

/// Returns `key`'s value, loading it on a miss with `loader(userdata, key, key_len, ctx)`.
///
/// Concurrent callers for one missing key run one loader between them; the others block
/// until it returns and then get the same result: OK with the same value handle (each its own
/// reference, written to `*out_value`), or LOADER_FAILED with the same code (written to
/// `*out_loader_error` if not NULL), or LOADER_NO_VALUE. Only a value is cached: after a
/// failure the next call runs the loader again. A hit borrows the key (no copy, no
/// allocation); only a miss copies it. A hit counts as a hit; a miss (loaded here or waited
/// for) counts as one miss and, for the caller that ran the loader, a load success or
/// failure. (In the rare race where another thread stores the key between this call's
/// lookup and its claim, the call may count one lookup more.)
///
/// If the key is inserted or removed (`cortado_cache_insert`, `cortado_cache_remove`,
/// `cortado_cache_invalidate_all`, ...) while its loader runs, the loaded value is returned to
/// the callers but not stored: the cache keeps that write, or stays without the key (the
/// loader may have read what the write replaced).
///
/// A loader that calls `cortado_cache_get_with` for its own key on the same cache gets
/// RECURSIVE_LOAD (instead of a deadlock). Loads that wait on each other across threads
/// (A's loader waits for B while B's waits for A) deadlock: avoid such cycles.
///
/// Returns OK, LOADER_FAILED, LOADER_NO_VALUE, RECURSIVE_LOAD, NULL_ARGUMENT (`cache`,
/// `loader` or `out_value` NULL) or INVALID_ARGUMENT (key length).
///
/// # Safety
/// `cache` NULL or live; `key` readable; `out_value` NULL or writable; `out_loader_error` NULL
/// or writable; `loader` must not unwind.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_get_with(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    loader: cortado_loader_fn,
    userdata: *mut c_void,
    out_value: *mut *const cortado_value,
    out_loader_error: *mut i32,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_value) }?;
        let handle = unsafe { handle(cache.cast_const()) }?;
        let cache = &handle.cache;
        let key = unsafe { bytes(key, key_len) }?;
        let loader = loader.ok_or(cortado_status::NullArgument)?;
        // A hit borrows the caller's bytes: no key copy. Only a miss copies the key for the
        // claim (the core keeps it in the load slot and, once loaded, in the entry).
        let outcome = match cache.get(key) {
            Some(v) => Outcome::Value(v),
            None => claim_and_load(handle, key, loader, userdata)?,
        };
        match outcome {
            Outcome::Value(v) => {
                *out = into_raw(v);
                Ok(cortado_status::Ok)
            }
            Outcome::Failed(code) => {
                if let Some(e) = unsafe { out_loader_error.as_mut() } {
                    *e = code;
                }
                Err(cortado_status::LoaderFailed)
            }
            Outcome::NoValue => Err(cortado_status::LoaderNoValue),
        }
    }
}

fn set(ctx: &mut cortado_load_ctx, value: Value) -> Checked<cortado_status> {
    ctx.value = Some(value);
    Ok(cortado_status::Ok)
}

/// Sets the loaded value to a copy of `(data, len)` (replacing one set before).
///
/// Returns OK, NULL_ARGUMENT or INVALID_ARGUMENT (a length above `PTRDIFF_MAX`).
///
/// # Safety
/// `ctx` NULL or the context of the loader call in progress; `data` readable for `len`.
#[no_mangle]
pub unsafe extern "C" fn cortado_load_ctx_set_bytes(
    ctx: *mut cortado_load_ctx,
    data: *const u8,
    len: usize,
) -> cortado_status {
    ffi_status! {
        let ctx = unsafe { handle_mut(ctx) }?;
        let data = unsafe { bytes(data, len) }?;
        set(ctx, crate::value::cortado_value::copy(data))
    }
}

/// Sets the loaded value to `value` itself, without copying (the cache takes its own
/// reference; the loader still releases its own). Replaces a value set before.
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `ctx` NULL or the context of the loader call in progress; `value` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn cortado_load_ctx_set_value(
    ctx: *mut cortado_load_ctx,
    value: *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let ctx = unsafe { handle_mut(ctx) }?;
        let value = unsafe { value::share(value) }?;
        set(ctx, value)
    }
}
