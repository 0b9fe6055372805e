//! Coalesced loading on the core's claim primitive.
//!
//! `Cache::claim_load` answers with the value, the duty to load it, or a waiter on someone
//! else's load. The loader (Python) runs with no core lock held. Waiting threads do not use
//! `LoadWaiter::wait` (it would clone the value while detached): they register an
//! `on_complete` callback, which the loading thread runs while attached, and sleep on their own
//! condition variable with the GIL released, waking now and then to handle signals (Ctrl-C).

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use cortado::{Claim, LoadResult, RecursiveLoad};
use parking_lot::{Condvar, Mutex};
use pyo3::exceptions::{PyBaseException, PyException, PyRuntimeError};
use pyo3::prelude::*;

use crate::cache::Cache;
use crate::callbacks;
use crate::key::Key;
use crate::obj::{Obj, Val};

type CoreGuard = cortado::LoadGuard<Key, Val, cortado::RandomState>;
type CoreWaiter = cortado::LoadWaiter<Key, Val>;

/// The exception a loader raised, shared with every waiter.
pub struct LoadError(pub Py<PyBaseException>);

fn failed(py: Python<'_>, err: &PyErr) -> Arc<dyn Any + Send + Sync> {
    Arc::new(LoadError(err.value(py).clone().unbind()))
}

fn raise_failed(py: Python<'_>, e: &Arc<dyn Any + Send + Sync>) -> PyErr {
    match e.downcast_ref::<LoadError>() {
        Some(LoadError(exc)) => PyErr::from_value(exc.bind(py).clone().into_any()),
        None => PyRuntimeError::new_err("the load failed"),
    }
}

impl Cache {
    fn begin_load(&self, key: &Key) {
        self.inflight.lock().insert(key.clone(), std::process::id());
    }

    fn end_load(&self, key: &Key) {
        self.inflight.lock().remove(key);
    }

    /// Whether the load in flight for `key` belongs to a process we were forked from (its
    /// loading thread does not exist here, so it will never finish).
    fn orphaned(&self, key: &Key) -> bool {
        match self.inflight.lock().get(key) {
            Some(&pid) => pid != std::process::id(),
            None => false,
        }
    }
}

/// Blocks until the load `waiter` ends, with the GIL released. `Ok(None)` means the load is
/// orphaned (see `Cache::orphaned`).
fn wait_detached(
    py: Python<'_>,
    cache: &Cache,
    key: &Key,
    waiter: &CoreWaiter,
) -> PyResult<Option<LoadResult<Val>>> {
    type Cell = (Mutex<Option<LoadResult<Val>>>, Condvar);
    let cell: Arc<Cell> = Arc::new((Mutex::new(None), Condvar::new()));
    let theirs = Arc::clone(&cell);
    waiter.on_complete(move |r| {
        *theirs.0.lock() = Some(r);
        theirs.1.notify_all();
    });
    loop {
        if let Some(r) = cell.0.lock().take() {
            return Ok(Some(r));
        }
        if cache.orphaned(key) {
            return Ok(None);
        }
        let c = Arc::clone(&cell);
        let got = py.detach(move || {
            let mut slot = c.0.lock();
            if slot.is_none() {
                c.1.wait_for(&mut slot, Duration::from_millis(50));
            }
            slot.take()
        });
        if let Some(r) = got {
            return Ok(Some(r));
        }
        py.check_signals()?;
    }
}

