#!/usr/bin/env bash
# The demo: the seed scenarios from each language. Builds what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p cortado --example demo
