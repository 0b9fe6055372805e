"""Python cache benchmark: cortado against cachetools, lru-dict, cachebox, moka-py, theine and
functools.lru_cache, side by side in one process.

Run it through ``bench/run.sh`` (which builds cortado in release mode and installs the others
into their own venv), or directly: ``python bench/bench.py [--quick] [--markdown FILE]``.

Every figure is the median over several repetitions of nanoseconds per operation, with the
cost of the bare Python loop (``for k in keys: pass``) subtracted, so the numbers are the
cache's own cost as seen from Python. Libraries that are not installed are skipped.

Measurements, each with str and int keys:
- ``get`` hit: ``cache.get(k)`` on present keys
- ``c[k]`` hit: ``cache[k]`` on present keys (libraries without ``__getitem__`` are skipped)
- get miss: ``cache.get(k)`` on absent keys
- set + evict: writing new keys into a full cache (each write evicts one entry)
- Zipf 0.99: 1M operations over 100k keys, capacity 10k, ``get`` then set on a miss; with its
  hit ratio (the optimum, keeping the 10k most frequent keys, is given for reference)
- decorator hit: calling a memoised one-argument function with a cached argument
"""

from __future__ import annotations

import argparse
import bisect
import functools
import gc
import itertools
import platform
import random
import statistics
import sys
import time
from typing import Any, Callable, Optional

QUICK = False


# ---- adapters ---------------------------------------------------------------------------


class Lib:
    """How to drive one library: a constructor and the calls to time."""

    name = ""
    subscript = True  # supports cache[k]

    def new(self, capacity: int) -> Any:
        raise NotImplementedError

    def getter(self, c: Any) -> Callable[[Any], Any]:
        return c.get  # type: ignore[no-any-return]

    def setter(self, c: Any) -> Callable[[Any, Any], Any]:
        return c.__setitem__  # type: ignore[no-any-return]

    def miss_value(self) -> Any:
        return None

    def decorator(self, capacity: int) -> Optional[Callable[[Callable[..., Any]], Callable[..., Any]]]:
        return None


class Cortado(Lib):
    name = "cortado"

    def new(self, capacity: int) -> Any:
        import cortado

        return cortado.Cache(capacity)

    def decorator(self, capacity: int) -> Any:
        import cortado

        return cortado.cached(max_capacity=capacity)


class Cachetools(Lib):
    name = "cachetools (LRU)"

    def new(self, capacity: int) -> Any:
        import cachetools

        return cachetools.LRUCache(maxsize=capacity)

    def decorator(self, capacity: int) -> Any:
        import cachetools

        return cachetools.cached(cachetools.LRUCache(maxsize=capacity))


class LruDict(Lib):
    name = "lru-dict"

    def new(self, capacity: int) -> Any:
        import lru

        return lru.LRU(capacity)


class Cachebox(Lib):
    name = "cachebox (LRU)"

    def new(self, capacity: int) -> Any:
        import cachebox

        return cachebox.LRUCache(capacity)

    def decorator(self, capacity: int) -> Any:
        import cachebox

        return cachebox.cached(cachebox.LRUCache(capacity))


class MokaPy(Lib):
    name = "moka-py"
    subscript = False

    def new(self, capacity: int) -> Any:
        import moka_py

        return moka_py.Moka(capacity)

    def setter(self, c: Any) -> Callable[[Any, Any], Any]:
        return c.set  # type: ignore[no-any-return]

    def decorator(self, capacity: int) -> Any:
        import moka_py

        return moka_py.cached(maxsize=capacity)


class Theine(Lib):
    name = "theine"
    subscript = False

    def new(self, capacity: int) -> Any:
        import theine

        return theine.Cache(capacity)

    def setter(self, c: Any) -> Callable[[Any, Any], Any]:
        return c.set  # type: ignore[no-any-return]

    def miss_value(self) -> Any:
        return (None, False)

    def getter(self, c: Any) -> Callable[[Any], Any]:
        return c.get  # type: ignore[no-any-return]


class LruCache(Lib):
    name = "functools.lru_cache"

    def new(self, capacity: int) -> Any:
        raise NotImplementedError

    def decorator(self, capacity: int) -> Any:
        return functools.lru_cache(maxsize=capacity)