/// Runs the loader for a claimed key and resolves the claim. An `Exception` is shared with the
/// waiters; anything else (KeyboardInterrupt, SystemExit) abandons the claim so a waiter takes
/// over the load.
fn run_loader(
    py: Python<'_>,
    cache: &Cache,
    guard: CoreGuard,
    key_obj: &Bound<'_, PyAny>,
    init: &mut dyn FnMut(Python<'_>) -> PyResult<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let key = guard.key().clone();
    cache.begin_load(&key);
    let out = init(py).and_then(|v| {
        let w = cache.weight(key_obj, v.bind(py))?;
        Ok((v, w))
    });
    cache.end_load(&key);
    match out {
        Ok((v, weight)) => {
            guard.complete(Val {
                obj: Obj::new(v.clone_ref(py)),
                weight,
            });
            Ok(v)
        }
        Err(e) => {
            if e.is_instance_of::<PyException>(py) {
                guard.fail(failed(py, &e));
            } else {
                drop(guard);
            }
            Err(e)
        }
    }
}

/// The blocking, coalescing read-through used by `get_with`, `setdefault` and `@cached`.
///
/// A hit takes the cheap path: one `get` with a borrowed key. Only a miss builds an owned key
/// and claims the load (with `claim_load_after_miss`, so the miss is counted once).
pub fn load_sync(
    cache: &Cache,
    py: Python<'_>,
    lookup: Option<&Key>,
    key: impl FnOnce() -> PyResult<Key>,
    key_obj: &Bound<'_, PyAny>,
    init: &mut dyn FnMut(Python<'_>) -> PyResult<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    if let Some(k) = lookup {
        if let Some(v) = cache.core.get(k) {
            return Ok(v.obj.into_py());
        }
    }
    load_after_miss(cache, py, lookup.is_some(), key, key_obj, init)
}

/// [`load_sync`] from its claim on: `looked_up` says a counted `get` of the key has just
/// missed (so the claim does not count the miss again).
pub fn load_after_miss(
    cache: &Cache,
    py: Python<'_>,
    looked_up: bool,
    key: impl FnOnce() -> PyResult<Key>,
    key_obj: &Bound<'_, PyAny>,
    init: &mut dyn FnMut(Python<'_>) -> PyResult<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let key = key()?;
    loop {
        let claim = if looked_up {
            cache.core.claim_load_after_miss(key.clone())
        } else {
            cache.core.claim_load(key.clone())
        };
        match claim {
            Ok(Claim::Present(v)) => return Ok(v.obj.into_py()),
            Ok(Claim::Load(guard)) => return run_loader(py, cache, guard, key_obj, init),
            Ok(Claim::Wait(w)) => match wait_detached(py, cache, &key, &w)? {
                Some(LoadResult::Loaded(v)) => return Ok(v.obj.into_py()),
                Some(LoadResult::Failed(e)) => return Err(raise_failed(py, &e)),
                Some(LoadResult::Absent | LoadResult::Abandoned) => continue,
                None => {
                    // Orphaned by fork: load without coalescing.
                    let v = init(py)?;
                    let weight = cache.weight(key_obj, v.bind(py))?;
                    cache.core.insert(
                        key,
                        Val {
                            obj: Obj::new(v.clone_ref(py)),
                            weight,
                        },
                    );
                    return Ok(v);
                }
            },
            Err(RecursiveLoad) => return Err(callbacks::recursive_load_error(py, key_obj)),
        }
    }
}

/// `(0, value)` present, `(1, LoadGuard)` this task loads, `(2, LoadWaiter)` another load is
/// in flight, `(3, None)` the load in flight is orphaned by fork (load without coalescing).
pub fn claim_async(
    slf: &Bound<'_, Cache>,
    key_obj: &Bound<'_, PyAny>,
) -> PyResult<(u8, Py<PyAny>)> {
    let py = slf.py();
    let cache = slf.get();
    let key = cache.store_key(key_obj)?;
    Ok(match cache.core.claim_load_detached(key.clone()) {
        Claim::Present(v) => (0, v.obj.into_py()),
        Claim::Load(guard) => {
            cache.begin_load(&key);
            let g = LoadGuard {
                cache: slf.clone().unbind(),
                key_obj: key_obj.clone().unbind(),
                guard: Mutex::new(Some(guard)),
            };
            (1, Py::new(py, g)?.into_any())
        }
        Claim::Wait(w) => {
            if cache.orphaned(&key) {
                (3, py.None())
            } else {
                (2, Py::new(py, LoadWaiter { waiter: w })?.into_any())
            }
        }
    })
}

/// The duty to load one key for `get_with_async`: resolve it with `complete`, `fail` or
/// `abandon` (dropping it unresolved abandons it).
#[pyclass(frozen, module = "cortado._cortado")]
pub struct LoadGuard {
    cache: Py<Cache>,
    key_obj: Py<PyAny>,
    guard: Mutex<Option<CoreGuard>>,
}

impl LoadGuard {
    fn take(&self) -> PyResult<CoreGuard> {
        let g = self.guard.lock().take();
        match g {
            Some(g) => {
                self.cache.get().end_load(g.key());
                Ok(g)
            }
            None => Err(PyRuntimeError::new_err("this load was already resolved")),
        }
    }
}

#[pymethods]
impl LoadGuard {
    /// Stores `value` and hands it to every waiter; returns it. If the weigher rejects it, the
    /// load fails with the weigher's error instead.
    fn complete(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let cache = self.cache.get();
        let weight = cache.weight(self.key_obj.bind(py), value);
        let guard = self.take()?;
        match weight {
            Ok(weight) => {
                guard.complete(Val {
                    obj: Obj::from_bound(value),
                    weight,
                });
                Ok(value.clone().unbind())
            }
            Err(e) => {
                guard.fail(failed(py, &e));
                Err(e)
            }
        }
    }

    /// Fails the load: every waiter raises `exc`; nothing is cached.
    fn fail(&self, py: Python<'_>, exc: &Bound<'_, PyBaseException>) -> PyResult<()> {
        let guard = self.take()?;
        guard.fail(failed(py, &PyErr::from_value(exc.clone().into_any())));
        Ok(())
    }

    /// Gives the load up: a waiter takes it over.
    fn abandon(&self) {
        if let Ok(g) = self.take() {
            drop(g);
        }
    }
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        if let Some(g) = self.guard.get_mut().take() {
            self.cache.get().end_load(g.key());
        }
    }
}

/// A handle on another task's or thread's load of the same key.
#[pyclass(frozen, module = "cortado._cortado")]
pub struct LoadWaiter {
    waiter: CoreWaiter,
}

#[pymethods]
impl LoadWaiter {
    /// Calls `loop.call_soon_threadsafe(callback, status, value)` once the load ends, from the
    /// thread that ends it: status 0 with the value, 1 with the exception, 2 to retry.
    fn subscribe(&self, event_loop: Py<PyAny>, callback: Py<PyAny>) {
        self.waiter.on_complete(move |r| {
            Python::attach(|py| {
                let (status, value): (u8, Py<PyAny>) = match r {
                    LoadResult::Loaded(v) => (0, v.obj.into_py()),
                    LoadResult::Failed(e) => (1, raise_failed(py, &e).into_value(py).into_any()),
                    LoadResult::Absent | LoadResult::Abandoned => (2, py.None()),
                };
                let lp = event_loop.bind(py);
                if let Err(e) =
                    lp.call_method1("call_soon_threadsafe", (callback.bind(py), status, value))
                {
                    // The loop was closed: nobody is waiting any more.
                    if !e.is_instance_of::<PyRuntimeError>(py) {
                        callbacks::report(py, e, "get_with_async wake-up", lp);
                    }
                }
            })
        });
    }
}
