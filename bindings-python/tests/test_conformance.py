"""Replays the shared conformance vectors (tests/conformance/vectors/*.txt) through the Python
API, on the manual clock, with str keys and values."""

import pathlib
from typing import Any

import pytest

import cortado

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "conformance" / "vectors"
UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(token: str) -> float:
    for unit in ("ns", "us", "ms", "s"):
        if token.endswith(unit) and token[: -len(unit)].isdigit():
            return int(token[: -len(unit)]) * UNITS[unit]
    raise ValueError(f"bad duration {token!r}")


def replay(path: pathlib.Path) -> None:
    clock = cortado.ManualClock()
    events: list[tuple[str, str, str]] = []
    cache: Any = None
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path.name}:{lineno}: {line}"
        words = line.split()
        expect = None
        if "->" in words:
            i = words.index("->")
            expect = words[i + 1 :]
            words = words[:i]
        op, args = words[0], words[1:]
        if cache is None:
            assert op == "cache", where
            opts = dict(a.split("=", 1) for a in args)
            assert opts.get("policy", "tinylfu") in ("tinylfu", "lru"), where
            cache = cortado.Cache(
                int(opts["max"]),
                policy="lru" if opts.get("policy") == "lru" else "tinylfu",
                weigher=(lambda k, v: len(v.encode())) if opts.get("weigher") == "value_len" else None,
                ttl=seconds(opts["ttl"]) if "ttl" in opts else None,
                tti=seconds(opts["tti"]) if "tti" in opts else None,
                eviction_listener=lambda k, v, c: events.append((k, v, str(c))),
                clock=clock,
            )
            continue

        def check(got: Any) -> None:
            want = expect[0] if expect else None
            if want == "miss":
                assert got is None, f"{where}: got {got!r}"
            else:
                assert got == want, f"{where}: got {got!r}, want {want!r}"

        if op == "insert":
            ttl = [seconds(a[4:]) for a in args[2:] if a.startswith("ttl=")]
            cache.insert(args[0], args[1], ttl=ttl[0] if ttl else None)
        elif op == "get":
            check(cache.get(args[0]))
        elif op == "peek":
            check(cache.peek(args[0]))
        elif op == "contains":
            assert (args[0] in cache) == (expect == ["true"]), where
        elif op == "remove":
            check(cache.pop(args[0], None))
        elif op == "invalidate":
            cache.invalidate(args[0])
        elif op == "invalidate_all":
            cache.clear()
        elif op == "get_with":
            check(cache.get_with(args[0], lambda v=args[1]: v))
        elif op == "advance":
            clock.advance(seconds(args[0]))
        elif op == "run_pending_tasks":
            cache.run_pending_tasks()
        elif op == "len":
            assert expect is not None and len(cache) == int(expect[0]), f"{where}: got {len(cache)}"
        elif op == "weighted_size":
            assert expect is not None and cache.weighted_size == int(expect[0]), f"{where}: got {cache.weighted_size}"
        elif op == "order":
            assert cache.keys_coldest_first() == (expect or []), f"{where}: got {cache.keys_coldest_first()}"
        elif op == "event":
            ev = (args[0], args[1], args[2])
            assert ev in events, f"{where}: unchecked events {events}"
            events.remove(ev)
        elif op == "no_events":
            assert events == [], f"{where}: unchecked events {events}"
        elif op == "stats":
            want = dict(a.split("=") for a in args)
            s = cache.stats()
            assert (s.hits, s.misses) == (int(want["hits"]), int(want["misses"])), f"{where}: got {s}"
        else:
            raise AssertionError(f"{where}: unknown operation")


@pytest.mark.parametrize("path", sorted(VECTORS.glob("*.txt")), ids=lambda p: p.stem)
def test_vector(path: pathlib.Path) -> None:
    replay(path)


def test_vectors_exist() -> None:
    assert len(list(VECTORS.glob("*.txt"))) >= 5
