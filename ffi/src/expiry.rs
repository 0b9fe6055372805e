//! Per-entry expiry from C callbacks (`cortado_builder_set_expiry`), adapted to the core's
//! `Expiry` trait.
//!
//! The core asks its `Expiry` outside every lock, on the thread that made the call, so the C
//! callbacks follow the same rules as the other callbacks: they run on any thread and may call
//! the cache. Like the weigher and the listener, the registration lives in an `Arc` shared by
//! the builder and every cache built from it; its userdata finalizer runs when the last of
//! them lets go.

use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use cortado::quanta::Instant;
use cortado::Expiry;

use crate::callbacks::Userdata;
use crate::value::{cortado_value, Value};

/// The `current_remaining_ns` an expiry callback gets for an entry with no deadline (and
/// always in `on_create`); as `*out_ns` with SET it means "never expires".
pub const CORTADO_NO_DEADLINE: u64 = u64::MAX;

/// What an expiry callback decides (its return value).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortado_expiry_decision {
    /// Leave the deadline as it is. On create: no deadline of its own (the cache-wide
    /// time-to-live / time-to-idle, if any, apply).
    Keep = 0,
    /// The entry expires `*out_ns` nanoseconds from now (0: at once; `CORTADO_NO_DEADLINE`:
    /// never). Overrides the cache-wide time-to-live and time-to-idle for this entry.
    Set = 1,
}

/// Decides an entry's lifetime when it is created, read or updated. `value` is borrowed for
/// the call; `current_remaining_ns` is the time the entry has left, `CORTADO_NO_DEADLINE` if
/// it has no deadline (always so on create). Return a `cortado_expiry_decision`: SET with the
/// new lifetime in `*out_ns`, or KEEP (any other number counts as KEEP).
pub type cortado_expiry_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        value: *const cortado_value,
        current_remaining_ns: u64,
        out_ns: *mut u64,
    ) -> u32,
>;

/// The three callbacks of one `cortado_builder_set_expiry` and their userdata.
pub(crate) struct CallbackExpiry {
    pub(crate) on_create: cortado_expiry_fn,
    pub(crate) on_read: cortado_expiry_fn,
    pub(crate) on_update: cortado_expiry_fn,
    pub(crate) userdata: Userdata,
}

impl CallbackExpiry {
    /// Calls `f` (if set) and turns a SET into the lifetime the core takes.
    fn ask(
        &self,
        f: cortado_expiry_fn,
        key: &[u8],
        value: &Value,
        current: Option<Duration>,
    ) -> Option<Duration> {
        let f = f?;
        // A finite lifetime never reads as the sentinel.
        let current = current.map_or(CORTADO_NO_DEADLINE, |d| {
            u64::try_from(d.as_nanos())
                .map_or(CORTADO_NO_DEADLINE - 1, |n| n.min(CORTADO_NO_DEADLINE - 1))
        });
        let mut ns = 0u64;
        // SAFETY: the registered callback, with the key, the value and `ns` valid for the call.
        let decision = unsafe {
            f(
                self.userdata.ptr(),
                key.as_ptr(),
                key.len(),
                Arc::as_ptr(value),
                current,
                &mut ns,
            )
        };
        match decision {
            // The core saturates a huge lifetime to "never".
            d if d == cortado_expiry_decision::Set as u32 => Some(Duration::from_nanos(ns)),
            d if d == cortado_expiry_decision::Keep as u32 => None,
            // A number that is no decision keeps the deadline (documented).
            _ => None,
        }
    }
}

/// The `Expiry` the core holds: a shared reference to the registration.
pub(crate) struct SharedExpiry(pub(crate) Arc<CallbackExpiry>);

// The core's `Expiry` takes `&K`, and `K` is `Box<[u8]>`.
#[allow(clippy::borrowed_box)]
impl Expiry<Box<[u8]>, Value> for SharedExpiry {
    fn expire_after_create(
        &self,
        key: &Box<[u8]>,
        value: &Value,
        _created_at: Instant,
    ) -> Option<Duration> {
        self.0.ask(self.0.on_create, key, value, None)
    }

    fn expire_after_read(
        &self,
        key: &Box<[u8]>,
        value: &Value,
        _read_at: Instant,
        duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.0
            .ask(self.0.on_read, key, value, duration_until_expiry)
    }

    fn expire_after_update(
        &self,
        key: &Box<[u8]>,
        value: &Value,
        _updated_at: Instant,
        duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.0
            .ask(self.0.on_update, key, value, duration_until_expiry)
    }
}