LIBS: list[Lib] = [Cortado(), LruDict(), Cachebox(), Cachetools(), MokaPy(), Theine()]


def available(lib: Lib) -> bool:
    try:
        lib.new(10)
        return True
    except ImportError:
        return False
    except NotImplementedError:
        return True


# ---- timing -----------------------------------------------------------------------------


def keyset(kind: str, n: int, offset: int = 0) -> list[Any]:
    if kind == "int":
        return [offset + i * 7919 for i in range(n)]
    return [f"key:{offset + i:08d}" for i in range(n)]


def per_op(fn: Callable[[], None], ops: int, baseline: float, repeat: int) -> float:
    """Median ns per op of fn (which performs `ops` operations), minus the loop baseline."""
    times = []
    for _ in range(repeat):
        gc.disable()
        t0 = time.perf_counter_ns()
        fn()
        t1 = time.perf_counter_ns()
        gc.enable()
        times.append((t1 - t0) / ops)
    return max(0.0, statistics.median(times) - baseline)


def loop_baseline(keys: list[Any], repeat: int) -> float:
    def run() -> None:
        for _k in keys:
            pass

    return per_op(run, len(keys), 0.0, repeat)


def bench_get_hit(lib: Lib, kind: str, repeat: int) -> float:
    c = lib.new(20_000)
    keys = keyset(kind, 10_000)
    put = lib.setter(c)
    for k in keys:
        put(k, k)
    get = lib.getter(c)
    for k in keys:
        get(k)
    keys = keys * 5
    random.Random(1).shuffle(keys)
    base = loop_baseline(keys, repeat)

    def run() -> None:
        for k in keys:
            get(k)

    return per_op(run, len(keys), base, repeat)


def bench_subscript_hit(lib: Lib, kind: str, repeat: int) -> Optional[float]:
    if not lib.subscript:
        return None
    c = lib.new(20_000)
    keys = keyset(kind, 10_000)
    for k in keys:
        c[k] = k
    keys = keys * 5
    random.Random(1).shuffle(keys)
    base = loop_baseline(keys, repeat)

    def run() -> None:
        for k in keys:
            c[k]

    return per_op(run, len(keys), base, repeat)


def bench_get_miss(lib: Lib, kind: str, repeat: int) -> float:
    c = lib.new(20_000)
    put = lib.setter(c)
    for k in keyset(kind, 10_000):
        put(k, k)
    keys = keyset(kind, 50_000, offset=10**8)
    get = lib.getter(c)
    base = loop_baseline(keys, repeat)

    def run() -> None:
        for k in keys:
            get(k)

    return per_op(run, len(keys), base, repeat)


def bench_set_evict(lib: Lib, kind: str, repeat: int, subscript: bool = False) -> Optional[float]:
    """New keys into a full cache, each set evicting: through the library's setter (for every
    library `c.__setitem__` or `c.set`, a bound method), or with `subscript` written the way
    Python code writes a mapping, `c[k] = v`, which calls the slot without a method wrapper."""
    if subscript and not lib.subscript:
        return None
    cap = 10_000
    n = 50_000
    rounds = [keyset(kind, n, offset=(r + 1) * 10**7) for r in range(repeat)]
    c = lib.new(cap)
    put = lib.setter(c)
    for k in keyset(kind, cap):
        put(k, k)
    base = loop_baseline(rounds[0], repeat)
    it = iter(rounds)

    def run_put() -> None:
        for k in next(it):
            put(k, k)

    def run_subscript() -> None:
        for k in next(it):
            c[k] = k

    return per_op(run_subscript if subscript else run_put, n, base, repeat)


@functools.lru_cache(maxsize=None)
def zipf_trace(n_ops: int, n_keys: int, s: float, kind: str) -> tuple[list[Any], float]:
    """A seeded Zipf(s) trace, and the hit ratio of keeping the most frequent 10k keys."""
    weights = [1.0 / (i**s) for i in range(1, n_keys + 1)]
    cum = list(itertools.accumulate(weights))
    rng = random.Random(42)
    total = cum[-1]
    ranks = [bisect.bisect_left(cum, rng.random() * total) for _ in range(n_ops)]
    # Scatter ranks over the key space so key order says nothing about popularity.
    perm = list(range(n_keys))
    random.Random(7).shuffle(perm)
    names = keyset(kind, n_keys)
    trace = [names[perm[r]] for r in ranks]
    counts: dict[int, int] = {}
    for r in ranks:
        counts[r] = counts.get(r, 0) + 1
    top = sorted(counts.values(), reverse=True)[:10_000]
    return trace, sum(top) / n_ops


