"""Random operation sequences on a manual clock, checked against what must hold whatever the
policy chooses to evict: a value read is the key's latest and not expired, a value just set is
there, the bound holds, and every value ever set is either still in the cache or was reported
to the listener exactly once, with a cause its history allows. The core's own model test
(core/tests/model.rs) checks the same in Rust; this one runs it through the binding's key
conversion, its listener dispatch and its weigher."""

import random
from typing import Optional

import pytest

from cortado import Cache, ManualClock


class _Written:
    __slots__ = ("key", "deadline", "cause")

    def __init__(self, key: object, deadline: float) -> None:
        self.key = key
        self.deadline = deadline
        self.cause: Optional[str] = None


# Keys that Python considers equal in several ways, so the binding's key conversion is on the path.
_KEYS: list[object] = [0, 1, 1.0, True, 2, 2.0, "a", "b", b"a", (1, "a"), (1.0, "a"), None, 3, 4, 5, 6.5, "c"]


@pytest.mark.parametrize(
    "max_capacity, ttl, weighted",
    [(6, None, False), (6, 10.0, False), (12, 10.0, True), (4, None, True)],
)
def test_random_operations_keep_the_invariants(max_capacity: int, ttl: Optional[float], weighted: bool) -> None:
    for seed in range(25):
        rnd = random.Random(seed)
        clock = ManualClock()
        written: dict[int, _Written] = {}
        latest: dict[object, int] = {}

        def listener(key: object, value: int, cause: str) -> None:
            w = written[value]
            assert w.key == key, (value, key)
            assert w.cause is None, f"value {value} reported twice ({w.cause}, then {cause})"
            if cause == "expired":
                assert clock.elapsed >= w.deadline, f"value {value} expired early"
            if cause == "replaced":
                assert latest[key] != value
            w.cause = cause

        c: Cache[object, int] = Cache(
            max_capacity,
            ttl=ttl,
            clock=clock,
            eviction_listener=listener,
            weigher=(lambda k, v: v % 4) if weighted else None,
        )

        def check_read(key: object, value: Optional[int], removed: bool = False) -> None:
            if value is None:
                return
            assert value == latest[key], (key, value)
            assert written[value].cause == ("explicit" if removed else None)
            assert clock.elapsed < written[value].deadline

        for step in range(300):
            k = rnd.choice(_KEYS)
            x = rnd.random()
            if x < 0.35:
                own = rnd.random() < 0.2
                life = rnd.choice([0.5, 3.0, 20.0]) if own else ttl
                written[step] = _Written(k, clock.elapsed + life if life is not None else float("inf"))
                latest[k] = step
                if own:
                    c.insert(k, step, ttl=life)
                else:
                    c[k] = step
                assert c.peek(k) == step, "a value just set is not there"
            elif x < 0.6:
                check_read(k, c.get(k))
            elif x < 0.65:
                check_read(k, c.peek(k))
            elif x < 0.72:
                check_read(k, c.pop(k, None), removed=True)
            elif x < 0.78:
                # get_with, whose loader may write or remove its own key meanwhile (as another
                # thread could): then the loaded value is returned but not stored.
                loaded = step + 1_000_000
                meddle = rnd.choice([None, None, "write", "remove"])

                def loader(k: object = k, loaded: int = loaded, meddle: Optional[str] = meddle) -> int:
                    if meddle == "write":
                        other = loaded + 1_000_000
                        written[other] = _Written(k, clock.elapsed + ttl if ttl is not None else float("inf"))
                        latest[k] = other
                        c[k] = other
                    elif meddle == "remove":
                        c.pop(k, None)
                    else:
                        written[loaded] = _Written(k, clock.elapsed + ttl if ttl is not None else float("inf"))
                        latest[k] = loaded
                    calls.append(loaded)
                    return loaded

                calls: list[int] = []
                v = c.get_with(k, loader)
                if calls:
                    assert v == loaded
                    if meddle is None:
                        assert c.peek(k) == loaded, "a value just loaded is not there"
                    elif meddle == "write":
                        assert c.peek(k) == latest[k], "a load overwrote a write made while it ran"
                    else:
                        assert c.peek(k) is None, "a load outlived a removal made while it ran"
                else:
                    check_read(k, v)
            elif x < 0.85:
                clock.advance(rnd.choice([0.1, 0.7, 2.3]))
            elif x < 0.9:
                c.run_pending_tasks()
            elif x < 0.94:
                c.invalidate_if(lambda key, value: value % 3 == 0)
            elif x < 0.95:
                c.clear()
            else:
                for key, value in c.items():
                    check_read(key, value)
            if weighted:
                assert c.weighted_size <= max_capacity
            else:
                assert len(c) <= max_capacity
        c.run_pending_tasks()
        present = {value: key for key, value in c.items()}
        assert len(present) == len(c)
        for value, w in written.items():
            if value in present:
                assert w.cause is None and latest[w.key] == value
                assert clock.elapsed < w.deadline
            else:
                assert w.cause is not None, f"value {value} of key {w.key!r} lost without a report"
