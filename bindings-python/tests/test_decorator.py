"""@cortado.cached for functions, methods and coroutine functions."""

import asyncio
import threading
import time
from typing import Any, Literal

import pytest

import cortado
from cortado import cached


def test_cached_function() -> None:
    calls: list[float] = []

    @cached(max_capacity=10)
    def square(x: float) -> float:
        """Squares."""
        calls.append(x)
        return x * x

    assert square(3) == 9 and square(3) == 9 and square(3.0) == 9
    assert calls == [3]
    assert square.__name__ == "square" and square.__doc__ == "Squares."
    assert square.__wrapped__(4) == 16  # type: ignore[attr-defined]
    info = square.cache_info()  # type: ignore[attr-defined]
    assert info == cortado.CacheInfo(hits=2, misses=1, maxsize=10, currsize=1)
    assert info.hits == 2
    square.cache_clear()  # type: ignore[attr-defined]
    assert square.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert isinstance(square.cache, cortado.Cache)  # type: ignore[attr-defined]
    assert "square" in repr(square)


def test_bare_decorator_and_arguments() -> None:
    calls = []

    @cached
    def f(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return (args, kwargs)

    f(1, 2)
    f(1, 2)
    f((1, 2))  # a single tuple argument is not the same call as f(1, 2)
    f(1, 2, a=3)
    f(1, 2, a=3)
    f(1, 2, b=3)
    f()
    f()
    assert len(calls) == 5
    assert f.cache_info().maxsize == 128  # type: ignore[attr-defined]


def test_unbounded_ttl_and_custom_key() -> None:
    @cached(None, ttl=60, key=lambda user, *, verbose=False: user)
    def load(user: str, *, verbose: bool = False) -> str:
        return user.upper() + ("!" if verbose else "")

    assert load("a") == "A"
    assert load("a", verbose=True) == "A"  # same key
    assert load.cache.max_capacity is None and load.cache.ttl == 60  # type: ignore[attr-defined]


def test_shared_cache() -> None:
    c: cortado.Cache[Any, Any] = cortado.Cache(10)

    @cached(cache=c)
    def f(x: str) -> str:
        return x * 2

    f("a")
    assert c["a"] == "aa"


def test_methods() -> None:
    class Service:
        def __init__(self) -> None:
            self.calls = 0

        @cached(max_capacity=10)
        def get(self, x: int) -> int:
            self.calls += 1
            return x + 1

    s = Service()
    assert s.get(1) == 2 and s.get(1) == 2 and s.calls == 1
    s2 = Service()
    assert s2.get(1) == 2 and s2.calls == 1
    assert Service.get(s, 1) == 2 and s.calls == 1
    assert isinstance(Service.__dict__["get"], cortado.CachedFunction)


def test_bad_options_fail_at_the_decorator() -> None:
    with pytest.raises(TypeError, match="key must be a callable"):
        cached(max_capacity=1, key=5)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="cache must be a cortado.Cache"):
        cached(cache={})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="options of the Cache"):
        cached(cache=cortado.Cache(10), ttl=5)
    with pytest.raises(ValueError, match="max_capacity"):

        @cached(max_capacity=-1)
        def f(x: int) -> int:
            return x


def test_unhashable_arguments() -> None:
    @cached
    def f(x: Any) -> Any:
        return x

    with pytest.raises(TypeError, match="unhashable"):
        f([1])
    with pytest.raises(TypeError):
        cached(5)  # type: ignore[call-overload]  # not a function: a capacity ...
        cortado.CachedFunction(5, cortado.Cache(1))  # type: ignore[arg-type]


def test_exceptions_not_cached() -> None:
    calls = []

    @cached
    def f(x: int) -> int:
        calls.append(x)
        raise ValueError(x)

    for _ in range(2):
        with pytest.raises(ValueError):
            f(1)
    assert calls == [1, 1]


@pytest.mark.parametrize("policy", ["tinylfu", "lru"])
def test_each_call_counts_once_whichever_path_it_takes(
    policy: Literal["tinylfu", "lru"],
) -> None:
    # One plain argument (str, int, bytes) under TinyLFU takes the hand-written call path,
    # whose miss continues into the general load; everything else the general path.
    c: cortado.Cache[Any, Any] = cortado.Cache(100, policy=policy)
    calls: list[Any] = []

    @cached(cache=c)
    def f(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return (args, kwargs)

    argsets: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("s",), {}),
        ((7,), {}),
        ((b"b",), {}),
        ((2**80,), {}),
        ((1.5,), {}),
        (((1, 2),), {}),
        ((1, 2), {}),
        ((1,), {"k": 2}),
        ((), {}),
    ]
    for args, kwargs in argsets:
        assert f(*args, **kwargs) == (args, kwargs)
        assert f(*args, **kwargs) == (args, kwargs)
    assert len(calls) == len(argsets)
    info = f.cache_info()  # type: ignore[attr-defined]
    assert (info.hits, info.misses) == (len(argsets), len(argsets))

    def recurse(x: int) -> int:
        return g(x)  # type: ignore[no-any-return]

    g = cached(cache=c)(recurse)
    with pytest.raises(cortado.RecursiveLoadError):
        g(99)


def test_thread_coalescing() -> None:
    calls = []

    @cached
    def slow(x: int) -> int:
        calls.append(x)
        time.sleep(0.2)
        return x

    threads = [threading.Thread(target=slow, args=(1,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert calls == [1]


def test_async_function() -> None:
    calls = []

    @cached(max_capacity=10, ttl=60)
    async def fetch(x: int, y: int = 0) -> int:
        calls.append((x, y))
        await asyncio.sleep(0.02)
        return x + y

    async def main() -> list[int]:
        r = await asyncio.gather(*(fetch(1) for _ in range(50)), fetch(1, y=2), fetch(1, y=2))
        r.append(await fetch(1))
        return r

    r = asyncio.run(main())
    assert r[:50] == [1] * 50 and r[50:] == [3, 3, 1]
    assert calls == [(1, 0), (1, 2)]
    assert fetch.__name__ == "fetch"
    info = fetch.cache_info()  # type: ignore[attr-defined]
    assert info.hits == 1 and info.misses == 52 and info.currsize == 2  # waiters missed too
    fetch.cache_clear()  # type: ignore[attr-defined]
    assert fetch.cache.entry_count == 0  # type: ignore[attr-defined]