def bench_zipf(lib: Lib, kind: str, repeat: int) -> tuple[float, float]:
    n_ops = 200_000 if QUICK else 1_000_000
    trace, _ = zipf_trace(n_ops, 100_000, 0.99, kind)
    miss = lib.miss_value()
    base = loop_baseline(trace, 3)
    results = []
    ratios = []
    for _ in range(max(1, repeat // 2)):
        c = lib.new(10_000)
        get, put = lib.getter(c), lib.setter(c)
        hits = 0

        def run() -> None:
            nonlocal hits
            for k in trace:
                if get(k) == miss:
                    put(k, k)
                else:
                    hits += 1

        results.append(per_op(run, n_ops, base, 1))
        ratios.append(hits / n_ops)
    return statistics.median(results), statistics.median(ratios)


def bench_decorator(lib: Lib, kind: str, repeat: int) -> Optional[float]:
    deco = lib.decorator(10_000)
    if deco is None:
        return None

    def ident(x: Any) -> Any:
        return x

    f = deco(ident)
    keys = keyset(kind, 1_000)
    for k in keys:
        f(k)
    keys = keys * 50
    random.Random(3).shuffle(keys)
    base = loop_baseline(keys, repeat)

    def run() -> None:
        for k in keys:
            f(k)

    return per_op(run, len(keys), base, repeat)


# ---- report -----------------------------------------------------------------------------


def fmt(v: Optional[float]) -> str:
    return "–" if v is None else f"{v:.0f}"


def main() -> None:
    global QUICK
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and a shorter trace")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--only", help="comma-separated library names (prefixes) to run")
    args = ap.parse_args()
    QUICK = args.quick
    repeat = 3 if QUICK else 7
    libs = [lib for lib in LIBS if available(lib)]
    if args.only:
        wanted = args.only.split(",")
        libs = [lib for lib in libs if any(lib.name.startswith(w) for w in wanted)]
    missing = [lib.name for lib in LIBS if lib not in libs and not args.only]
    lines = []
    lines.append(
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.machine()}, "
        f"median ns/op (loop overhead subtracted), {'quick' if QUICK else 'full'} run."
    )
    if missing:
        lines.append(f"Not installed, skipped: {', '.join(missing)}.")
    lines.append("")
    for kind in ("str", "int"):
        _, optimal = zipf_trace(200_000 if QUICK else 1_000_000, 100_000, 0.99, kind)
        lines.append(f"**{kind} keys**")
        lines.append("")
        lines.append(
            "| library | `get` hit | `c[k]` hit | get miss | set + evict | `c[k] = v` + evict "
            "| Zipf 0.99 mix | Zipf hit ratio | decorator hit |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        rows = list(libs) + [LruCache()]
        for lib in rows:
            if isinstance(lib, LruCache):
                row = [lib.name, None, None, None, None, None, None, None]
                row.append(bench_decorator(lib, kind, repeat))
            else:
                z, ratio = bench_zipf(lib, kind, repeat)
                row = [
                    lib.name,
                    bench_get_hit(lib, kind, repeat),
                    bench_subscript_hit(lib, kind, repeat),
                    bench_get_miss(lib, kind, repeat),
                    bench_set_evict(lib, kind, repeat),
                    bench_set_evict(lib, kind, repeat, subscript=True),
                    z,
                    ratio,
                    bench_decorator(lib, kind, repeat),
                ]
            cells = [str(row[0])] + [fmt(v) for v in row[1:7]]
            cells.append("–" if row[7] is None else f"{100 * row[7]:.1f}%")
            cells.append(fmt(row[8]))
            lines.append("| " + " | ".join(cells) + " |")
            print(lines[-1], file=sys.stderr, flush=True)
        lines.append("")
        lines.append(f"Zipf optimum (the 10k most frequent keys kept): {100 * optimal:.1f}%.")
        lines.append("")
    out = "\n".join(lines)
    print(out)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(out + "\n")


if __name__ == "__main__":
    main()
