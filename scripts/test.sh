#!/usr/bin/env bash
# Every test of every language, with all set-up done here: the README's test command and CI's.
# Needs only what a fresh machine has: the Rust toolchain, Python 3 with pip, Node 20 with npm,
# gcc. Each stage prints its own runner's summary; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

stage() { printf '\n==== %s ====\n' "$*"; }

stage "rustfmt"
cargo fmt --all --check

stage "clippy, every crate of the workspace (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

stage "Rust tests: core (unit, conformance, stress, model-based, doc) and the C ABI crate"
cargo test

stage "C and C++ against include/cortado.h: AddressSanitizer + UBSan, then valgrind"
bash tests/c/run.sh

stage "Python: build into $VENV, pytest (warnings are errors), stubtest, the tests type-checked against the stubs"
setup_python debug
"$VENV/bin/python" -m pytest -q bindings-python/tests
"$VENV/bin/python" -m mypy.stubtest cortado._cortado
"$VENV/bin/python" -m mypy bindings-python/tests

stage "Python: the sdist builds and works in a fresh venv"
bash bindings-python/scripts/check-sdist.sh

stage "Node: npm ci (builds the addon), node --test"
setup_node
(cd bindings-node && npm test)

stage "Node: the npm tarball builds and works in a fresh project"
bash bindings-node/scripts/check-pack.sh

printf '\nall stages passed\n'
