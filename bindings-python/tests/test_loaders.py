"""get_with across threads, get_with_async across tasks: one load per missing key, errors raised
in every waiter and not cached, recursion detected."""

import asyncio
import inspect
import threading
import time
from typing import Any, Literal

import pytest

import cortado
from cortado import Cache, RecursiveLoadError


def run_threads(n: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = ("ok", target())
        except BaseException as e:  # noqa: BLE001
            results[i] = ("err", e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    return results


def test_get_with_basic() -> None:
    c: Cache[str, int] = Cache(10)
    assert c.get_with("a", lambda: 1) == 1
    assert c.get_with("a", lambda: 2) == 1
    s = c.stats()
    assert s.load_successes == 1 and s.hits == 1 and s.misses == 1


@pytest.mark.parametrize("policy", ["tinylfu", "lru"])
def test_get_with_on_every_path(policy: Literal["tinylfu", "lru"]) -> None:
    # Two positional arguments, a callable loader and a plain key (str/int/bytes, TinyLFU) take
    # the hand-written path; keywords, other keys and bad arguments the general one. Either
    # way a lookup counts once.
    c: Cache[object, object] = Cache(10, policy=policy)
    keys: list[object] = ["s", 7, b"b", (1, 2), 2**70]
    for key in keys:
        assert c.get_with(key, lambda: 1) == 1
        assert c.get_with(key, lambda: 2) == 1
        assert c.get_with(key=key, loader=lambda: 3) == 1
    s = c.stats()
    assert (s.hits, s.misses, s.load_successes) == (2 * len(keys), len(keys), len(keys))
    with pytest.raises(TypeError, match="loader must be callable"):
        c.get_with("s", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.get_with("s")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        c.get_with("s", lambda: 1, 2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unhashable"):
        c.get_with([1], lambda: 1)  # type: ignore[arg-type]
    with pytest.raises(ZeroDivisionError):
        c.get_with("new", lambda: 1 // 0)
    assert "new" not in c
    assert inspect.signature(Cache.get_with) == inspect.signature(lambda self, /, key, loader: 0)


def test_50_threads_one_load() -> None:
    c: Cache[str, object] = Cache(100)
    calls = []
    value = object()

    def loader() -> object:
        calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to arrive and wait
        return value

    results = run_threads(50, lambda: c.get_with("k", loader))
    assert len(calls) == 1
    assert all(r == ("ok", value) for r in results)
    assert all(r[1] is value for r in results)


def test_waiters_release_the_gil() -> None:
    c: Cache[str, int] = Cache(10)
    started = threading.Event()
    release = threading.Event()
    ticks = []

    def loader() -> int:
        started.set()
        release.wait(10)
        return 1

    t1 = threading.Thread(target=lambda: c.get_with("k", loader))
    t2 = threading.Thread(target=lambda: (started.wait(10), c.get_with("k", lambda: 2)))
    t1.start()
    t2.start()
    started.wait(10)
    time.sleep(0.05)
    # Both threads are inside the cache (one loading, one waiting): this thread still runs.
    for _ in range(100):
        ticks.append(1)
    release.set()
    t1.join(10)
    t2.join(10)
    assert len(ticks) == 100 and c["k"] == 1


def test_loader_exception_raised_in_every_waiter_and_not_cached() -> None:
    c: Cache[str, int] = Cache(100)
    calls = []

    def loader() -> int:
        calls.append(1)
        time.sleep(0.2)
        raise LookupError("backend down")

    results = run_threads(20, lambda: c.get_with("k", loader))
    assert len(calls) == 1
    assert all(r[0] == "err" and isinstance(r[1], LookupError) for r in results)
    assert "k" not in c
    assert c.stats().load_failures == 1
    assert c.get_with("k", lambda: 5) == 5


def test_base_exception_abandons_the_load() -> None:
    c: Cache[str, int] = Cache(10)

    class Stop(BaseException):
        pass

    def loader() -> int:
        raise Stop

    with pytest.raises(Stop):
        c.get_with("k", loader)
    assert c.get_with("k", lambda: 3) == 3


def test_recursive_load_is_an_error() -> None:
    c: Cache[str, int] = Cache(10)
    with pytest.raises(RecursiveLoadError) as e:
        c.get_with("k", lambda: c.get_with("k", lambda: 1))
    assert isinstance(e.value, ValueError) and isinstance(e.value, RecursionError)
    assert "k" not in c
    # A loader may read other keys, and load other keys.
    assert c.get_with("a", lambda: c.get_with("b", lambda: 2) + 1) == 3


def test_setdefault_coalesces() -> None:
    c: Cache[str, object] = Cache(10)
    results = run_threads(20, lambda: c.setdefault("k", object()))
    assert len({id(r[1]) for r in results}) == 1


def test_async_100_tasks_one_load() -> None:
    c: Cache[str, object] = Cache(100)
    calls = []
    value = object()

    async def loader() -> object:
        calls.append(1)
        await asyncio.sleep(0.05)
        return value

    async def main() -> list[object]:
        return await asyncio.gather(*(c.get_with_async("k", loader) for _ in range(100)))

    results = asyncio.run(main())
    assert len(calls) == 1 and all(r is value for r in results)
    assert c["k"] is value


def test_async_loop_keeps_running_while_waiting() -> None:
    c: Cache[str, int] = Cache(10)
    ticks = []

    async def loader() -> int:
        await asyncio.sleep(0.1)
        return 7

    async def ticker() -> None:
        for _ in range(5):
            ticks.append(1)
            await asyncio.sleep(0.01)

    async def main() -> list[Any]:
        return list(await asyncio.gather(c.get_with_async("k", loader), c.get_with_async("k", loader), ticker()))

    r = asyncio.run(main())
    assert r[:2] == [7, 7] and len(ticks) == 5


def test_async_exception_in_every_waiter() -> None:
    c: Cache[str, int] = Cache(10)
    calls = []

    async def loader() -> int:
        calls.append(1)
        await asyncio.sleep(0.02)
        raise KeyError("nope")

    async def main() -> list[Any]:
        return await asyncio.gather(*(c.get_with_async("k", loader) for _ in range(10)), return_exceptions=True)

    results = asyncio.run(main())
    assert len(calls) == 1
    assert all(isinstance(r, KeyError) for r in results)
    assert "k" not in c


def test_async_cancelled_loader_is_taken_over() -> None:
    c: Cache[str, int] = Cache(10)
    calls = []

    async def slow() -> int:
        calls.append("slow")
        await asyncio.sleep(10)
        return 1

    async def fast() -> int:
        calls.append("fast")
        return 2

    async def main() -> int:
        t1 = asyncio.ensure_future(c.get_with_async("k", slow))
        await asyncio.sleep(0.01)
        t2 = asyncio.ensure_future(c.get_with_async("k", fast))
        await asyncio.sleep(0.01)
        t1.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t1
        return await asyncio.wait_for(t2, 5)

    assert asyncio.run(main()) == 2
    assert calls == ["slow", "fast"] and c["k"] == 2


def test_async_recursion_detected() -> None:
    c: Cache[str, int] = Cache(10)

    async def loader() -> int:
        return await c.get_with_async("k", loader)

    with pytest.raises(RecursiveLoadError):
        asyncio.run(asyncio.wait_for(c.get_with_async("k", loader), 5))
    assert "k" not in c


def test_async_and_threads_share_one_load() -> None:
    c: Cache[str, int] = Cache(10)
    calls = []
    started = threading.Event()

    async def aloader() -> int:
        calls.append("async")
        started.set()
        await asyncio.sleep(0.2)
        return 1

    out: list[int] = []
    def sync_loader() -> int:
        calls.append("sync")
        return 2

    def sync_caller() -> None:
        started.wait(10)
        out.append(c.get_with("k", sync_loader))

    t = threading.Thread(target=sync_caller)
    t.start()
    assert asyncio.run(c.get_with_async("k", aloader)) == 1
    t.join(10)
    assert out == [1] and calls == ["async"]


def test_async_hit_and_weigher_error() -> None:
    c: Cache[str, int] = Cache(10, weigher=lambda k, v: -1 if v < 0 else 1)

    async def bad() -> int:
        return -1

    async def main() -> None:
        c["a"] = 5
        assert await c.get_with_async("a", bad) == 5
        with pytest.raises(ValueError):
            await c.get_with_async("b", bad)

    asyncio.run(main())
    assert "b" not in c


def test_guard_misuse() -> None:
    c: Cache[str, int] = Cache(10)
    status, guard = c._claim("k")
    assert status == 1
    guard.complete(1)
    with pytest.raises(RuntimeError):
        guard.complete(2)
    assert c["k"] == 1
    assert cortado.Cache[str, int](1)._claim("x")[0] == 1  # dropped unresolved: abandoned, no leak


def test_a_write_during_a_load_wins_over_it() -> None:
    # The loader stands in for another thread writing or invalidating the key while it loads
    # (the cache-aside update-then-invalidate race): the caller gets what it loaded, the cache
    # keeps the write, or stays without the key.
    c: Cache[str, str] = Cache(10)

    def load_overtaken_by_a_write() -> str:
        c["k"] = "newer"
        return "loaded"

    assert c.get_with("k", load_overtaken_by_a_write) == "loaded"
    assert c["k"] == "newer"

    def load_overtaken_by_an_invalidation() -> str:
        c.invalidate("gone")
        return "loaded"

    assert c.get_with("gone", load_overtaken_by_an_invalidation) == "loaded"
    assert "gone" not in c
    assert c.get_with("gone", lambda: "again") == "again"
    assert c["gone"] == "again"

    async def load_async_overtaken() -> str:
        c.clear()
        return "loaded"

    assert asyncio.run(c.get_with_async("a", load_async_overtaken)) == "loaded"
    assert "a" not in c


def test_cache_aside_under_threads_never_keeps_a_stale_row() -> None:
    # Writers update a "database" row and then invalidate its key; readers load through
    # get_with from the database, slowly (the loader sleeps with the GIL released, so writers
    # overtake it). Whenever everyone has stopped, nothing cached may be older than its row.
    c: Cache[int, int] = Cache(100)
    db = [0] * 4
    lock = threading.Lock()
    version = [0]

    def worker(seed: int) -> None:
        import random

        r = random.Random(seed)
        for _ in range(60):
            key = r.randrange(4)
            if r.random() < 0.35:
                with lock:
                    version[0] += 1
                    db[key] = version[0]
                c.invalidate(key)
            else:

                def load(key: int = key) -> int:
                    row = db[key]
                    time.sleep(0.0002)
                    return row

                c.get_with(key, load)

    for round_ in range(15):
        threads = [threading.Thread(target=worker, args=(round_ * 10 + t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
            assert not t.is_alive()
        for key in range(4):
            cached = c.get(key)
            assert cached is None or cached == db[key], f"round {round_}: key {key} kept a stale row"
