//! The `Cache` class: a thin adapter from Python's mapping protocol to `cortado::Cache`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cortado::{CacheBuilder, EvictionPolicy};
use parking_lot::Mutex;
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyTuple};
use pyo3::PyTraverseError;

use crate::callbacks::{self, Callbacks, ManualClock, PyExpiry};
use crate::key::{Interner, Key};
use crate::obj::{Obj, Val};

pub type Core = cortado::Cache<Key, Val>;

/// A concurrent, bounded, in-memory cache (adaptive W-TinyLFU) mapping hashable keys to any
/// objects.
#[pyclass(frozen, generic, mapping, weakref, module = "cortado._cortado")]
pub struct Cache {
    pub core: Core,
    pub keys: Interner,
    pub cbs: Arc<Callbacks>,
    /// Loads in flight, with the process that runs them: after `os.fork()` a waiter in the
    /// child can tell that the loader is gone (it was a thread of the parent) and load itself.
    pub inflight: Mutex<HashMap<Key, u32>>,
    /// Interning table size that triggers the next sweep.
    sweep_at: AtomicU64,
    /// Reads release nothing and run no Python code (TinyLFU, no `expire_after`): `get` and
    /// `cache[key]` may skip PyO3's machinery for them (see `crate::fast`).
    pub plain_reads: bool,
    /// Writes run no Python code of the cache's own (no weigher, `expire_after` or listener):
    /// `cache[key] = value` may skip PyO3's machinery for them (see `crate::fast`).
    pub plain_writes: bool,
    max_capacity: Option<u64>,
    ttl: Option<f64>,
    tti: Option<f64>,
}

fn capacity_arg(obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    if obj.is_none() {
        return Ok(None);
    }
    if obj.is_instance_of::<pyo3::types::PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "max_capacity must be an int or None, not {}",
            obj.get_type().name()?
        )));
    }
    let n: i128 = obj
        .extract()
        .map_err(|_| PyValueError::new_err("max_capacity is too large (at most 2**64-1)"))?;
    if n < 0 {
        return Err(PyValueError::new_err(format!(
            "max_capacity must be >= 0, got {n}"
        )));
    }
    u64::try_from(n)
        .map(Some)
        .map_err(|_| PyValueError::new_err("max_capacity is too large (at most 2**64-1)"))
}

/// Whether this interpreter runs with a GIL: always before 3.13, and on free-threaded builds
/// only if it was turned back on (`sys._is_gil_enabled`).
fn gil_enabled(py: Python<'_>) -> bool {
    py.import("sys")
        .and_then(|sys| sys.getattr("_is_gil_enabled"))
        .and_then(|f| f.call0())
        .and_then(|r| r.extract::<bool>())
        .unwrap_or(true)
}

fn callable_arg(obj: Option<Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Py<PyAny>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) if o.is_callable() => Ok(Some(o.unbind())),
        Some(o) => Err(PyTypeError::new_err(format!(
            "{what} must be callable, not {}",
            o.get_type().name()?
        ))),
    }
}

