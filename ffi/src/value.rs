//! `cortado_value`: the immutable, reference-counted bytes the cache stores and hands out.
//!
//! A value is an `Arc` whose raw pointer is the C handle, so a hit costs one atomic increment
//! and no copy, coalesced loads hand every waiter the very same pointer, and an entry evicted
//! while a caller still reads it stays valid until that caller releases it. The bytes are
//! either copied into Rust memory or adopted from the caller with a free callback (the role
//! of sqlite's destructor argument), so C code that already owns a buffer inserts it without
//! a copy.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::boundary::{bytes, clear_out, ffi_guard, ffi_status, Checked};
use crate::status::cortado_status;

/// Frees bytes adopted by `cortado_value_adopt`: called exactly once, with the `ctx`, `data`
/// and `len` given there, on whichever thread drops the last reference. Must not unwind.
pub type cortado_bytes_free_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, data: *const u8, len: usize)>;

/// Immutable bytes with a reference count. Thread-safe: any thread may read, retain or
/// release a value at any time. `cortado_value_data` stays valid until the reference it was
/// read through is released.
pub struct cortado_value {
    /// Where the bytes are; never NULL (dangling when empty), so C gets a usable pointer.
    data: NonNull<u8>,
    len: usize,
    owner: Owner,
}

/// Who frees the bytes.
enum Owner {
    /// A copy made by the library.
    Copied(#[allow(dead_code)] Box<[u8]>),
    /// The caller's buffer, handed back to `free` (if any) at the last release.
    Adopted {
        data: *const u8,
        free: cortado_bytes_free_fn,
        ctx: *mut c_void,
    },
}

// SAFETY: the bytes are never written after construction, and the adopted free callback is
// documented to be callable from any thread, so sharing and dropping across threads is sound.
unsafe impl Send for cortado_value {}
// SAFETY: as above; `&cortado_value` only reads immutable bytes.
unsafe impl Sync for cortado_value {}

/// The value type of the byte cache.
pub(crate) type Value = Arc<cortado_value>;

impl cortado_value {
    /// A value holding a copy of `bytes`.
    pub(crate) fn copy(bytes: &[u8]) -> Value {
        let boxed: Box<[u8]> = bytes.into();
        let data = NonNull::new(boxed.as_ptr().cast_mut()).unwrap_or(NonNull::dangling());
        Arc::new(cortado_value {
            data,
            len: boxed.len(),
            owner: Owner::Copied(boxed),
        })
    }

    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `data` points at `len` immutable bytes owned by `owner` (or is dangling
        // with `len == 0`), alive as long as `self`.
        unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
    }
}

impl Drop for cortado_value {
    fn drop(&mut self) {
        if let Owner::Adopted {
            data,
            free: Some(free),
            ctx,
        } = self.owner
        {
            // SAFETY: the caller gave us this callback to free exactly these bytes, once.
            unsafe { free(ctx, data, self.len) };
        }
    }
}

/// Hands a reference to C (the caller now owns one count).
pub(crate) fn into_raw(value: Value) -> *const cortado_value {
    Arc::into_raw(value)
}

/// A new reference to the value behind a C handle, leaving the caller's own reference alone.
///
/// # Safety
/// `ptr` must be a live handle (one the caller holds a reference to).
pub(crate) unsafe fn share(ptr: *const cortado_value) -> Checked<Value> {
    if ptr.is_null() {
        return Err(cortado_status::NullArgument);
    }
    // SAFETY: `ptr` came from `Arc::into_raw` and the caller's reference keeps it alive.
    unsafe {
        Arc::increment_strong_count(ptr);
        Ok(Arc::from_raw(ptr))
    }
}

/// Writes a new value holding a copy of `(data, len)` to `*out_value` (release it with
/// `cortado_value_release`).
///
/// Returns OK, or NULL_ARGUMENT (`out_value` NULL, or `data` NULL with `len > 0`),
/// INVALID_ARGUMENT (`len` above `PTRDIFF_MAX`).
///
/// # Safety
/// `data` must point at `len` readable bytes (or be NULL with `len == 0`).
#[no_mangle]
pub unsafe extern "C" fn cortado_value_new(
    data: *const u8,
    len: usize,
    out_value: *mut *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_value) }?;
        let data = unsafe { bytes(data, len) }?;
        *out = into_raw(cortado_value::copy(data));
        Ok(cortado_status::Ok)
    }
}

/// Writes to `*out_value` a new value that *adopts* the caller's bytes without copying them:
/// when the last reference is released, `free_fn(ctx, data, len)` runs, exactly once, on
/// whichever thread releases it. A NULL `free_fn` means the bytes are static (or outlive every
/// reference by other means) and nothing is freed.
///
/// The bytes must not change while the value lives. On a status other than OK nothing was
/// adopted and `free_fn` will not be called: the bytes are still the caller's.
///
/// Returns OK, NULL_ARGUMENT (`out_value` NULL, or `data` NULL with `len > 0`) or
/// INVALID_ARGUMENT (`len` above `PTRDIFF_MAX`).
///
/// # Safety
/// `data` must point at `len` readable bytes that stay valid and unchanged until `free_fn`
/// runs; `free_fn` must be safe to call from any thread and must not unwind.
#[no_mangle]
pub unsafe extern "C" fn cortado_value_adopt(
    data: *const u8,
    len: usize,
    free_fn: cortado_bytes_free_fn,
    ctx: *mut c_void,
    out_value: *mut *const cortado_value,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_value) }?;
        unsafe { bytes(data, len) }?;
        let shown = NonNull::new(data.cast_mut()).unwrap_or(NonNull::dangling());
        *out = into_raw(Arc::new(cortado_value {
            data: shown,
            len,
            owner: Owner::Adopted { data, free: free_fn, ctx },
        }));
        Ok(cortado_status::Ok)
    }
}

/// The value's bytes: never NULL for a live value (even when empty), valid while the caller
/// holds its reference. NULL for a NULL `value`.
///
/// # Safety
/// `value` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn cortado_value_data(value: *const cortado_value) -> *const u8 {
    ffi_guard! {
        // SAFETY: NULL or live, by contract.
        match unsafe { value.as_ref() } {
            Some(v) => v.data.as_ptr().cast_const(),
            None => std::ptr::null(),
        }
    }
}

/// The number of bytes in the value; 0 for a NULL `value`.
///
/// # Safety
/// `value` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn cortado_value_len(value: *const cortado_value) -> usize {
    ffi_guard! {
        // SAFETY: NULL or live, by contract.
        unsafe { value.as_ref() }.map_or(0, |v| v.len)
    }
}

/// Adds a reference and returns `value` (NULL-safe: returns NULL). Each retain needs its own
/// `cortado_value_release`.
///
/// # Safety
/// `value` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn cortado_value_retain(value: *const cortado_value) -> *const cortado_value {
    ffi_guard! {
        if !value.is_null() {
            // SAFETY: live by contract; the new count is owned by the caller.
            unsafe { Arc::increment_strong_count(value) };
        }
        value
    }
}

/// Drops a reference (NULL-safe). The last release frees the bytes (or calls the adopt
/// callback). The handle must not be used after its reference is released.
///
/// # Safety
/// `value` must be NULL or a handle on which the caller holds a reference.
#[no_mangle]
pub unsafe extern "C" fn cortado_value_release(value: *const cortado_value) {
    ffi_guard! {
        if !value.is_null() {
            // SAFETY: the caller gives up one reference it owns.
            drop(unsafe { Arc::from_raw(value) });
        }
    }
}
