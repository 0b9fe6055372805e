//! `include/cortado.h` is generated from the Rust source and checked in; this test generates
//! it again, in memory, with the pinned cbindgen and fails when the checked-in file differs.
//! `CORTADO_BLESS=1 cargo test -p cortado-ffi --test header` rewrites the file instead.

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The API conventions, stated once in the crate documentation, as the header's opening
/// comment.
fn conventions(lib_rs: &Path) -> String {
    let src = std::fs::read_to_string(lib_rs).expect("read src/lib.rs");
    let mut out = String::from("/*\n");
    for line in src.lines().map_while(|l| l.strip_prefix("//!")) {
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.is_empty() {
            out.push_str(" *\n");
        } else {
            out.push_str(&format!(" * {line}\n"));
        }
    }
    out.push_str(" */");
    out
}

fn generate() -> String {
    let dir = crate_dir();
    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    config.header = Some(conventions(&dir.join("src/lib.rs")));
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_in_sync_with_the_source() {
    let path = crate_dir().join("../include/cortado.h");
    let fresh = generate();
    if std::env::var_os("CORTADO_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/cortado.h");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "include/cortado.h is stale: run `CORTADO_BLESS=1 cargo test -p cortado-ffi --test header` \
         and commit the result"
    );
}