impl Cache {
    /// The coalesced load of `key` after a counted plain lookup of it has just missed (the rest
    /// of `get_with` or of a `@cached` call): claims the load without counting the miss again.
    pub fn load_after_plain_miss(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        init: &mut dyn FnMut(Python<'_>) -> PyResult<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        crate::loading::load_after_miss(self, py, true, || self.store_key(key), key, init)
    }

    /// The value for a lookup key, as the core's `get` (a use) or `peek` (no effect) sees it.
    #[inline(always)]
    pub fn read(&self, key: &Bound<'_, PyAny>, record: bool) -> PyResult<Option<Py<PyAny>>> {
        let k = self.keys.lookup(key)?;
        let Some(k) = k.get() else {
            if record {
                // Count the miss as the core would have.
                let _ = self.core.get(&Key::Mark);
            }
            return Ok(None);
        };
        let v = if record {
            self.core.get(k)
        } else {
            self.core.peek(k)
        };
        Ok(v.map(|v| v.obj.into_py()))
    }

    /// The weight of a new entry (1 without a weigher).
    #[inline]
    pub fn weight(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<u32> {
        match &self.cbs.weigher {
            None => Ok(1),
            Some(w) => callbacks::weigh(w.bind(key.py()), key, value),
        }
    }

    /// An owned key for a write; may grow the interning table (and sweep it).
    #[inline]
    pub fn store_key(&self, key: &Bound<'_, PyAny>) -> PyResult<Key> {
        let k = self.keys.store(key)?;
        if k.has_interned() {
            self.maybe_sweep(key.py())?;
        }
        Ok(k)
    }

    pub fn maybe_sweep(&self, py: Python<'_>) -> PyResult<()> {
        let len = self.keys.len(py) as u64;
        if len >= self.sweep_at.load(Ordering::Relaxed) {
            self.keys.sweep(py)?;
            let live = self.keys.len(py) as u64;
            self.sweep_at.store(
                (live * 2).max(self.core.entry_count() * 2).max(1024),
                Ordering::Relaxed,
            );
        }
        Ok(())
    }

    pub fn write(
        &self,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let weight = self.weight(key, value)?;
        let ttl = match ttl {
            Some(t) if !t.is_none() => Some(callbacks::duration(t, "ttl", false)?),
            _ => None,
        };
        let k = self.store_key(key)?;
        let v = Val {
            obj: Obj::from_bound(value),
            weight,
        };
        match ttl {
            None => self.core.insert(k, v),
            Some(d) => self.core.insert_with_ttl(k, v, d),
        }
        Ok(())
    }

    /// The core's statistics.
    pub fn core_stats(&self) -> cortado::CacheStats {
        self.core.stats()
    }

    fn snapshot(&self) -> Vec<(Key, Val)> {
        self.core.iter().collect()
    }
}

#[pymethods]
impl Cache {
    #[new]
    #[pyo3(signature = (
        max_capacity,
        *,
        weigher = None,
        ttl = None,
        tti = None,
        expire_after = None,
        eviction_listener = None,
        clock = None,
        policy = "tinylfu",
    ))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        py: Python<'_>,
        max_capacity: &Bound<'_, PyAny>,
        weigher: Option<Bound<'_, PyAny>>,
        ttl: Option<Bound<'_, PyAny>>,
        tti: Option<Bound<'_, PyAny>>,
        expire_after: Option<Bound<'_, PyAny>>,
        eviction_listener: Option<Bound<'_, PyAny>>,
        clock: Option<Bound<'_, PyAny>>,
        policy: &str,
    ) -> PyResult<Self> {
        let cap = capacity_arg(max_capacity)?;
        let mut b: CacheBuilder<Key, Val> = cortado::Cache::builder();
        if gil_enabled(py) {
            // The GIL serialises every call into the core, so shards cannot spread contention;
            // one shard keeps the whole policy under its own lock, which makes an insert into
            // a full cache about a fifth cheaper (no policy lock, no second shard to evict from).
            b = b.shards(1);
        }
        if let Some(c) = cap {
            b = b.max_capacity(c);
        }
        b = b.eviction_policy(match policy {
            "tinylfu" => EvictionPolicy::TinyLfu,
            "lru" => EvictionPolicy::Lru,
            other => {
                return Err(PyValueError::new_err(format!(
                    "policy must be 'tinylfu' or 'lru', got {other:?}"
                )))
            }
        });
        let weigher = callable_arg(weigher, "weigher")?;
        if weigher.is_some() {
            b = b.weigher(|_k: &Key, v: &Val| v.weight);
        }
        let mut ttl_s = None;
        if let Some(t) = ttl.filter(|t| !t.is_none()) {
            let d = callbacks::duration(&t, "ttl", false)?;
            ttl_s = Some(d.as_secs_f64());
            b = b.time_to_live(d);
        }
        let mut tti_s = None;
        if let Some(t) = tti.filter(|t| !t.is_none()) {
            let d = callbacks::duration(&t, "tti", false)?;
            tti_s = Some(d.as_secs_f64());
            b = b.time_to_idle(d);
        }
        let expiry_obj = expire_after.filter(|e| !e.is_none());
        if let Some(e) = &expiry_obj {
            b = b.expire_after(PyExpiry::new(e)?);
        }
        let clock = match clock.filter(|c| !c.is_none()) {
            None => None,
            Some(c) => {
                let c = c.cast_into::<ManualClock>().map_err(|e| {
                    PyTypeError::new_err(format!("clock must be a cortado.ManualClock ({e})"))
                })?;
                b = b.clock(c.get().clock.clone());
                Some(c.unbind())
            }
        };
        let listener = callable_arg(eviction_listener, "eviction_listener")?;
        let cbs = Arc::new(Callbacks {
            listener,
            weigher,
            expiry: expiry_obj.map(Bound::unbind),
            clock,
        });
        if cbs.listener.is_some() {
            b = b.eviction_listener(callbacks::make_listener(Arc::clone(&cbs)));
        }
        let plain_reads = policy == "tinylfu" && cbs.expiry.is_none();
        let plain_writes = cbs.weigher.is_none() && cbs.expiry.is_none() && cbs.listener.is_none();
        let core = b
            .try_build()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Self {
            core,
            keys: Interner::new(py),
            cbs,
            inflight: Mutex::new(HashMap::new()),
            sweep_at: AtomicU64::new(1024),
            plain_reads,
            plain_writes,
            max_capacity: cap,
            ttl: ttl_s,
            tti: tti_s,
        })
    }

    // ---- mapping protocol ---------------------------------------------------------------

    fn __getitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match self.read(key, true)? {
            Some(v) => Ok(v),
            None => Err(PyKeyError::new_err((key.clone().unbind(),))),
        }
    }

    fn __setitem__(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.write(key, value, None)
    }

    fn __delitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = self.keys.lookup(key)?;
        match k.get().and_then(|k| self.core.remove(k)) {
            Some(_) => Ok(()),
            None => Err(PyKeyError::new_err((key.clone().unbind(),))),
        }
    }

    pub fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = self.keys.lookup(key)?;
        Ok(k.get().is_some_and(|k| self.core.contains_key(k)))
    }

    fn __len__(&self) -> usize {
        self.core.entry_count() as usize
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let keys = self.keys(py)?;
        Ok(keys.bind(py).try_iter()?.into_any().unbind())
    }

    fn __repr__(&self) -> String {
        let cap = match self.max_capacity {
            Some(c) => c.to_string(),
            None => "None".into(),
        };
        format!(
            "Cache(max_capacity={cap}, entry_count={}, weighted_size={})",
            self.core.entry_count(),
            self.core.weighted_size()
        )
    }

    // ---- dict-like methods --------------------------------------------------------------

    // `get(key, default=None, /)` is `crate::fast::get`, installed over the class at import.

    /// The value for `key` without counting a use (no effect on eviction, idle time, stats).
    #[pyo3(signature = (key, default = None, /))]
    fn peek(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        match self.read(key, false)? {
            Some(v) => Ok(v),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    /// Inserts or replaces; `ttl` (seconds or timedelta) gives this entry a lifetime of its own.
    #[pyo3(signature = (key, value, ttl = None))]
    fn insert(
        &self,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.write(key, value, ttl.as_ref())
    }

    /// Removes `key` and returns its value; `default` (or KeyError) if absent.
    #[pyo3(signature = (key, *default))]
    fn pop(&self, key: &Bound<'_, PyAny>, default: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        if default.len() > 1 {
            return Err(PyTypeError::new_err(format!(
                "pop expected at most 2 arguments, got {}",
                default.len() + 1
            )));
        }
        let k = self.keys.lookup(key)?;
        match k.get().and_then(|k| self.core.remove(k)) {
            Some(v) => Ok(v.obj.into_py()),
            None => match default.get_item(0) {
                Ok(d) => Ok(d.unbind()),
                Err(_) => Err(PyKeyError::new_err((key.clone().unbind(),))),
            },
        }
    }

    /// Removes and returns the `(key, value)` pair the policy would evict next (reported to the
    /// listener as `explicit`); `KeyError` if the cache is empty.
    fn popitem(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        match self.core.pop_coldest() {
            Some((k, v)) => Ok(PyTuple::new(py, [k.to_object(py), v.obj.into_py()])?.unbind()),
            None => Err(PyKeyError::new_err("popitem(): cache is empty")),
        }
    }

    /// Stores the pairs of a mapping (anything with `keys()`), or of an iterable of pairs, then
    /// the keyword arguments, as `dict.update` does.
    #[pyo3(signature = (other = None, /, **kwargs))]
    fn update(
        &self,
        other: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        if let Some(other) = other {
            let py = other.py();
            if let Ok(d) = other.cast::<PyDict>() {
                for (k, v) in d.iter() {
                    self.write(&k, &v, None)?;
                }
            } else if other.hasattr(pyo3::intern!(py, "keys"))? {
                for k in other.call_method0(pyo3::intern!(py, "keys"))?.try_iter()? {
                    let k = k?;
                    let v = other.get_item(&k)?;
                    self.write(&k, &v, None)?;
                }
            } else {
                for (i, pair) in other.try_iter()?.enumerate() {
                    let pair = pair?;
                    let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
                        pair.extract().map_err(|_| {
                            PyTypeError::new_err(format!(
                            "cannot convert update sequence element #{i} to a (key, value) pair"
                        ))
                        })?;
                    self.write(&k, &v, None)?;
                }
            }
        }
        if let Some(kwargs) = kwargs {
            for (k, v) in kwargs.iter() {
                self.write(&k, &v, None)?;
            }
        }
        Ok(())
    }

    /// The value for `key`, storing `default` first if absent (atomically: concurrent callers
    /// all get the value that was stored).
    #[pyo3(signature = (key, default = None))]
    fn setdefault(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let default = default.unwrap_or_else(|| py.None().into_bound(py));
        let lookup = self.keys.lookup(key)?;
        crate::loading::load_sync(
            self,
            py,
            lookup.get(),
            || self.store_key(key),
            key,
            &mut |_py| Ok(default.clone().unbind()),
        )
    }

    /// Removes `key` if present.
    fn invalidate(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = self.keys.lookup(key)?;
        if let Some(k) = k.get() {
            self.core.invalidate(k);
        }
        Ok(())
    }

    /// Removes every entry for which `predicate(key, value)` is true; returns how many. The
    /// predicate runs with no cache lock held.
    fn invalidate_if(&self, py: Python<'_>, predicate: &Bound<'_, PyAny>) -> PyResult<usize> {
        if !predicate.is_callable() {
            return Err(PyTypeError::new_err("predicate must be callable"));
        }
        let err: std::cell::RefCell<Option<PyErr>> = std::cell::RefCell::new(None);
        let n = self.core.invalidate_entries_if(|k, v| {
            if err.borrow().is_some() {
                return false;
            }
            let r = predicate
                .call1((k.to_object(py), v.obj.to_py(py)))
                .and_then(|r| r.is_truthy());
            match r {
                Ok(b) => b,
                Err(e) => {
                    *err.borrow_mut() = Some(e);
                    false
                }
            }
        });
        match err.into_inner() {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }

    /// Removes every entry.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        self.core.invalidate_all();
        self.keys.sweep(py)
    }

    fn keys(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let items = self.snapshot();
        let objs: Vec<Py<PyAny>> = items.iter().map(|(k, _)| k.to_object(py)).collect();
        Ok(PyList::new(py, objs)?.unbind())
    }

    fn values(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let items = self.snapshot();
        let objs: Vec<Py<PyAny>> = items.into_iter().map(|(_, v)| v.obj.into_py()).collect();
        Ok(PyList::new(py, objs)?.unbind())
    }

    fn items(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let items = self.snapshot();
        let objs: Vec<Bound<'_, PyTuple>> = items
            .into_iter()
            .map(|(k, v)| PyTuple::new(py, [k.to_object(py), v.obj.into_py()]))
            .collect::<PyResult<_>>()?;
        Ok(PyList::new(py, objs)?.unbind())
    }

    /// Keys in eviction order, coldest (next to go) first: exact LRU order with `policy="lru"`.
    fn keys_coldest_first(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let keys = self.core.keys_coldest_first();
        let objs: Vec<Py<PyAny>> = keys.iter().map(|k| k.to_object(py)).collect();
        Ok(PyList::new(py, objs)?.unbind())
    }

    // ---- loading ------------------------------------------------------------------------

    /// The value for `key`, calling `loader()` to produce and store it if absent. Concurrent
    /// callers for the same missing key share one call; the others wait with the GIL released.
    fn get_with(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        loader: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        if !loader.is_callable() {
            return Err(PyTypeError::new_err("loader must be callable"));
        }
        let lookup = self.keys.lookup(key)?;
        crate::loading::load_sync(
            self,
            py,
            lookup.get(),
            || self.store_key(key),
            key,
            &mut |_py| Ok(loader.call0()?.unbind()),
        )
    }

    /// Awaitable `get_with` for a coroutine function `loader`: concurrent tasks (and threads)
    /// share one load; waiting never blocks the event loop.
    fn get_with_async(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        loader: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        if !loader.is_callable() {
            return Err(PyTypeError::new_err("loader must be callable"));
        }
        let helper = py.import("cortado._aio")?.getattr("get_with_async")?;
        Ok(helper.call1((slf, key, loader))?.unbind())
    }

    /// Claims `key` for an asynchronous load (used by `get_with_async`).
    fn _claim(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<(u8, Py<PyAny>)> {
        crate::loading::claim_async(slf, key)
    }

    // ---- maintenance and introspection ----------------------------------------------------

    /// Applies pending work now: evictions, expirations, buffered reads.
    fn run_pending_tasks(&self, py: Python<'_>) -> PyResult<()> {
        self.core.run_pending_tasks();
        self.keys.sweep(py)
    }

    fn stats(&self) -> CacheStats {
        let s = self.core_stats();
        CacheStats {
            hits: s.hits,
            misses: s.misses,
            load_successes: s.load_successes,
            load_failures: s.load_failures,
            total_load_time: s.total_load_time_nanos as f64 / 1e9,
            eviction_count: s.eviction_count,
            eviction_weight: s.eviction_weight,
        }
    }

    /// Entries stored (expired ones may count until reclaimed).
    #[getter]
    fn entry_count(&self) -> u64 {
        self.core.entry_count()
    }

    /// Total weight of the entries (equal to `entry_count` without a weigher).
    #[getter]
    fn weighted_size(&self) -> u64 {
        self.core.weighted_size()
    }

    #[getter]
    fn max_capacity(&self) -> Option<u64> {
        self.max_capacity
    }

    #[getter]
    fn ttl(&self) -> Option<f64> {
        self.ttl
    }

    #[getter]
    fn tti(&self) -> Option<f64> {
        self.tti
    }

    // ---- garbage collection ---------------------------------------------------------------

    /// Visits the callbacks and the interning table (which holds every non-data key). Takes
    /// no lock. Values stored in the core are not visited: the core offers no way to look at
    /// them without cloning them under its locks.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // The stored values, so that a cycle through one (a value referring back to the cache)
        // can be collected. A shard being written is skipped: reporting fewer references only
        // keeps objects alive longer, and the GC must not wait on a lock.
        let mut result = Ok(());
        self.core.try_for_each_entry(|_, v| {
            if result.is_ok() {
                result = visit.call(v.obj.as_py());
            }
        });
        result?;
        visit.call(&self.keys.table)?;
        visit.call(&self.cbs.listener)?;
        visit.call(&self.cbs.weigher)?;
        visit.call(&self.cbs.expiry)?;
        visit.call(&self.cbs.clock)?;
        Ok(())
    }
}

