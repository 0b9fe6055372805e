//! `cortado_builder`: typed setters for every cache setting, then `build`.
//!
//! The builder only records settings; the core's `try_build` is the one place a configuration
//! is judged, and its `BuildError` becomes INVALID_ARGUMENT. Setters refuse only what no
//! setting could mean (zero durations, unknown enum values) so the mistake is reported where
//! it was made. A builder is not consumed by `build`: it can build several caches, which share
//! its callbacks (and their userdata) and its clock.

use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use cortado::{Cache, EvictionPolicy};

use crate::boundary::{clear_out, duration_ns, ffi_guard, ffi_status, handle_mut};
use crate::cache::cortado_cache;
use crate::callbacks::{
    cortado_free_fn, cortado_listener_fn, cortado_weigher_fn, CallbackWeigher, Listener, Userdata,
    WeigherSetting,
};
use crate::clock::{self, cortado_clock};
use crate::expiry::{cortado_expiry_fn, CallbackExpiry, SharedExpiry};
use crate::status::cortado_status;

/// Which entries a full cache keeps (`cortado_builder_eviction_policy`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortado_eviction_policy {
    /// Adaptive W-TinyLFU (the default): near-optimal hit ratio, scan-resistant.
    TinyLfu = 0,
    /// Exact least-recently-used order, with no admission filter.
    Lru = 1,
}

/// Cache settings, recorded until `cortado_builder_build`. Belongs to one thread at a time.
#[derive(Default)]
pub struct cortado_builder {
    max_capacity: Option<u64>,
    weigher: Option<WeigherSetting>,
    ttl: Option<Duration>,
    tti: Option<Duration>,
    listener: Option<Arc<Listener>>,
    expiry: Option<Arc<CallbackExpiry>>,
    policy: EvictionPolicy,
    shards: Option<usize>,
    clock: Option<Arc<cortado_clock>>,
    /// `None`: the core's default (statistics on).
    record_stats: Option<bool>,
}

impl cortado_builder {
    fn build(&self) -> Result<cortado_cache, cortado::BuildError> {
        let mut b = Cache::builder().eviction_policy(self.policy);
        if let Some(max) = self.max_capacity {
            b = b.max_capacity(max);
        }
        if let Some(w) = &self.weigher {
            b = b.weigher(w.clone().into_closure());
        }
        if let Some(ttl) = self.ttl {
            b = b.time_to_live(ttl);
        }
        if let Some(tti) = self.tti {
            b = b.time_to_idle(tti);
        }
        if let Some(l) = &self.listener {
            b = b.eviction_listener(Arc::clone(l).into_closure());
        }
        if let Some(e) = &self.expiry {
            b = b.expire_after(SharedExpiry(Arc::clone(e)));
        }
        if let Some(n) = self.shards {
            b = b.shards(n);
        }
        if let Some(on) = self.record_stats {
            b = b.record_stats(on);
        }
        if let Some(c) = &self.clock {
            b = b.clock(c.source());
        }
        Ok(cortado_cache::new(b.try_build()?))
    }
}

/// A builder with every setting at its default: unbounded, no expiry, W-TinyLFU, the real
/// clock. Free it with `cortado_builder_free`. NULL only if the library panicked.
#[no_mangle]
pub extern "C" fn cortado_builder_new() -> *mut cortado_builder {
    ffi_guard! {
        Box::into_raw(Box::<cortado_builder>::default())
    }
}

/// Frees a builder (NULL-safe). Caches it built are unaffected.
///
/// # Safety
/// `builder` must be NULL or a builder not freed yet.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_free(builder: *mut cortado_builder) {
    ffi_guard! {
        if !builder.is_null() {
            // SAFETY: the caller gives back the builder `cortado_builder_new` gave it.
            drop(unsafe { Box::from_raw(builder) });
        }
    }
}

/// Bounds the cache to `max_entries` entries (0 keeps nothing). Replaces an earlier
/// `cortado_builder_max_weight`. Without either the cache is unbounded.
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `builder` must be NULL or a live builder.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_max_capacity(
    builder: *mut cortado_builder,
    max_entries: u64,
) -> cortado_status {
    ffi_status! {
        let b = unsafe { handle_mut(builder) }?;
        b.max_capacity = Some(max_entries);
        b.weigher = None;
        Ok(cortado_status::Ok)
    }
}

