"""TTL, TTI and per-entry expiry on the manual clock; the weigher; listener causes; callbacks
that raise."""

import datetime
from typing import Any, Optional

import pytest

import cortado
from cortado import Cache, ManualClock, RemovalCause


def test_ttl(clock: ManualClock) -> None:
    c: Cache[str, int] = Cache(10, ttl=10, clock=clock)
    c["a"] = 1
    clock.advance(9.9)
    assert c["a"] == 1
    clock.advance(0.2)
    assert "a" not in c and c.get("a") is None
    c["a"] = 2
    clock.advance(datetime.timedelta(seconds=5))
    assert c["a"] == 2
    assert clock.elapsed == pytest.approx(15.1)
    assert "elapsed" in repr(clock)


def test_tti(clock: ManualClock) -> None:
    c: Cache[str, int] = Cache(10, tti=2, clock=clock)
    c["a"] = 1
    for _ in range(5):
        clock.advance(1.5)
        assert c["a"] == 1  # each read extends its life
    clock.advance(1.5)
    assert "a" in c
    c.peek("a")  # a peek does not extend it
    clock.advance(0.6)
    assert c.get("a") is None


def test_insert_with_ttl(clock: ManualClock) -> None:
    c: Cache[str, int] = Cache(10, clock=clock)
    c.insert("short", 1, ttl=1)
    c.insert("long", 2, ttl=datetime.timedelta(minutes=1))
    c["forever"] = 3
    clock.advance(2)
    assert c.get("short") is None and c["long"] == 2
    clock.advance(3600)
    assert c.get("long") is None and c["forever"] == 3


class NegativeCaching:
    """Misses (None values) live 1 s, everything else 60 s; reads do not change it."""

    def __init__(self) -> None:
        self.reads: list[Any] = []

    def on_create(self, key: str, value: Any) -> Optional[float]:
        return 1.0 if value is None else 60.0

    def on_read(self, key: str, value: Any, remaining: Optional[float]) -> Optional[float]:
        self.reads.append((key, remaining))
        return None

    def on_update(self, key: str, value: Any, remaining: Optional[float]) -> datetime.timedelta:
        return datetime.timedelta(seconds=5)


def test_expire_after(clock: ManualClock) -> None:
    exp = NegativeCaching()
    c: Cache[str, Any] = Cache(10, expire_after=exp, clock=clock)
    c["missing"] = None
    c["user"] = "alice"
    clock.advance(0.5)
    assert c["missing"] is None and "missing" in c
    assert exp.reads[-1][0] == "missing" and exp.reads[-1][1] == pytest.approx(0.5)
    clock.advance(0.6)
    assert "missing" not in c and c["user"] == "alice"
    c["user"] = "bob"  # on_update: 5 s from now
    clock.advance(4.9)
    assert c["user"] == "bob"
    clock.advance(0.2)
    assert "user" not in c


def test_expire_after_none_leaves_each_entry_under_its_rules(clock: ManualClock) -> None:
    class FirstReadSets:
        """The first read of "own" gives it 5 s of its own; every other answer is None."""

        def __init__(self) -> None:
            self.reads = 0

        def on_read(self, key: str, value: int, remaining: Optional[float]) -> Optional[float]:
            self.reads += key == "own"
            return 5.0 if key == "own" and self.reads == 1 else None

        def on_update(self, key: str, value: int, remaining: Optional[float]) -> None:
            return None

    c: Cache[str, int] = Cache(10, ttl=10, tti=2, expire_after=FirstReadSets(), clock=clock)
    c["own"] = 1
    c["shared"] = 1  # cache-wide: idle for 2 s at most
    clock.advance(1.5)
    assert c["own"] == 1  # a deadline of its own: t = 6.5
    c["shared"] = 2  # None: still cache-wide, and a write restarts its clocks (t = 3.5)
    clock.advance(1.9)
    assert c["shared"] == 2  # idle 1.9 s since its write: alive, now until t = 5.4
    assert c["own"] == 1  # None: its own deadline stays; time-to-idle no longer moves it
    clock.advance(2.6)  # t = 6.0
    assert "shared" not in c
    assert "own" in c
    clock.advance(0.6)
    assert "own" not in c


def test_a_deadline_a_read_sets_is_reclaimed_on_time(clock: ManualClock) -> None:
    class ShortOnRead:
        def on_read(self, key: str, value: int, remaining: Optional[float]) -> float:
            return 0.3

    gone: list[tuple[str, int, str]] = []
    c: Cache[str, int] = Cache(
        10, expire_after=ShortOnRead(), clock=clock, eviction_listener=lambda k, v, cause: gone.append((k, v, cause))
    )
    c["a"] = 1  # no deadline until read
    assert c["a"] == 1  # now 0.3 s
    clock.advance(0.31)
    c.run_pending_tasks()
    # Reclaimed by maintenance and reported, not left counted until evicted for size.
    assert len(c) == 0 and c.entry_count == 0
    assert gone == [("a", 1, RemovalCause.EXPIRED)]


