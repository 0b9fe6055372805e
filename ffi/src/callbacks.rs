//! C callbacks registered on a builder (weigher, eviction listener), adapted to the closures
//! the core takes, with the userdata finalizer run exactly once.
//!
//! A registration is kept in an `Arc` shared by the builder and by every cache built from it,
//! so the finalizer runs when the last of them lets go, on that thread. The core calls these
//! closures outside its locks, so a callback may call back into the cache.

use std::ffi::{c_void, CString};
use std::sync::{Arc, OnceLock};

use cortado::RemovalCause;

use crate::value::{cortado_value, Value};

/// Frees a registration's `userdata`; called exactly once, when the builder and every cache
/// built from it have been freed (or when the setting is replaced on the builder).
pub type cortado_free_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// The weight of an entry (counted against the bound given to `cortado_builder_max_weight`).
/// Weight 0 pins an entry: it is never evicted for size.
pub type cortado_weigher_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> u32,
>;

/// Told about every entry that leaves the cache, with why (a `cortado_removal_cause`). `value`
/// is borrowed for the call: `cortado_value_retain` it to keep it.
pub type cortado_listener_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        value: *const cortado_value,
        cause: u32,
    ),
>;

/// Why an entry left the cache (the `cause` given to a `cortado_listener_fn`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortado_removal_cause {
    /// Removed by the caller: `remove`, `invalidate_all`, `invalidate_if`.
    Explicit = 0,
    /// Its value was replaced by an insert of the same key.
    Replaced = 1,
    /// Its time-to-live, time-to-idle or per-entry TTL passed.
    Expired = 2,
    /// Evicted to keep the cache within its bound.
    Size = 3,
}

impl cortado_removal_cause {
    pub(crate) fn from_core(cause: RemovalCause) -> Self {
        match cause {
            RemovalCause::Explicit => Self::Explicit,
            RemovalCause::Replaced => Self::Replaced,
            RemovalCause::Expired => Self::Expired,
            RemovalCause::Size => Self::Size,
        }
    }

    /// The core's cause for a C number, if it is one.
    pub(crate) fn to_core(cause: u32) -> Option<RemovalCause> {
        Some(match cause {
            0 => RemovalCause::Explicit,
            1 => RemovalCause::Replaced,
            2 => RemovalCause::Expired,
            3 => RemovalCause::Size,
            _ => return None,
        })
    }
}

/// A caller's `userdata` and its finalizer: dropping this runs the finalizer.
pub(crate) struct Userdata {
    ptr: *mut c_void,
    free: cortado_free_fn,
}

// SAFETY: the header documents that callbacks and finalizers run on any thread, so the caller
// promises its userdata may be used from any thread.
unsafe impl Send for Userdata {}
// SAFETY: as above.
unsafe impl Sync for Userdata {}

impl Userdata {
    pub(crate) fn new(ptr: *mut c_void, free: cortado_free_fn) -> Self {
        Self { ptr, free }
    }

    pub(crate) fn ptr(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for Userdata {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the registration's contract: called once, with its userdata.
            unsafe { free(self.ptr) };
        }
    }
}

/// How entries are weighed under `cortado_builder_max_weight`.
#[derive(Clone)]
pub(crate) enum WeigherSetting {
    /// Key length plus value length, saturated to `u32`.
    KeyPlusValueLen,
    /// The caller's callback.
    Callback(Arc<CallbackWeigher>),
}

pub(crate) struct CallbackWeigher {
    pub(crate) f: unsafe extern "C" fn(*mut c_void, *const u8, usize, *const u8, usize) -> u32,
    pub(crate) userdata: Userdata,
}

impl WeigherSetting {
    /// The closure the core calls on every write.
    // The core's weigher takes `&K`, and `K` is `Box<[u8]>`.
    #[allow(clippy::borrowed_box)]
    pub(crate) fn into_closure(self) -> impl Fn(&Box<[u8]>, &Value) -> u32 + Send + Sync + 'static {
        move |key: &Box<[u8]>, value: &Value| match &self {
            WeigherSetting::KeyPlusValueLen => {
                u32::try_from(key.len().saturating_add(value.bytes().len())).unwrap_or(u32::MAX)
            }
            WeigherSetting::Callback(w) => {
                let v = value.bytes();
                // SAFETY: the registered callback, with pointers valid for the call.
                unsafe {
                    (w.f)(
                        w.userdata.ptr(),
                        key.as_ptr(),
                        key.len(),
                        v.as_ptr(),
                        v.len(),
                    )
                }
            }
        }
    }
}

pub(crate) struct Listener {
    pub(crate) f: unsafe extern "C" fn(*mut c_void, *const u8, usize, *const cortado_value, u32),
    pub(crate) userdata: Userdata,
}

impl Listener {
    /// The closure the core calls for every removal.
    pub(crate) fn into_closure(
        self: Arc<Self>,
    ) -> impl Fn(Box<[u8]>, Value, RemovalCause) + Send + Sync + 'static {
        move |key: Box<[u8]>, value: Value, cause: RemovalCause| {
            let cause = cortado_removal_cause::from_core(cause) as u32;
            // SAFETY: the registered callback; the key and value outlive the call (the value
            // is borrowed: the callback retains it if it keeps it).
            unsafe {
                (self.f)(
                    self.userdata.ptr(),
                    key.as_ptr(),
                    key.len(),
                    Arc::as_ptr(&value),
                    cause,
                )
            };
        }
    }
}

/// A static, NUL-terminated name for a `cortado_removal_cause` ("explicit", "replaced",
/// "expired", "size": the names every binding and the conformance vectors share), or NULL for
/// a number that is not a cause.
#[no_mangle]
pub extern "C" fn cortado_removal_cause_str(cause: u32) -> *const std::ffi::c_char {
    crate::boundary::ffi_guard! {
        // The core's names, NUL-terminated once, in `cortado_removal_cause` order.
        static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            (0..)
                .map_while(cortado_removal_cause::to_core)
                .map(|c| CString::new(c.as_str()).expect("cause names have no NUL"))
                .collect()
        });
        usize::try_from(cause)
            .ok()
            .and_then(|i| names.get(i))
            .map_or(std::ptr::null(), |n| n.as_ptr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_keep_their_numbers_and_the_core_names() {
        for n in 0..4u32 {
            let core = cortado_removal_cause::to_core(n).expect("a cause");
            assert_eq!(cortado_removal_cause::from_core(core) as u32, n);
            let name = cortado_removal_cause_str(n);
            // SAFETY: a non-NULL result is a static C string.
            let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_str().unwrap();
            assert_eq!(name, core.as_str());
        }
        assert!(cortado_removal_cause::to_core(4).is_none());
        assert!(cortado_removal_cause_str(4).is_null());
    }
}
