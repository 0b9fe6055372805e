"""The seed scenarios from Python: ``python bindings-python/examples/demo.py`` once the package
is installed (``make demo`` does that). Each prints what it shows; nothing here is timed."""

from __future__ import annotations

import asyncio
import threading
import time

import cortado


def coalescing() -> None:
    cache: cortado.Cache[str, dict[str, str]] = cortado.Cache(1_000)
    loads = 0
    barrier = threading.Barrier(50)
    results: list[dict[str, str]] = []

    def load() -> dict[str, str]:
        nonlocal loads
        loads += 1
        time.sleep(0.1)  # a slow backend; waiting threads release the GIL
        return {"name": "Ada Lovelace"}

    def worker() -> None:
        barrier.wait()
        results.append(cache.get_with("user:42", load))

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    same = all(r is results[0] for r in results)
    print(f"1. 50 threads, one missing key: loader ran {loads} time(s); same object for all: {same}")


async def coalescing_async() -> None:
    cache: cortado.Cache[str, int] = cortado.Cache(100)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return 7

    values = await asyncio.gather(*(cache.get_with_async("k", load) for _ in range(100)))
    print(f"   100 asyncio tasks: loader ran {loads} time(s), values {set(values)}")


def ttl() -> None:
    clock = cortado.ManualClock()
    expired: list[tuple[str, str]] = []
    sessions: cortado.Cache[str, int] = cortado.Cache(
        1_000,
        ttl=30 * 60,
        clock=clock,
        eviction_listener=lambda k, v, cause: expired.append((k, str(cause))),
    )
    sessions["alice"] = 1
    clock.advance(20 * 60)
    sessions["bob"] = 2
    clock.advance(10 * 60)
    print(f"2. ttl 30 min, after 30 min: alice={sessions.get('alice')}, bob={sessions.get('bob')}")
    sessions.run_pending_tasks()
    print(f"   listener saw {expired}")


class ShortMisses:
    """Negative caching: 'not found' lives 5 s, real rows an hour."""

    def on_create(self, key: object, value: object) -> float:
        return 3600.0 if value is not None else 5.0


def negative_caching() -> None:
    clock = cortado.ManualClock()
    lookups = 0

    def db(user_id: int) -> str | None:
        nonlocal lookups
        lookups += 1
        return "alice" if user_id == 1 else None

    users: cortado.Cache[int, str | None] = cortado.Cache(10_000, expire_after=ShortMisses(), clock=clock)
    for _ in range(3):
        users.get_with(1, lambda: db(1))
        users.get_with(404, lambda: db(404))
    print(f"3. per-entry expiry: 6 reads, {lookups} database lookups")
    clock.advance(5)
    users.get_with(1, lambda: db(1))
    users.get_with(404, lambda: db(404))
    print(f"   5 s later the miss was looked up again, the hit was not: {lookups} lookups")


def size_aware() -> None:
    evicted = 0

    def on_evict(key: int, value: bytes, cause: str) -> None:
        nonlocal evicted
        evicted += cause == "size"

    blobs: cortado.Cache[int, bytes] = cortado.Cache(
        1 << 20, weigher=lambda k, v: len(v), eviction_listener=on_evict
    )
    for i in range(2_000):
        blobs[i] = bytes(256 * 1024 if i % 10 == 0 else 2 * 1024)
    blobs.run_pending_tasks()
    print(
        f"4. weigher: {len(blobs)} entries, {blobs.weighted_size} bytes "
        f"(bound {1 << 20}), {evicted} evicted by size"
    )


def decorator() -> None:
    calls = 0

    @cortado.cached(max_capacity=128, ttl=60)
    def fib(n: int) -> int:
        nonlocal calls
        calls += 1
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    print(f"5. @cortado.cached: fib(80) = {fib(80)} in {calls} calls; {fib.cache_info()}")


if __name__ == "__main__":
    print("cortado demo (Python)\n")
    coalescing()
    asyncio.run(coalescing_async())
    ttl()
    negative_caching()
    size_aware()
    decorator()
