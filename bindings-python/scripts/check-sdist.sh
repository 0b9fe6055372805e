#!/usr/bin/env bash
# The Python package's source distribution, installed with pip into a fresh venv, builds (it
# carries the core: the crate reaches it by a path outside bindings-python/) and works, with its
# type information. Needs target/venv with maturin (`make test` sets it up first).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd bindings-python && "$repo/target/venv/bin/maturin" sdist --out "$tmp" >/dev/null)
sdist=$(ls "$tmp"/cortado-*.tar.gz)
python3 -m venv "$tmp/venv"
# Its own target directory, so that the build cannot reuse the checkout's.
CARGO_TARGET_DIR="$tmp/target" "$tmp/venv/bin/pip" install -q --disable-pip-version-check "$sdist"
cd "$tmp"
"$tmp/venv/bin/python" - <<'EOF'
import asyncio
import importlib.resources

import cortado

c = cortado.Cache(100)
for i in range(1000):
    c[f"k{i}"] = i
assert len(c) <= 100 and c["k999"] == 999, "bound holds, a value just set is readable"
calls = []
assert c.get_with("x", lambda: calls.append(1) or 7) == 7 and c.get_with("x", lambda: 8) == 7
assert calls == [1]


async def main() -> None:
    async def load() -> int:
        return 5

    assert await c.get_with_async("y", load) == 5


asyncio.run(main())
files = importlib.resources.files("cortado")
assert (files / "py.typed").is_file() and (files / "_cortado.pyi").is_file(), "type information"
print("check-sdist: ok")
EOF
