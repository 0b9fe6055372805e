//! The status codes every fallible function returns, and their static descriptions.
//!
//! Numbers are part of the ABI: they are fixed here, never reused, and a retired one stays
//! listed as a comment. Codes below 100 are outcomes a correct program sees in normal use;
//! 100 and up are errors.

use std::ffi::c_char;

/// The result of every fallible function. A `uint32_t` in C (`enum cortado_status : uint32_t`
/// in C++): compare against the `CORTADO_STATUS_*` constants.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cortado_status {
    /// Success: the out-parameters hold the results.
    Ok = 0,
    /// The key is absent (or expired): a miss, not an error.
    NotFound = 1,
    /// The iterator is exhausted: not an error.
    Done = 2,
    /// A required pointer is NULL, or a `(ptr, len)` pair has `ptr == NULL` and `len > 0`.
    NullArgument = 100,
    /// An argument is out of range: a zero duration, an unknown enum value, an index past the
    /// end, a length above `PTRDIFF_MAX`, a clock advanced past `UINT64_MAX` nanoseconds.
    InvalidArgument = 101,
    /// The caller's buffer is too small; the size-out-parameter holds the size needed.
    BufferTooSmall = 102,
    /// The loader returned a non-zero code; `*out_loader_error` holds it. Nothing was cached.
    LoaderFailed = 103,
    /// The loader returned 0 without setting a value. Nothing was cached.
    LoaderNoValue = 104,
    /// A loader or compute callback re-entered the cache for the key it holds: `get_with` from
    /// the loader of that key, `cortado_cache_compute` from a compute callback or a loader of
    /// that key (each would deadlock). Nothing was changed.
    RecursiveLoad = 105,
    /// A bug in libcortado was caught at the boundary. The call had no effect that can be
    /// relied on; treat the handles it was given as unusable.
    Panic = 199,
}

impl cortado_status {
    /// Every status, for tests that walk them all.
    #[cfg(test)]
    pub(crate) const ALL: [cortado_status; 10] = [
        Self::Ok,
        Self::NotFound,
        Self::Done,
        Self::NullArgument,
        Self::InvalidArgument,
        Self::BufferTooSmall,
        Self::LoaderFailed,
        Self::LoaderNoValue,
        Self::RecursiveLoad,
        Self::Panic,
    ];

    /// The description `cortado_status_str` returns, NUL-terminated so it can be handed out
    /// as a C string with no allocation.
    fn describe(code: u32) -> &'static str {
        match code {
            0 => "ok\0",
            1 => "not found\0",
            2 => "done\0",
            100 => "null argument\0",
            101 => "invalid argument\0",
            102 => "buffer too small\0",
            103 => "loader failed\0",
            104 => "loader produced no value\0",
            105 => "recursive load or compute of the same key\0",
            199 => "panic inside libcortado\0",
            _ => "unknown status\0",
        }
    }
}

/// A static, NUL-terminated description of `status` ("unknown status" for numbers that are not
/// a `cortado_status`). Never NULL; never freed.
#[no_mangle]
pub extern "C" fn cortado_status_str(status: u32) -> *const c_char {
    // Status numbers come in as plain integers: a foreign value never becomes a Rust enum.
    cortado_status::describe(status).as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_description() {
        let mut seen = std::collections::HashSet::new();
        for s in cortado_status::ALL {
            let d = cortado_status::describe(s as u32);
            assert_ne!(d, "unknown status\0", "{s:?}");
            assert!(seen.insert(d), "{s:?} shares a description");
        }
        assert_eq!(cortado_status::describe(3), "unknown status\0");
    }
}
