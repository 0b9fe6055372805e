"""Instructions per operation, counted by valgrind's callgrind rather than timed.

A benchmark, not a test: for telling apart differences of a few percent that the wall clock
of a shared machine cannot resolve. Run it through ``bash bench/run.sh --count`` (which builds
cortado in release mode into the benchmark venv first), or ``python bench/count.py [LIB ...]``
with that venv's interpreter. Needs valgrind.

Each workload of bench.py (str keys) runs alone in a fresh interpreter at two lengths; the
difference divided by the extra operations cancels start-up and the fixed set-up, and the same
figure for the bare loop over the same keys (``for k in keys: pass``) is taken off, as bench.py
subtracts it, so each figure is what a call into the library costs from Python. CPython runs
one thread and the string hash seed is fixed, so the bare loop's counts repeat exactly; the
caches' own vary by a few percent on the Zipf mix (cortado seeds its hashes and sketch at random,
so its hit ratio and probes differ a little from run to run). Defaults: cortado, cachebox and
lru-dict.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from typing import Any, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import LIBS, Lib, keyset, zipf_trace  # noqa: E402

WORKLOADS = ["get hit", "c[k] hit", "get miss", "set + evict", "c[k] = v + evict", "Zipf 0.99 mix"]
SUBSCRIPT = ("c[k] hit", "c[k] = v + evict")
SHORT, LONG = 50_000, 150_000


def trace_for(workload: str, n: int) -> list[Any]:
    """The keys the workload visits, the same for every library and for the bare loop."""
    if workload in ("get hit", "c[k] hit"):
        keys = keyset("str", 10_000) * (n // 10_000)
        random.Random(1).shuffle(keys)
        return keys
    if workload == "get miss":
        return keyset("str", n, offset=10**8)
    if workload in ("set + evict", "c[k] = v + evict"):
        return keyset("str", n, offset=10**7)
    return zipf_trace(n, 100_000, 0.99, "str")[0]


def run_one(lib: Optional[Lib], workload: str, n: int) -> None:
    """One pass of `n` operations (with lib None: the bare loop over the same keys)."""
    trace = trace_for(workload, n)
    if lib is None:
        for _k in trace:
            pass
        return
    if workload == "Zipf 0.99 mix":
        c = lib.new(10_000)
        get, put, miss = lib.getter(c), lib.setter(c), lib.miss_value()
        for k in trace:
            if get(k) == miss:
                put(k, k)
        return
    evicting = workload in ("set + evict", "c[k] = v + evict")
    c = lib.new(10_000 if evicting else 20_000)
    put = lib.setter(c)
    for k in keyset("str", 10_000):
        put(k, k)
    if workload == "set + evict":
        for k in trace:
            put(k, k)
    elif workload == "c[k] = v + evict":
        for k in trace:
            c[k] = k
    elif workload == "c[k] hit":
        for k in trace:
            c[k]
    else:
        get = lib.getter(c)
        for k in trace:
            get(k)


def collected(lib: str, workload: str, n: int) -> int:
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           os.path.abspath(__file__), "--one", lib, workload, str(n)]
    try:
        # A fixed string hash seed: with CPython's random one the bare loop's count (the Zipf
        # trace is built with dicts and sets) moved by up to 50 instructions per operation.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        sys.exit("count.py needs valgrind on the PATH")
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"{lib} / {workload} failed:\n{r.stderr[-2000:]}")
    return int(m.group(1))


def per_op(lib: str, workload: str) -> float:
    return (collected(lib, workload, LONG) - collected(lib, workload, SHORT)) / (LONG - SHORT)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        _, _, name, workload, n = sys.argv
        run_one(None if name == "none" else next(l for l in LIBS if l.name == name), workload, int(n))
        return
    wanted = sys.argv[1:] or ["cortado", "cachebox", "lru-dict"]
    libs = [l for l in LIBS if any(l.name.startswith(w) for w in wanted)]
    print("| workload | " + " | ".join(l.name for l in libs) + " |")
    print("|---|" + "--:|" * len(libs))
    for workload in WORKLOADS:
        base = per_op("none", workload)
        cells = []
        for lib in libs:
            if workload in SUBSCRIPT and not lib.subscript:
                cells.append("–")
            else:
                cells.append(f"{per_op(lib.name, workload) - base:.0f}")
        print(f"| {workload} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nInstructions per operation (callgrind, {sys.implementation.name} "
          f"{sys.version.split()[0]}, str keys), the bare loop's own cost taken off.")


if __name__ == "__main__":
    main()