/// Bounds the total weight of the entries to `max_weight`. Each entry weighs
/// `weigher(userdata, key, key_len, value, value_len)`, or, with a NULL `weigher`, its key
/// length plus its value length. Replaces an earlier `max_capacity` or `max_weight`.
///
/// `userdata_free` (if not NULL) is called with `userdata` exactly once: when the builder and
/// every cache built from it are freed or the setting is replaced, or before this call returns
/// if it fails or `weigher` is NULL (the userdata is then unused).
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `builder` must be NULL or a live builder; `weigher` must be safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_max_weight(
    builder: *mut cortado_builder,
    max_weight: u64,
    weigher: cortado_weigher_fn,
    userdata: *mut c_void,
    userdata_free: cortado_free_fn,
) -> cortado_status {
    ffi_status! {
        let userdata = Userdata::new(userdata, userdata_free);
        let b = unsafe { handle_mut(builder) }?;
        b.max_capacity = Some(max_weight);
        b.weigher = Some(match weigher {
            Some(f) => WeigherSetting::Callback(Arc::new(CallbackWeigher { f, userdata })),
            None => WeigherSetting::KeyPlusValueLen,
        });
        Ok(cortado_status::Ok)
    }
}

/// Entries expire `ttl_ns` nanoseconds after they were written.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT for 0.
///
/// # Safety
/// `builder` must be NULL or a live builder.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_time_to_live_ns(
    builder: *mut cortado_builder,
    ttl_ns: u64,
) -> cortado_status {
    ffi_status! {
        let b = unsafe { handle_mut(builder) }?;
        b.ttl = Some(duration_ns(ttl_ns)?);
        Ok(cortado_status::Ok)
    }
}

/// Entries expire `tti_ns` nanoseconds after they were last read or written.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT for 0.
///
/// # Safety
/// `builder` must be NULL or a live builder.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_time_to_idle_ns(
    builder: *mut cortado_builder,
    tti_ns: u64,
) -> cortado_status {
    ffi_status! {
        let b = unsafe { handle_mut(builder) }?;
        b.tti = Some(duration_ns(tti_ns)?);
        Ok(cortado_status::Ok)
    }
}

/// Calls `listener(userdata, key, key_len, value, cause)` for every entry that leaves the
/// cache, on the thread whose call removed it, outside every cache lock (it may call the
/// cache). Freeing the cache does not report the entries it still holds.
///
/// `userdata_free` follows the same rule as in `cortado_builder_max_weight`.
///
/// Returns OK or NULL_ARGUMENT (`builder` or `listener` NULL).
///
/// # Safety
/// `builder` must be NULL or a live builder; `listener` must be safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_eviction_listener(
    builder: *mut cortado_builder,
    listener: cortado_listener_fn,
    userdata: *mut c_void,
    userdata_free: cortado_free_fn,
) -> cortado_status {
    ffi_status! {
        let userdata = Userdata::new(userdata, userdata_free);
        let b = unsafe { handle_mut(builder) }?;
        let f = listener.ok_or(cortado_status::NullArgument)?;
        b.listener = Some(Arc::new(Listener { f, userdata }));
        Ok(cortado_status::Ok)
    }
}

/// Per-entry expiry: the cache asks `on_create` when a key is written while absent (or
/// expired), `on_read` when it is read (`cortado_cache_get`, `get_copy`, a `get_with` hit), and
/// `on_update` when its value is replaced, each as `f(userdata, key, key_len, value,
/// current_remaining_ns, &out_ns)`; see `cortado_expiry_fn` and `cortado_expiry_decision`.
/// A SET gives the entry a deadline of its own, which overrides the cache-wide time-to-live
/// and time-to-idle from then on; KEEP leaves a deadline of the entry's own as it is, and an
/// entry without one goes on following the cache-wide settings (so a replacement restarts its
/// time-to-live, as without callbacks). Any of the three may be NULL (KEEP for that event). `cortado_cache_peek`,
/// `contains` and `remaining_ttl_ns` do not count as reads; an insert with its own TTL
/// (`insert_with_ttl_ns`) is not asked. The callbacks run on the calling thread, outside
/// every cache lock (they may call the cache), and must not unwind. A typical use is
/// negative caching: a short lifetime for the values that stand for "not found".
///
/// Replaces an earlier expiry setting; with all three NULL it removes the setting.
/// `userdata_free` follows the same rule as in `cortado_builder_max_weight` (with all three
/// callbacks NULL the userdata is unused and freed before this call returns).
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `builder` must be NULL or a live builder; the callbacks must be safe to call from any
/// thread.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_set_expiry(
    builder: *mut cortado_builder,
    on_create: cortado_expiry_fn,
    on_read: cortado_expiry_fn,
    on_update: cortado_expiry_fn,
    userdata: *mut c_void,
    userdata_free: cortado_free_fn,
) -> cortado_status {
    ffi_status! {
        let userdata = Userdata::new(userdata, userdata_free);
        let b = unsafe { handle_mut(builder) }?;
        b.expiry = if on_create.is_none() && on_read.is_none() && on_update.is_none() {
            None
        } else {
            Some(Arc::new(CallbackExpiry { on_create, on_read, on_update, userdata }))
        };
        Ok(cortado_status::Ok)
    }
}

