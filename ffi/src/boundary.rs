//! The panic boundary and the argument checks every entry point shares.
//!
//! Since Rust 1.81 a panic unwinding out of an `extern "C"` function aborts the process, so a
//! bug in the library (or the core) would kill the C program. Every exported body therefore
//! runs inside `catch_unwind`: fallible functions return `CORTADO_STATUS_PANIC`, infallible ones
//! a harmless default (NULL, 0). The macros go *inside* the body so cbindgen sees plain
//! `extern "C" fn` items and needs no macro expansion.
//!
//! The checks turn every C input the library cannot trust (NULL handles, NULL with a length,
//! lengths no Rust slice can have) into a status, before any reference or slice is formed.

use std::slice;

use crate::status::cortado_status;

/// Runs a fallible body that evaluates to `Result<cortado_status, cortado_status>` (so `?`
/// works on the argument checks) and flattens it; a panic becomes `CORTADO_STATUS_PANIC`.
macro_rules! ffi_status {
    ($($body:tt)*) => {{
        let run = || -> ::std::result::Result<
            $crate::status::cortado_status,
            $crate::status::cortado_status,
        > { $($body)* };
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(run)) {
            Ok(Ok(status)) | Ok(Err(status)) => status,
            Err(_) => $crate::status::cortado_status::Panic,
        }
    }};
}

/// Runs an infallible body; a panic returns the type's [`PanicDefault`] (NULL, 0, nothing).
macro_rules! ffi_guard {
    ($($body:tt)*) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* })) {
            Ok(value) => value,
            Err(_) => $crate::boundary::PanicDefault::panic_default(),
        }
    }};
}

pub(crate) use {ffi_guard, ffi_status};

/// What an infallible function returns when its body panicked.
pub(crate) trait PanicDefault {
    fn panic_default() -> Self;
}

impl PanicDefault for () {
    fn panic_default() {}
}

impl PanicDefault for usize {
    fn panic_default() -> Self {
        0
    }
}

impl<T> PanicDefault for *const T {
    fn panic_default() -> Self {
        std::ptr::null()
    }
}

impl<T> PanicDefault for *mut T {
    fn panic_default() -> Self {
        std::ptr::null_mut()
    }
}

/// The `Result` type of a body: the error is the status to return.
pub(crate) type Checked<T> = Result<T, cortado_status>;

/// Borrows a `(ptr, len)` byte pair: `(NULL, 0)` is empty, `(NULL, n > 0)` is
/// `NULL_ARGUMENT`, and a length no slice can have (above `isize::MAX`) is `INVALID_ARGUMENT`.
///
/// # Safety
/// A non-NULL `ptr` must point at `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Checked<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(cortado_status::NullArgument);
    }
    if len > isize::MAX as usize {
        return Err(cortado_status::InvalidArgument);
    }
    // SAFETY: non-NULL, length within `isize::MAX`, readability is the caller's contract.
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// Borrows a handle, or `NULL_ARGUMENT`.
///
/// # Safety
/// A non-NULL `ptr` must be a live handle of this type, valid for `'a`.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T) -> Checked<&'a T> {
    // SAFETY: liveness is the caller's contract.
    unsafe { ptr.as_ref() }.ok_or(cortado_status::NullArgument)
}

/// Borrows a handle mutably, or `NULL_ARGUMENT`.
///
/// # Safety
/// A non-NULL `ptr` must be a live handle of this type that nothing else uses meanwhile.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T) -> Checked<&'a mut T> {
    // SAFETY: liveness and exclusivity are the caller's contract.
    unsafe { ptr.as_mut() }.ok_or(cortado_status::NullArgument)
}

/// Borrows an out-parameter, or `NULL_ARGUMENT`.
///
/// # Safety
/// A non-NULL `ptr` must be writable for one `T`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T) -> Checked<&'a mut T> {
    // SAFETY: writability is the caller's contract.
    unsafe { ptr.as_mut() }.ok_or(cortado_status::NullArgument)
}

/// Clears a pointer out-parameter at entry, so that on any status but OK (a panic included)
/// the caller finds NULL rather than a stale handle it might release twice.
///
/// # Safety
/// A non-NULL `ptr` must be writable for one pointer.
pub(crate) unsafe fn clear_out<'a, T>(ptr: *mut *const T) -> Checked<&'a mut *const T> {
    // SAFETY: writability is the caller's contract.
    let slot = unsafe { ptr.as_mut() }.ok_or(cortado_status::NullArgument)?;
    *slot = std::ptr::null();
    Ok(slot)
}

/// A duration in nanoseconds as the core takes it. Zero is refused here: a zero lifetime is
/// always a mistake (the entry would be born expired). No `u64` of nanoseconds (584 years) can
/// exceed the core's 1000-year limit, which the core checks itself at build time.
pub(crate) fn duration_ns(ns: u64) -> Checked<std::time::Duration> {
    if ns == 0 {
        return Err(cortado_status::InvalidArgument);
    }
    Ok(std::time::Duration::from_nanos(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panics() -> cortado_status {
        ffi_status! {
            panic!("boom");
        }
    }

    fn panics_infallible() -> *const u8 {
        ffi_guard! {
            if true {
                panic!("boom");
            }
            std::ptr::dangling()
        }
    }

    #[test]
    fn a_panic_becomes_the_panic_status() {
        assert_eq!(panics(), cortado_status::Panic);
        assert!(panics_infallible().is_null());
    }

    #[test]
    fn byte_pairs_are_checked() {
        assert_eq!(unsafe { bytes(std::ptr::null(), 0) }, Ok(&[][..]));
        assert_eq!(
            unsafe { bytes(std::ptr::null(), 1) },
            Err(cortado_status::NullArgument)
        );
        let b = [1u8];
        assert_eq!(
            unsafe { bytes(b.as_ptr(), usize::MAX) },
            Err(cortado_status::InvalidArgument)
        );
        assert_eq!(duration_ns(0), Err(cortado_status::InvalidArgument));
    }
}
