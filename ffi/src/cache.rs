//! `cortado_cache`: the byte cache and its reads, writes, removals and sizes.
//!
//! Keys are copied into the cache as `Box<[u8]>`; lookups borrow the caller's bytes, so a hit
//! allocates nothing. Values are `cortado_value` handles: a read hands out a new reference
//! instead of a copy (or copies into the caller's buffer with `get_copy`).

use std::ffi::c_void;
use std::time::Duration;

use cortado::Cache;

use crate::boundary::{bytes, clear_out, duration_ns, ffi_guard, ffi_status, handle, out, Checked};
use crate::status::cortado_status;
use crate::value::{self, cortado_value, into_raw, Value};

/// Decides whether `cortado_cache_invalidate_if` removes an entry. `value` is borrowed for
/// the call.
pub type cortado_predicate_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        value: *const cortado_value,
    ) -> bool,
>;

/// The core cache over byte keys and value handles.
pub(crate) type ByteCache = Cache<Box<[u8]>, Value>;

/// A cache of byte keys and `cortado_value`s. Thread-safe: every function may be called on
/// one cache from many threads at once, except `cortado_cache_free`, which must be the last.
pub struct cortado_cache {
    pub(crate) cache: ByteCache,
}

impl cortado_cache {
    pub(crate) fn new(cache: ByteCache) -> Self {
        Self { cache }
    }
}

/// Borrows the cache behind a handle, or `NULL_ARGUMENT`.
///
/// # Safety
/// `ptr` must be NULL or a live cache handle.
pub(crate) unsafe fn cache<'a>(ptr: *mut cortado_cache) -> Checked<&'a ByteCache> {
    // SAFETY: NULL or live, by contract.
    Ok(&unsafe { handle(ptr.cast_const()) }?.cache)
}

/// Frees the cache (NULL-safe): releases its references to the values it holds, without
/// reporting them to the listener, then runs the finalizers of the callbacks no other cache
/// or builder shares. Must be the last call on the cache, on any thread.
///
/// # Safety
/// `cache` must be NULL or a cache not freed yet, not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_free(cache: *mut cortado_cache) {
    ffi_guard! {
        if !cache.is_null() {
            // SAFETY: the caller gives back the cache `cortado_builder_build` gave it.
            drop(unsafe { Box::from_raw(cache) });
        }
    }
}

/// Looks `key` up and, if present and not expired, writes a new reference to its value to
/// `*out_value` (release it with `cortado_value_release`). Counts as a use (eviction order,
/// time-to-idle) and as a hit or miss in the statistics.
///
/// Returns OK, NOT_FOUND, NULL_ARGUMENT or INVALID_ARGUMENT (key length).
///
/// # Safety
/// `cache` NULL or live; `key` readable for `key_len` bytes; `out_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_get(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    out_value: *mut *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_value) }?;
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let v = cache.get(key).ok_or(cortado_status::NotFound)?;
        *out = into_raw(v);
        Ok(cortado_status::Ok)
    }
}

/// Like `cortado_cache_get` without any effect: not a use, not counted in the statistics.
///
/// Returns OK, NOT_FOUND, NULL_ARGUMENT or INVALID_ARGUMENT (key length).
///
/// # Safety
/// As for `cortado_cache_get`.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_peek(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    out_value: *mut *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_value) }?;
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let v = cache.peek(key).ok_or(cortado_status::NotFound)?;
        *out = into_raw(v);
        Ok(cortado_status::Ok)
    }
}

/// Like `cortado_cache_get`, copying the value into `buf` (`buf_len` bytes) instead. On OK
/// `*out_len` is the value's length; on BUFFER_TOO_SMALL `*out_len` is the length needed and
/// `buf` is untouched (call with `buf_len` 0 to ask for the size; each call is a lookup, and
/// the value may change between two calls).
///
/// Returns OK, NOT_FOUND, BUFFER_TOO_SMALL, NULL_ARGUMENT (also `buf` NULL with
/// `buf_len > 0`) or INVALID_ARGUMENT (a length above `PTRDIFF_MAX`).
///
/// # Safety
/// As for `cortado_cache_get`; `buf` writable for `buf_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_get_copy(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> cortado_status {
    ffi_status! {
        let out_len = unsafe { out(out_len) }?;
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        // Validates the buffer pair the same way as an input pair.
        unsafe { bytes(buf.cast_const(), buf_len) }?;
        let v = cache.get(key).ok_or(cortado_status::NotFound)?;
        let data = v.bytes();
        *out_len = data.len();
        if data.len() > buf_len {
            return Err(cortado_status::BufferTooSmall);
        }
        if !data.is_empty() {
            // SAFETY: `buf` holds `buf_len >= data.len()` writable bytes (checked non-NULL
            // above since `buf_len > 0`); a cache value never aliases a caller's buffer.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len()) };
        }
        Ok(cortado_status::Ok)
    }
}