def test_expire_after_partial_and_errors(clock: ManualClock, unraisable: list) -> None:
    class OnlyCreate:
        def on_create(self, key: str, value: int) -> float:
            if value < 0:
                return -1  # invalid: reported, the entry gets no deadline of its own
            if value == 0:
                raise RuntimeError("boom")
            return float(value)

    c: Cache[str, int] = Cache(10, ttl=100, expire_after=OnlyCreate(), clock=clock)
    c["a"] = 1
    c["neg"] = -5
    c["zero"] = 0
    assert [u[0] for u in unraisable] == [ValueError, RuntimeError]
    assert "expire_after.on_create" in str(unraisable[0][2])
    clock.advance(2)
    assert "a" not in c and c["neg"] == -5 and c["zero"] == 0  # cache-wide ttl applies
    clock.advance(100)
    assert "neg" not in c


def test_weigher() -> None:
    seen = []

    def weigher(k: str, v: str) -> int:
        seen.append(k)
        return len(v)

    c: Cache[str, str] = Cache(10, weigher=weigher, policy="lru")
    c["a"] = "1234"
    c["b"] = "1234"
    assert c.weighted_size == 8 and seen == ["a", "b"]
    c["c"] = "123"
    assert c.weighted_size <= 10 and "a" not in c
    c["big"] = "x" * 11  # heavier than the whole cache: not kept
    assert "big" not in c and c.weighted_size <= 10
    c["pinned"] = ""  # weight 0
    assert "pinned" in c


@pytest.mark.parametrize(
    "weight, exc",
    [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("3", TypeError), (None, TypeError), (True, TypeError)],
)
def test_weigher_bad_results(weight: Any, exc: type) -> None:
    c: Cache[str, int] = Cache(10, weigher=lambda k, v: weight)
    with pytest.raises(exc):
        c["a"] = 1
    with pytest.raises(exc):
        c.get_with("b", lambda: 2)
    with pytest.raises(exc):
        c.setdefault("c", 3)
    assert len(c) == 0 and c.weighted_size == 0


def test_weigher_that_raises_leaves_cache_intact() -> None:
    def w(k: str, v: int) -> int:
        if v < 0:
            raise RuntimeError("bad value")
        return 1

    c: Cache[str, int] = Cache(10, weigher=w)
    c["a"] = 1
    with pytest.raises(RuntimeError):
        c["a"] = -1
    assert c["a"] == 1 and len(c) == 1 and c.weighted_size == 1


def test_listener_causes(clock: ManualClock) -> None:
    events: list[tuple[Any, Any, Any]] = []
    c: Cache[str, int] = Cache(
        2, ttl=10, eviction_listener=lambda k, v, cause: events.append((k, v, cause)), clock=clock, policy="lru"
    )
    c["a"] = 1
    c["a"] = 2
    assert events == [("a", 1, "replaced")]
    assert events[0][2] is RemovalCause.REPLACED and isinstance(events[0][2], str)
    del c["a"]
    assert events[-1] == ("a", 2, RemovalCause.EXPLICIT)
    c["x"] = 1
    c["y"] = 2
    c["z"] = 3
    assert events[-1] == ("x", 1, "size")
    clock.advance(11)
    c.run_pending_tasks()
    assert sorted(events[-2:]) == [("y", 2, "expired"), ("z", 3, "expired")]
    c["p"] = 1
    c.pop("p")
    c["q"] = 1
    c.clear()
    c["r"] = 1
    c.invalidate("r")
    assert [e[2] for e in events[-3:]] == ["explicit"] * 3
    assert str(RemovalCause.SIZE) == "size"


def test_listener_may_use_the_cache() -> None:
    c: Cache[str, int]

    def listener(k: str, v: int, cause: str) -> None:
        # A write from inside the listener: no deadlock. Only first-generation keys are
        # written back, so the chain of evictions it causes ends (an unbounded chain would
        # only stop at Python's recursion limit, and a debug build's C stack may not last
        # that long).
        if cause == "size" and not k.startswith("evicted:"):
            c["evicted:" + k] = v

    c = Cache(3, eviction_listener=listener, policy="lru")
    for i in range(10):
        c[str(i)] = i
    assert len(c) <= 3


def test_listener_that_raises_is_reported(unraisable: list) -> None:
    def listener(k: str, v: int, cause: str) -> None:
        raise ValueError(f"listener failed for {k}")

    c: Cache[str, int] = Cache(1, eviction_listener=listener, policy="lru")
    c["a"] = 1
    c["b"] = 2  # evicts a: the listener raises
    assert c["b"] == 2 and len(c) == 1
    assert len(unraisable) == 1
    exc_type, exc, obj = unraisable[0]
    assert exc_type is ValueError and "listener failed for a" in str(exc)
    assert "eviction listener" in str(obj)
    c["b"] = 3
    assert c["b"] == 3 and len(unraisable) == 2


def test_manual_clock_errors() -> None:
    clock = cortado.ManualClock()
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(TypeError):
        clock.advance("1")  # type: ignore[arg-type]
