//! The library version, at compile time (macros in the header) and at run time.
//!
//! The numbers are Rust constants so cbindgen writes them into the header, and each is checked
//! against Cargo.toml at compile time: bumping the package version without them fails the
//! build, so the header and the library cannot drift apart (a C test compares the two).

use std::ffi::c_char;

/// Major version of the header.
pub const CORTADO_VERSION_MAJOR: u32 = 0;
/// Minor version of the header.
pub const CORTADO_VERSION_MINOR: u32 = 1;
/// Patch version of the header.
pub const CORTADO_VERSION_PATCH: u32 = 0;
/// The header's version as one number, `MAJOR * 10000 + MINOR * 100 + PATCH`.
pub const CORTADO_VERSION_NUMBER: u32 =
    CORTADO_VERSION_MAJOR * 10000 + CORTADO_VERSION_MINOR * 100 + CORTADO_VERSION_PATCH;

/// A decimal version part, parsed at compile time.
const fn parse(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version part is not a number");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

const _: () = {
    assert!(CORTADO_VERSION_MAJOR == parse(env!("CARGO_PKG_VERSION_MAJOR")));
    assert!(CORTADO_VERSION_MINOR == parse(env!("CARGO_PKG_VERSION_MINOR")));
    assert!(CORTADO_VERSION_PATCH == parse(env!("CARGO_PKG_VERSION_PATCH")));
    assert!(CORTADO_VERSION_MINOR < 100 && CORTADO_VERSION_PATCH < 100);
};

/// The library's version as a static, NUL-terminated string such as "0.1.0". Never freed.
#[no_mangle]
pub extern "C" fn cortado_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's version number; equals `CORTADO_VERSION_NUMBER` when the header matches the
/// library.
#[no_mangle]
pub extern "C" fn cortado_version_number() -> u32 {
    CORTADO_VERSION_NUMBER
}