/// Writes to `*out` whether `key` is present and not expired. No effect on the policy or the
/// statistics.
///
/// Returns OK, NULL_ARGUMENT or INVALID_ARGUMENT (key length).
///
/// # Safety
/// As for `cortado_cache_get`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_contains(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    out: *mut bool,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { self::out(out) }?;
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        *out = cache.contains_key(key);
        Ok(cortado_status::Ok)
    }
}

/// The shared tail of the insert functions.
fn write(cache: &ByteCache, key: &[u8], value: Value, ttl: Option<Duration>) {
    match ttl {
        Some(ttl) => cache.insert_with_ttl(key.into(), value, ttl),
        None => cache.insert(key.into(), value),
    }
}

/// Inserts or replaces `key` with a copy of `(value, value_len)`. A replaced value is
/// reported to the listener as REPLACED; entries evicted to make room as SIZE.
///
/// Returns OK, NULL_ARGUMENT or INVALID_ARGUMENT (a length above `PTRDIFF_MAX`).
///
/// # Safety
/// `cache` NULL or live; `key` and `value` readable for their lengths.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_insert(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> cortado_status {
    ffi_status! {
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let value = unsafe { bytes(value, value_len) }?;
        write(cache, key, cortado_value::copy(value), None);
        Ok(cortado_status::Ok)
    }
}

/// Like `cortado_cache_insert`, with a time-to-live of its own (`ttl_ns` nanoseconds from
/// now) that overrides the cache-wide time-to-live and time-to-idle for this entry.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT (`ttl_ns` 0, or a length above
/// `PTRDIFF_MAX`).
///
/// # Safety
/// As for `cortado_cache_insert`.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_insert_with_ttl_ns(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    ttl_ns: u64,
) -> cortado_status {
    ffi_status! {
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let value = unsafe { bytes(value, value_len) }?;
        let ttl = duration_ns(ttl_ns)?;
        write(cache, key, cortado_value::copy(value), Some(ttl));
        Ok(cortado_status::Ok)
    }
}

/// Inserts or replaces `key` with `value` itself, without copying the bytes: the cache takes
/// its own reference, and the caller keeps (and still releases) its own. With a value from
/// `cortado_value_adopt` this inserts the caller's buffer with no copy at all.
///
/// Returns OK, NULL_ARGUMENT or INVALID_ARGUMENT (key length).
///
/// # Safety
/// `cache` NULL or live; `key` readable; `value` NULL or a live value handle.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_insert_value(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    value: *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let value = unsafe { value::share(value) }?;
        write(cache, key, value, None);
        Ok(cortado_status::Ok)
    }
}

/// `cortado_cache_insert_value` with a time-to-live of its own (see
/// `cortado_cache_insert_with_ttl_ns`).
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT (`ttl_ns` 0, or key length).
///
/// # Safety
/// As for `cortado_cache_insert_value`.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_insert_value_with_ttl_ns(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    value: *const cortado_value,
    ttl_ns: u64,
) -> cortado_status {
    ffi_status! {
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let ttl = duration_ns(ttl_ns)?;
        let value = unsafe { value::share(value) }?;
        write(cache, key, value, Some(ttl));
        Ok(cortado_status::Ok)
    }
}

/// Removes `key`. If it was present and not expired, and `out_old` is not NULL, its value is
/// written there (a new reference to release). Reported to the listener as EXPLICIT (EXPIRED
/// if it had expired).
///
/// Returns OK, NOT_FOUND, NULL_ARGUMENT or INVALID_ARGUMENT (key length).
///
/// # Safety
/// `cache` NULL or live; `key` readable; `out_old` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_remove(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    out_old: *mut *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let out = if out_old.is_null() { None } else { Some(unsafe { clear_out(out_old) }?) };
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let old = cache.remove(key).ok_or(cortado_status::NotFound)?;
        if let Some(out) = out {
            *out = into_raw(old);
        }
        Ok(cortado_status::Ok)
    }
}

