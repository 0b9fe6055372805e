"""cortado: a fast concurrent in-memory cache for Python.

``Cache`` is a bounded mapping with adaptive W-TinyLFU eviction, time-to-live, time-to-idle,
per-entry expiry, eviction listeners and coalescing loaders, implemented in Rust. ``cached`` is
a ``functools.lru_cache``-style decorator on top of it, for plain and ``async`` functions.
"""

from __future__ import annotations

import enum
import functools
import inspect
import itertools
from collections import namedtuple
from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any, Callable, Hashable, Optional, TypeVar, Union, overload

from ._cortado import (
    Cache,
    CachedFunction,
    CacheStats,
    ManualClock,
    RecursiveLoadError,
    __version__,
)

__all__ = [
    "Cache",
    "CacheInfo",
    "CacheStats",
    "CachedFunction",
    "ManualClock",
    "RecursiveLoadError",
    "RemovalCause",
    "__version__",
    "cached",
]


class RemovalCause(str, enum.Enum):
    """Why an entry left the cache, as passed to ``eviction_listener``. Compares equal to its
    string value (``cause == "size"``)."""

    EXPLICIT = "explicit"
    """Removed by ``del``, ``pop``, ``invalidate``, ``invalidate_if`` or ``clear``."""
    REPLACED = "replaced"
    """Its value was replaced by a write of the same key."""
    EXPIRED = "expired"
    """Its time-to-live, time-to-idle or per-entry deadline passed."""
    SIZE = "size"
    """Evicted to keep the cache within ``max_capacity``."""

    def __str__(self) -> str:
        return str(self.value)


CacheInfo = namedtuple("CacheInfo", ["hits", "misses", "maxsize", "currsize"])
"""What ``cache_info()`` of a ``@cached`` function returns, as ``functools.lru_cache`` does."""

MutableMapping.register(Cache)

F = TypeVar("F", bound=Callable[..., Any])

Seconds = Union[float, int, timedelta]

_KW_MARK = object()


def _make_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
    """The key of a call for async functions: the same shape as the native one."""
    if kwargs:
        return (*args, _KW_MARK, *itertools.chain.from_iterable(kwargs.items()))
    if len(args) == 1 and not isinstance(args[0], tuple):
        return args[0]  # type: ignore[no-any-return]
    return args


def _async_wrapper(func: Callable[..., Any], cache: Cache[Any, Any], key: Optional[Callable[..., Any]]) -> Any:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        k = key(*args, **kwargs) if key is not None else _make_key(args, kwargs)
        return await cache.get_with_async(k, lambda: func(*args, **kwargs))

    def cache_info() -> CacheInfo:
        s = cache.stats()
        return CacheInfo(s.hits, s.misses, cache.max_capacity, cache.entry_count)

    wrapper.cache = cache  # type: ignore[attr-defined]
    wrapper.cache_info = cache_info  # type: ignore[attr-defined]
    wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
    return wrapper


@overload
def cached(max_capacity: F, /) -> F: ...
@overload
def cached(
    max_capacity: Optional[int] = 128,
    *,
    ttl: Optional[Seconds] = None,
    tti: Optional[Seconds] = None,
    key: Optional[Callable[..., Hashable]] = None,
    cache: Optional[Cache[Any, Any]] = None,
) -> Callable[[F], F]: ...
def cached(
    max_capacity: Any = 128,
    *,
    ttl: Optional[Seconds] = None,
    tti: Optional[Seconds] = None,
    key: Optional[Callable[..., Hashable]] = None,
    cache: Optional[Cache[Any, Any]] = None,
) -> Any:
    """Memoises a function (or an ``async def`` function) in a ``cortado.Cache``.

    Concurrent calls with the same arguments share one call of the function (across threads,
    and across tasks for coroutine functions); an exception is raised in every caller and not
    cached. Arguments must be hashable, or ``key(*args, **kwargs)`` must return a hashable key.
    The wrapper has ``cache_info()``, ``cache_clear()`` and ``cache`` (the ``Cache``), like
    ``functools.lru_cache``. ``max_capacity=None`` means unbounded. Usable bare (``@cached``).
    """
    if callable(max_capacity) and not isinstance(max_capacity, int):
        return cached()(max_capacity)
    if key is not None and not callable(key):
        raise TypeError(f"key must be a callable or None, not {type(key).__name__}")
    if cache is not None:
        if not isinstance(cache, Cache):
            raise TypeError(f"cache must be a cortado.Cache, not {type(cache).__name__}")
        if ttl is not None or tti is not None:
            raise TypeError("ttl and tti are options of the Cache given as cache=, not of cached()")

    def decorate(func: F) -> F:
        c = cache if cache is not None else Cache(max_capacity, ttl=ttl, tti=tti)
        if inspect.iscoroutinefunction(func):
            return _async_wrapper(func, c, key)  # type: ignore[no-any-return]
        wrapper = CachedFunction(func, c, key)
        functools.update_wrapper(wrapper, func)
        return wrapper  # type: ignore[return-value]

    return decorate
