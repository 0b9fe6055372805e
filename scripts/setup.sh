# Set-up shared by scripts/test.sh and scripts/demo.sh (sourced, not run). Each step is
# idempotent and needs only what a fresh machine has: Rust, Python 3 with pip, Node 20 with npm.

VENV="target/venv"

# A virtual environment under target/ with the Python package built into it.
# $1: "release" for an optimised build (the demo), anything else for a debug build (tests).
# $VENV and $PYTHON (the interpreter that creates the venv, python3 by default) may be set by
# the caller (scripts/test-python-versions.sh does, for each CPython it finds).
setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "maturin>=1.9.4,<2" "pytest>=8" "mypy>=1.10"
    local profile=()
    [ "${1:-}" = "release" ] && profile=(--release)
    (cd bindings-python && VIRTUAL_ENV="$PWD/../$VENV" PATH="$PWD/../$VENV/bin:$PATH" \
        maturin develop -q "${profile[@]}")
}

# The Node package's dependencies and native addon (its install script builds the addon).
setup_node() {
    (cd bindings-node && npm ci --no-audit --no-fund --loglevel=error)
}
