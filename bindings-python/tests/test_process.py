"""Reference counting (no leaks), garbage collection while the cache is busy (no deadlock),
fork safety, and the type stubs."""

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

import cortado
from cortado import Cache


class Tracked:
    alive = 0

    def __init__(self) -> None:
        Tracked.alive += 1

    def __del__(self) -> None:
        Tracked.alive -= 1


class Key:
    def __init__(self, v: int) -> None:
        self.v = v
        Tracked.alive += 1

    def __hash__(self) -> int:
        return hash(self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other.v == self.v

    def __del__(self) -> None:
        Tracked.alive -= 1


def test_refcounts_flat() -> None:
    events: list[Any] = []
    c: Cache[Any, Any] = Cache(100, eviction_listener=lambda k, v, cause: events.append(cause))
    value = object()
    key = "some-key"
    before_v, before_k = sys.getrefcount(value), sys.getrefcount(key)
    for i in range(2000):
        c[key] = value
        c.get(key)
        c[key]
        c.peek(key)
        _ = key in c
        c[(key, i)] = value
        c.get_with(("load", i), lambda: value)
        c.setdefault(("sd", i), value)
        list(c.items())
        c.pop(key)
    c.clear()
    c.run_pending_tasks()
    events.clear()
    gc.collect()
    assert sys.getrefcount(value) == before_v
    assert sys.getrefcount(key) == before_k


def test_no_leak_of_evicted_keys_and_values() -> None:
    gc.collect()
    base = Tracked.alive
    c: Cache[Any, Any] = Cache(50)
    for i in range(5000):
        c[Key(i)] = Tracked()
        c[i] = Tracked()
        c[("t", Key(i))] = Tracked()
        c.get(Key(i - 1))
    assert len(c) <= 50
    c.run_pending_tasks()
    gc.collect()
    # At most the live entries (and their interned keys) remain.
    assert Tracked.alive - base <= 50 * 3
    c.clear()
    gc.collect()
    assert Tracked.alive == base
    del c
    gc.collect()
    assert Tracked.alive == base


def test_object_counts_flat() -> None:
    c: Cache[Any, Any] = Cache(100, ttl=60)

    def churn() -> None:
        for i in range(3000):
            c[i % 500] = [i]
            c[str(i)] = {"v": i}
            c.get(i % 700)

    churn()
    c.run_pending_tasks()
    gc.collect()
    n1 = len(gc.get_objects())
    churn()
    c.run_pending_tasks()
    gc.collect()
    n2 = len(gc.get_objects())
    assert abs(n2 - n1) < 50


def test_cycle_through_callbacks_is_collected() -> None:
    import weakref

    class Owner:
        def __init__(self) -> None:
            self.cache: Cache[str, int] = Cache(10, eviction_listener=self.on_evict)

        def on_evict(self, k: str, v: int, cause: str) -> None:
            pass

    o = Owner()
    r = weakref.ref(o)
    del o
    gc.collect()
    assert r() is None


def run_child(code: str, timeout: float = 60) -> str:
    """Runs code in a fresh interpreter: a deadlock keeps the GIL, so only a child process can
    be timed out."""
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_gc_in_finalizers_and_eq_does_not_deadlock() -> None:
    out = run_child(
        """
        import gc, threading, cortado

        class Boom:
            def __del__(self):
                gc.collect()

        class Key:
            def __init__(self, v): self.v = v
            def __hash__(self): return self.v % 3
            def __eq__(self, other):
                gc.collect()
                return isinstance(other, Key) and other.v == self.v

        c = cortado.Cache(2, eviction_listener=lambda k, v, cause: gc.collect())
        c["x"] = [c]  # a cycle through a value
        for i in range(30):
            c[i] = Boom()
            c[Key(i)] = Boom()
            c.get(Key(i))
            c.get_with(("w", i), lambda: (gc.collect(), Boom())[1])
        c.invalidate_if(lambda k, v: gc.collect() is None)
        stop = False
        def collector():
            while not stop:
                gc.collect()
        t = threading.Thread(target=collector)
        t.start()
        for i in range(300):
            c[i] = Boom()
            c.get(Key(i))
        stop = True
        t.join()
        print("done")
        """
    )
    assert out.strip() == "done"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_can_use_the_cache() -> None:
    out = run_child(
        """
        import os, threading, time, cortado

        c = cortado.Cache(100)
        c["a"] = 1
        started = threading.Event()
        def slow():
            started.set()
            time.sleep(1)
            return "parent"
        t = threading.Thread(target=lambda: c.get_with("inflight", slow))
        t.start()
        started.wait()
        import warnings
        warnings.simplefilter("ignore")  # 3.12+ warns about forking with threads
        pid = os.fork()
        if pid == 0:
            ok = c["a"] == 1
            c["b"] = 2
            ok = ok and c["b"] == 2
            # The load in flight belonged to a parent thread: the child loads it itself.
            ok = ok and c.get_with("inflight", lambda: "child") == "child"
            for i in range(1000):
                c[i] = i
            ok = ok and len(c) <= 100
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        t.join()
        print(os.WEXITSTATUS(status), c["inflight"])
        """
    )
    assert out.split() == ["0", "parent"]


def test_stubs_match_the_module() -> None:
    pytest.importorskip("mypy")
    p = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "cortado._cortado"], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stdout + p.stderr
