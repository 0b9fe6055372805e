//! `cortado_clock`: a manual clock, so C tests (and the conformance replay) control time
//! instead of sleeping.
//!
//! It wraps the core's mock clock. The handle is reference-counted because a builder and every
//! cache built from it share the clock with the test that advances it.

use std::sync::{Arc, Mutex};

use cortado::quanta::{Clock, Mock};

use crate::boundary::{ffi_guard, ffi_status, handle, Checked};
use crate::status::cortado_status;

/// A manual clock: starts at 0 and moves only by `cortado_clock_advance_ns`. Thread-safe.
/// Reference-counted: `cortado_builder_clock` keeps its own reference, so the clock may
/// be freed while caches still use it (they keep it alive).
pub struct cortado_clock {
    clock: Clock,
    mock: Arc<Mock>,
    /// Nanoseconds advanced so far; the mock itself would wrap (or panic) past `u64::MAX`.
    elapsed: Mutex<u64>,
}

impl cortado_clock {
    /// The time source a cache reads.
    pub(crate) fn source(&self) -> Clock {
        self.clock.clone()
    }

    fn advance(&self, delta_ns: u64) -> Checked<()> {
        let mut elapsed = self.elapsed.lock().unwrap_or_else(|p| p.into_inner());
        *elapsed = elapsed
            .checked_add(delta_ns)
            .ok_or(cortado_status::InvalidArgument)?;
        self.mock.increment(delta_ns);
        Ok(())
    }
}

/// Borrows the clock behind a handle as a new reference.
///
/// # Safety
/// `ptr` must be NULL or a live clock handle.
pub(crate) unsafe fn share(ptr: *mut cortado_clock) -> Checked<Arc<cortado_clock>> {
    // SAFETY: live by contract.
    unsafe { handle(ptr.cast_const()) }?;
    // SAFETY: the handle came from `Arc::into_raw` and the caller's reference keeps it alive.
    unsafe {
        Arc::increment_strong_count(ptr.cast_const());
        Ok(Arc::from_raw(ptr.cast_const()))
    }
}

/// A new manual clock at time 0 (free it with `cortado_clock_free`). NULL only if the library
/// panicked.
#[no_mangle]
pub extern "C" fn cortado_clock_new_manual() -> *mut cortado_clock {
    ffi_guard! {
        let (clock, mock) = Clock::mock();
        Arc::into_raw(Arc::new(cortado_clock {
            clock,
            mock,
            elapsed: Mutex::new(0),
        }))
        .cast_mut()
    }
}

/// Moves the clock forward by `delta_ns` nanoseconds (0 is allowed and does nothing). Expiry
/// is checked on the next access; `cortado_cache_run_pending_tasks` reclaims expired entries
/// at once.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT when the clock would pass `UINT64_MAX`
/// nanoseconds in total (it is then left unchanged).
///
/// # Safety
/// `clock` must be NULL or a live clock handle.
#[no_mangle]
pub unsafe extern "C" fn cortado_clock_advance_ns(
    clock: *mut cortado_clock,
    delta_ns: u64,
) -> cortado_status {
    ffi_status! {
        let clock = unsafe { handle(clock.cast_const()) }?;
        clock.advance(delta_ns)?;
        Ok(cortado_status::Ok)
    }
}

/// Drops the caller's reference (NULL-safe). Caches built with the clock keep it alive.
///
/// # Safety
/// `clock` must be NULL or a clock handle the caller has not freed yet.
#[no_mangle]
pub unsafe extern "C" fn cortado_clock_free(clock: *mut cortado_clock) {
    ffi_guard! {
        if !clock.is_null() {
            // SAFETY: the caller gives up the reference `cortado_clock_new_manual` gave it.
            drop(unsafe { Arc::from_raw(clock.cast_const()) });
        }
    }
}
