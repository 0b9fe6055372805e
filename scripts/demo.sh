#!/usr/bin/env bash
# The demo: the seed scenarios from Rust, Python and Node. Builds and installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo run --release -q -p cortado --example demo

printf '\n---- setting up the Python package (first run builds it) ----\n'
setup_python release
"$VENV/bin/python" bindings-python/examples/demo.py

printf '\n---- setting up the Node package (first run builds it) ----\n'
setup_node
node bindings-node/examples/demo.js
