#!/usr/bin/env bash
# The Python suite (pytest and stubtest, debug build) on other CPython versions than the one
# `make test` uses: the package supports 3.9 and later, and CI's machine has one Python, so
# this is a developer's check, run where several interpreters are installed.
#
#   bash scripts/test-python-versions.sh [PYTHON ...]
#
# Without arguments it takes every CPython 3.9+ it finds: python3.N on PATH and pyenv's
# versions under ~/.pyenv/versions. Each gets its own venv (target/venv-pyN.M) and target
# directory (target/py-N.M), so the versions do not rebuild each other's PyO3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

found=()
if [ "$#" -gt 0 ]; then
    found=("$@")
else
    for n in 9 10 11 12 13 14; do
        command -v "python3.$n" >/dev/null 2>&1 && found+=("$(command -v "python3.$n")")
    done
    for p in "$HOME"/.pyenv/versions/3.*/bin/python3; do
        [ -x "$p" ] && found+=("$p")
    done
fi

# One interpreter per minor version (the first found), 3.9 and later.
declare -A seen=()
todo=()
for py in "${found[@]}"; do
    ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2]) if sys.implementation.name == "cpython" and sys.version_info >= (3, 9) else None' 2>/dev/null || true)
    if [ -z "$ver" ] || [ "$ver" = "None" ] || [ -n "${seen[$ver]:-}" ]; then
        continue
    fi
    seen[$ver]=1
    todo+=("$ver=$py")
done
if [ "${#todo[@]}" -eq 0 ]; then
    echo "test-python-versions: no CPython 3.9+ found (pass interpreters as arguments)" >&2
    exit 1
fi

failed=()
for item in "${todo[@]}"; do
    ver=${item%%=*}
    py=${item#*=}
    venv="target/venv-py$ver"
    printf '\n==== Python %s (%s) ====\n' "$ver" "$py"
    # Chained with && rather than set -e, which a tested command ignores; setup_python is the
    # one make test uses, with this version's interpreter, venv and target directory.
    if ! { (VENV=$venv PYTHON=$py && export CARGO_TARGET_DIR="$PWD/target/py-$ver" &&
        setup_python debug) &&
        "$venv/bin/python" -m pytest -q -p no:cacheprovider bindings-python/tests &&
        "$venv/bin/python" -m mypy.stubtest cortado._cortado; }; then
        failed+=("$ver")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    printf '\nfailed on Python %s\n' "${failed[*]}" >&2
    exit 1
fi
printf '\npassed on Python %s\n' "$(printf '%s ' "${todo[@]%%=*}")"
