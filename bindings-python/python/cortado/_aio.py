"""``Cache.get_with_async``: coalescing across asyncio tasks (and threads) on the core's
non-blocking claim, without ever blocking the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from typing import Any, Awaitable, Callable, Hashable

from ._cortado import Cache, RecursiveLoadError

# (cache, key) pairs this task (and what it awaits) is loading: waiting for one of them would
# wait for ourselves.
_loading: contextvars.ContextVar[tuple[tuple[Cache[Any, Any], Hashable], ...]] = contextvars.ContextVar(
    "cortado_loading", default=()
)


def _wake(fut: asyncio.Future[tuple[int, Any]], status: int, value: Any) -> None:
    if not fut.done():
        fut.set_result((status, value))


async def get_with_async(cache: Cache[Any, Any], key: Hashable, loader: Callable[[], Awaitable[Any]]) -> Any:
    while True:
        status, obj = cache._claim(key)
        if status == 0:
            return obj
        if status == 1:
            guard = obj
            token = _loading.set(_loading.get() + ((cache, key),))
            try:
                value = await loader()
            except Exception as e:
                guard.fail(e)
                raise
            except BaseException:
                # Cancelled (or interrupted): another waiter takes the load over.
                guard.abandon()
                raise
            finally:
                _loading.reset(token)
            return guard.complete(value)
        if status == 3:
            # The load in flight belonged to the process this one was forked from.
            value = await loader()
            cache[key] = value
            return value
        for c, k in _loading.get():
            if c is cache and k == key:
                raise RecursiveLoadError(
                    f"the loader for key {key!r} awaited a load of the same key (this would deadlock)"
                )
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[int, Any]] = loop.create_future()
        obj.subscribe(loop, functools.partial(_wake, fut))
        status, value = await fut
        if status == 0:
            return value
        if status == 1:
            raise value
        # Abandoned (the loading task was cancelled): try again, maybe as the loader.
