#!/usr/bin/env bash
# The C API benchmark: builds libcortado (release) and bench.c, runs it, then the same loops
# in Rust (cargo bench --bench rust_baseline). Not part of the tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p cortado-ffi
mkdir -p "$target/c-bench"
gcc -std=c11 -O2 -Wall -Wextra -Werror -I include ffi/bench/bench.c \
    "$target/release/libcortado.a" -lpthread -ldl -lm -o "$target/c-bench/bench"
# A hot key set (the boundary's cost stands out) and one larger than the CPU caches.
for size in "1000 1000" "100000 10"; do
    "$target/c-bench/bench" $size
    echo
    cargo bench -q -p cortado-ffi --bench rust_baseline -- $size
    echo
done