/// A snapshot of a cache's statistics.
#[pyclass(frozen, get_all, eq, module = "cortado._cortado")]
#[derive(Clone, PartialEq)]
pub struct CacheStats {
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Loader calls that stored a value.
    pub load_successes: u64,
    /// Loader calls that raised.
    pub load_failures: u64,
    /// Seconds spent in loaders.
    pub total_load_time: f64,
    /// Entries evicted for size or expiry.
    pub eviction_count: u64,
    /// Their total weight.
    pub eviction_weight: u64,
}

#[pymethods]
impl CacheStats {
    /// hits / (hits + misses), 1.0 before any lookup.
    #[getter]
    fn hit_rate(&self) -> f64 {
        let n = self.hits + self.misses;
        if n == 0 {
            1.0
        } else {
            self.hits as f64 / n as f64
        }
    }

    #[getter]
    fn request_count(&self) -> u64 {
        self.hits + self.misses
    }

    fn __repr__(&self) -> String {
        format!(
            "CacheStats(hits={}, misses={}, hit_rate={:.4}, load_successes={}, load_failures={}, \
             total_load_time={:.6}, eviction_count={}, eviction_weight={})",
            self.hits,
            self.misses,
            self.hit_rate(),
            self.load_successes,
            self.load_failures,
            self.total_load_time,
            self.eviction_count,
            self.eviction_weight
        )
    }
}
