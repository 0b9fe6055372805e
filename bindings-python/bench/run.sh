#!/usr/bin/env bash
# Builds cortado in release mode into a benchmark venv of its own (target/venv-bench), installs
# the libraries it is compared with, and runs bench.py. Arguments go to bench.py
# (--quick, --markdown FILE, --only cortado,lru-dict); with --count first, to count.py
# (instructions per operation under callgrind; library names may follow).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=target/venv-bench
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade "maturin>=1.9.4,<2" cachetools lru-dict cachebox moka-py theine
# Release build (the PEP 517 backend builds with --release); its own target dir, so it does not
# invalidate the debug builds used by the tests.
# With debug information (not in users' release builds), so that profilers can name lines.
PATH="$PWD/$VENV/bin:$PATH" CARGO_TARGET_DIR="$PWD/target/py-release" CARGO_PROFILE_RELEASE_DEBUG=1 \
    "$VENV/bin/pip" install -q --no-build-isolation --force-reinstall --no-deps ./bindings-python
if [ "${1:-}" = "--count" ]; then
    # Instructions per operation under callgrind instead of time (needs valgrind): count.py.
    shift
    exec "$VENV/bin/python" bindings-python/bench/count.py "$@"
fi
exec "$VENV/bin/python" bindings-python/bench/bench.py "$@"
