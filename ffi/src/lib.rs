//! libcortado: the C ABI of the cortado cache, over byte keys and byte values.
//!
//! Conventions (they hold for every function in `include/cortado.h`):
//!
//! - Names start with `cortado_`; types are lower-case with no `_t` suffix; constants and enum
//!   values are `CORTADO_*`. Enum-like inputs are plain `uint32_t`, checked on entry: an unknown
//!   value is `CORTADO_STATUS_INVALID_ARGUMENT`.
//! - Handles are opaque. Each has a constructor and a `_free` (or `_release`) that accepts NULL.
//! - Every fallible function returns a `cortado_status` (a fixed-width `uint32_t`). Outputs
//!   come last, through out-parameters, written only on OK, with two documented exceptions
//!   (the needed size on BUFFER_TOO_SMALL, the loader's code on LOADER_FAILED). A pointer
//!   out-parameter is set to NULL on any other status, so a failed call never leaves a stale
//!   handle behind. `cortado_status_str` describes a status.
//! - Bytes go in as `(const uint8_t *ptr, size_t len)`: `(NULL, 0)` is empty, `(NULL, n > 0)` is
//!   NULL_ARGUMENT, a length above `PTRDIFF_MAX` is INVALID_ARGUMENT.
//! - Values come out without copies, as reference-counted immutable `cortado_value` handles:
//!   whatever returns a value returns a new reference, released with `cortado_value_release`.
//! - Durations are `uint64_t` nanoseconds, with `_ns` in the name. A zero time-to-live or
//!   time-to-idle is INVALID_ARGUMENT.
//! - Callbacks take `void *userdata` first. A registration that keeps userdata also takes a
//!   `cortado_free_fn`, called exactly once when nothing uses the userdata any more.
//!   Callbacks run on whichever thread made the call that triggers them (the cache has no
//!   threads of its own), never while a cache lock is held, so they may call the cache.
//!   They must not unwind into the library: no C++ exception, no `longjmp` out of a callback.
//! - Thread-safety: `cortado_cache`, `cortado_value`, `cortado_clock` and `cortado_keys` may
//!   be used from any number of threads at once (but `_free` must be a handle's last call);
//!   `cortado_builder`, `cortado_iter` and `cortado_load_ctx` belong to one thread at a time.
//! - No panic crosses the boundary: each function catches it and returns
//!   CORTADO_STATUS_PANIC (infallible ones return NULL or 0). A panic is a library bug.
//! - Compile-time `CORTADO_VERSION_*` macros sit beside the run-time `cortado_version()` and
//!   `cortado_version_number()`, so a header/library mismatch can be detected.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod boundary;
mod builder;
mod cache;
mod callbacks;
mod clock;
mod compute;
mod expiry;
mod iter;
mod loader;
mod stats;
mod status;
mod value;
mod version;