/// Removes every entry, each reported to the listener as EXPLICIT (EXPIRED if expired).
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `cache` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_invalidate_all(cache: *mut cortado_cache) -> cortado_status {
    ffi_status! {
        unsafe { self::cache(cache) }?.invalidate_all();
        Ok(cortado_status::Ok)
    }
}

/// Removes every entry for which `predicate(userdata, key, key_len, value)` returns true, each
/// reported as EXPLICIT, and writes how many were removed to `*out_removed` if it is not
/// NULL. The predicate runs on this thread, outside every cache lock, on a snapshot of each
/// shard (it may call the cache; an entry replaced meanwhile is judged again).
///
/// Returns OK or NULL_ARGUMENT (`cache` or `predicate` NULL).
///
/// # Safety
/// `cache` NULL or live; `predicate` must not unwind; `out_removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_invalidate_if(
    cache: *mut cortado_cache,
    predicate: cortado_predicate_fn,
    userdata: *mut c_void,
    out_removed: *mut u64,
) -> cortado_status {
    ffi_status! {
        let cache = unsafe { self::cache(cache) }?;
        let predicate = predicate.ok_or(cortado_status::NullArgument)?;
        let removed = cache.invalidate_entries_if(|k, v| {
            // SAFETY: the caller's predicate, with pointers valid for the call.
            unsafe { predicate(userdata, k.as_ptr(), k.len(), std::sync::Arc::as_ptr(v)) }
        });
        if let Some(out) = unsafe { out_removed.as_mut() } {
            *out = u64::try_from(removed).unwrap_or(u64::MAX);
        }
        Ok(cortado_status::Ok)
    }
}

/// Does the cache's pending upkeep now: applies buffered reads and writes to the policy,
/// reclaims every expired entry and evicts down to the bound (listeners run on this thread).
/// Upkeep otherwise happens a little at a time inside other calls.
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `cache` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_run_pending_tasks(
    cache: *mut cortado_cache,
) -> cortado_status {
    ffi_status! {
        unsafe { self::cache(cache) }?.run_pending_tasks();
        Ok(cortado_status::Ok)
    }
}

/// Writes the number of stored entries to `*out` (expired ones not yet reclaimed included:
/// call `cortado_cache_run_pending_tasks` first for an exact count).
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `cache` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_entry_count(
    cache: *mut cortado_cache,
    out: *mut u64,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { self::out(out) }?;
        *out = unsafe { self::cache(cache) }?.entry_count();
        Ok(cortado_status::Ok)
    }
}

/// Writes the total weight of the stored entries to `*out` (the entry count without
/// `cortado_builder_max_weight`).
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `cache` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_weighted_size(
    cache: *mut cortado_cache,
    out: *mut u64,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { self::out(out) }?;
        *out = unsafe { self::cache(cache) }?.weighted_size();
        Ok(cortado_status::Ok)
    }
}

/// Writes the configured bound (entries, or total weight) to `*out`; `UINT64_MAX` when
/// unbounded.
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `cache` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_max_capacity(
    cache: *mut cortado_cache,
    out: *mut u64,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { self::out(out) }?;
        *out = unsafe { self::cache(cache) }?.max_capacity();
        Ok(cortado_status::Ok)
    }
}

/// Writes the remaining lifetime of `key`'s entry in nanoseconds to `*out`, or `UINT64_MAX`
/// if it never expires. No effect on the policy or the statistics.
///
/// Returns OK, NOT_FOUND (absent or expired), NULL_ARGUMENT or INVALID_ARGUMENT (key length).
///
/// # Safety
/// `cache` NULL or live; `key` readable; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_cache_remaining_ttl_ns(
    cache: *mut cortado_cache,
    key: *const u8,
    key_len: usize,
    out: *mut u64,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { self::out(out) }?;
        let cache = unsafe { self::cache(cache) }?;
        let key = unsafe { bytes(key, key_len) }?;
        let remaining = cache.remaining_ttl(key).ok_or(cortado_status::NotFound)?;
        *out = match remaining {
            // A real remaining time never reaches `u64::MAX` ns (584 years), which means never.
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1).min(u64::MAX - 1),
            None => u64::MAX,
        };
        Ok(cortado_status::Ok)
    }
}
