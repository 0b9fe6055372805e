//! Iteration (`cortado_iter`, sqlite step style) and the policy's key order (`cortado_keys`).
//!
//! Both are snapshots taken when they are created: the core copies entries out under each
//! shard's lock and releases it, so no C code ever runs while a cache lock is held, and the
//! handles own what they hand out (they may outlive the cache).

use crate::boundary::{clear_out, ffi_guard, ffi_status, handle, handle_mut, out, Checked};
use crate::cache::{cache, cortado_cache};
use crate::status::cortado_status;
use crate::value::{cortado_value, into_raw, Value};

/// A snapshot of a cache's live entries, read one at a time with `cortado_iter_next`.
/// Belongs to one thread at a time; may outlive its cache.
pub struct cortado_iter {
    entries: Vec<(Box<[u8]>, Value)>,
    next: usize,
}

/// A snapshot of a cache's keys in eviction order, coldest (next to be evicted) first.
/// Immutable: may be read from any thread; may outlive its cache.
pub struct cortado_keys {
    keys: Vec<Box<[u8]>>,
}

/// Writes to `*out_iter` an iterator over a snapshot of the live entries, in no particular
/// order (free it with `cortado_iter_free`). Does not count as use.
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `cache` NULL or live; `out_iter` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_iter(
    cache: *mut cortado_cache,
    out_iter: *mut *mut cortado_iter,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_iter.cast::<*const cortado_iter>()) }?;
        let cache = unsafe { self::cache(cache) }?;
        let entries = cache.iter().collect();
        *out = Box::into_raw(Box::new(cortado_iter { entries, next: 0 }));
        Ok(cortado_status::Ok)
    }
}

/// Steps to the next entry: writes its key to `*out_key`/`*out_key_len` (borrowed, valid until
/// the iterator is freed) and, if `out_value` is not NULL, a new reference to its value (to
/// release).
///
/// Returns OK, DONE when there are no more entries (`*out_key` is then NULL), or
/// NULL_ARGUMENT.
///
/// # Safety
/// `iter` NULL or live and not used by another thread; the out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_iter_next(
    iter: *mut cortado_iter,
    out_key: *mut *const u8,
    out_key_len: *mut usize,
    out_value: *mut *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let key_out = unsafe { clear_out(out_key) }?;
        let value_out = if out_value.is_null() { None } else { Some(unsafe { clear_out(out_value) }?) };
        let len_out = unsafe { out(out_key_len) }?;
        let iter = unsafe { handle_mut(iter) }?;
        let (key, value) = iter.entries.get(iter.next).ok_or(cortado_status::Done)?;
        iter.next += 1;
        *key_out = key.as_ptr();
        *len_out = key.len();
        if let Some(v) = value_out {
            *v = into_raw(value.clone());
        }
        Ok(cortado_status::Ok)
    }
}

/// Frees an iterator (NULL-safe) and the keys it handed out.
///
/// # Safety
/// `iter` NULL or an iterator not freed yet.
#[no_mangle]
pub unsafe extern "C" fn cortado_iter_free(iter: *mut cortado_iter) {
    ffi_guard! {
        if !iter.is_null() {
            // SAFETY: the caller gives back the iterator `cortado_cache_iter` gave it.
            drop(unsafe { Box::from_raw(iter) });
        }
    }
}

/// Writes to `*out_keys` the keys in the policy's eviction order, coldest first (exact LRU
/// order under `CORTADO_EVICTION_POLICY_LRU`); pending upkeep runs first. Free it with
/// `cortado_keys_free`.
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `cache` NULL or live; `out_keys` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_keys_coldest_first(
    cache: *mut cortado_cache,
    out_keys: *mut *mut cortado_keys,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_keys.cast::<*const cortado_keys>()) }?;
        let keys = unsafe { self::cache(cache) }?.keys_coldest_first();
        *out = Box::into_raw(Box::new(cortado_keys { keys }));
        Ok(cortado_status::Ok)
    }
}

/// The number of keys in the list; 0 for NULL.
///
/// # Safety
/// `keys` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn cortado_keys_len(keys: *const cortado_keys) -> usize {
    ffi_guard! {
        // SAFETY: NULL or live, by contract.
        unsafe { keys.as_ref() }.map_or(0, |k| k.keys.len())
    }
}

fn key_at(keys: &cortado_keys, index: usize) -> Checked<&[u8]> {
    keys.keys
        .get(index)
        .map(|k| &k[..])
        .ok_or(cortado_status::InvalidArgument)
}

/// Writes key number `index` (0 is the coldest) to `*out_key`/`*out_key_len`, borrowed until
/// the list is freed.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT for an index past the end.
///
/// # Safety
/// `keys` NULL or live; the out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_keys_get(
    keys: *const cortado_keys,
    index: usize,
    out_key: *mut *const u8,
    out_key_len: *mut usize,
) -> cortado_status {
    ffi_status! {
        let key_out = unsafe { clear_out(out_key) }?;
        let len_out = unsafe { out(out_key_len) }?;
        let key = key_at(unsafe { handle(keys) }?, index)?;
        *key_out = key.as_ptr();
        *len_out = key.len();
        Ok(cortado_status::Ok)
    }
}

/// Frees a key list (NULL-safe).
///
/// # Safety
/// `keys` NULL or a list not freed yet.
#[no_mangle]
pub unsafe extern "C" fn cortado_keys_free(keys: *mut cortado_keys) {
    ffi_guard! {
        if !keys.is_null() {
            // SAFETY: the caller gives back the list `cortado_cache_keys_coldest_first` gave it.
            drop(unsafe { Box::from_raw(keys) });
        }
    }
}