/// Chooses the eviction policy (a `cortado_eviction_policy`).
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT for an unknown policy.
///
/// # Safety
/// `builder` must be NULL or a live builder.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_eviction_policy(
    builder: *mut cortado_builder,
    policy: u32,
) -> cortado_status {
    ffi_status! {
        let b = unsafe { handle_mut(builder) }?;
        b.policy = match policy {
            p if p == cortado_eviction_policy::TinyLfu as u32 => EvictionPolicy::TinyLfu,
            p if p == cortado_eviction_policy::Lru as u32 => EvictionPolicy::Lru,
            _ => return Err(cortado_status::InvalidArgument),
        };
        Ok(cortado_status::Ok)
    }
}

/// Number of map shards (rounded up to a power of two, at most 256); the default is 4 per CPU.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT for 0.
///
/// # Safety
/// `builder` must be NULL or a live builder.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_shards(
    builder: *mut cortado_builder,
    shards: u32,
) -> cortado_status {
    ffi_status! {
        let b = unsafe { handle_mut(builder) }?;
        if shards == 0 {
            return Err(cortado_status::InvalidArgument);
        }
        b.shards = Some(usize::try_from(shards).unwrap_or(usize::MAX));
        Ok(cortado_status::Ok)
    }
}

/// Whether the caches built from now on count hits and misses for `cortado_cache_stat`
/// (default: yes). Counting costs every read an atomic add, about a tenth of a hit; with it
/// off, the HITS and MISSES counters stay 0 (loads and evictions are still counted).
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `builder` must be NULL or a live builder.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_record_stats(
    builder: *mut cortado_builder,
    record: bool,
) -> cortado_status {
    ffi_status! {
        let b = unsafe { handle_mut(builder) }?;
        b.record_stats = Some(record);
        Ok(cortado_status::Ok)
    }
}

/// Uses `clock` (from `cortado_clock_new_manual`) as the time source of the caches built from
/// now on. The builder and those caches hold their own references to it.
///
/// Returns OK or NULL_ARGUMENT.
///
/// # Safety
/// `builder` must be NULL or a live builder; `clock` NULL or a live clock.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_clock(
    builder: *mut cortado_builder,
    clock: *mut cortado_clock,
) -> cortado_status {
    ffi_status! {
        let b = unsafe { handle_mut(builder) }?;
        b.clock = Some(unsafe { clock::share(clock) }?);
        Ok(cortado_status::Ok)
    }
}

/// Builds a cache from the current settings and writes it to `*out_cache` (free it with
/// `cortado_cache_free`). The builder stays usable and still has to be freed.
///
/// Returns OK, NULL_ARGUMENT, or INVALID_ARGUMENT when the core refuses the settings.
///
/// # Safety
/// `builder` must be NULL or a live builder; `out_cache` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cortado_builder_build(
    builder: *mut cortado_builder,
    out_cache: *mut *mut cortado_cache,
) -> cortado_status {
    ffi_status! {
        let out = unsafe { clear_out(out_cache.cast::<*const cortado_cache>()) }?;
        let b = unsafe { handle_mut(builder) }?;
        let cache = b.build().map_err(|_| cortado_status::InvalidArgument)?;
        *out = Box::into_raw(Box::new(cache));
        Ok(cortado_status::Ok)
    }
}
