//! The native wrapper behind `@cortado.cached` for plain (not `async`) functions: a call that
//! hits costs a key conversion and one cache read, with no Python frame in between.

use pyo3::exceptions::PyTypeError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3::PyTraverseError;

use crate::cache::Cache;
use crate::key::{key_is_object, Key};
use crate::obj::Obj;

/// A function wrapped by `@cortado.cached`.
#[pyclass(frozen, dict, weakref, module = "cortado._cortado")]
pub struct CachedFunction {
    func: Py<PyAny>,
    cache: Py<Cache>,
    key: Option<Py<PyAny>>,
}

impl CachedFunction {
    /// The cache key of a call: the single argument itself when that is unambiguous (like
    /// `functools.lru_cache`), else the tuple of arguments, then a marker and the keyword
    /// arguments in call order.
    fn call_key<'py>(
        &self,
        py: Python<'py>,
        cache: &Cache,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<(Key, Bound<'py, PyAny>)> {
        if let Some(f) = &self.key {
            let k = f.bind(py).call(args, kwargs)?;
            return Ok((cache.store_key(&k)?, k));
        }
        let kwargs = kwargs.filter(|k| !k.is_empty());
        if kwargs.is_none() && args.len() == 1 {
            let a = args.get_item(0)?;
            if !a.is_instance_of::<PyTuple>() {
                return Ok((cache.store_key(&a)?, a));
            }
        }
        let mut parts = Vec::with_capacity(args.len() + kwargs.map_or(0, |k| 1 + 2 * k.len()));
        // Reuse the argument tuple as the key's object when every argument is its own key.
        let mut same = kwargs.is_none();
        let mut push = |o: &Bound<'_, PyAny>, parts: &mut Vec<Key>| -> PyResult<()> {
            let k = cache.keys.store(o)?;
            if !key_is_object(&k, o) {
                same = false;
            }
            parts.push(k);
            Ok(())
        };
        for a in args.iter() {
            push(&a, &mut parts)?;
        }
        if let Some(kw) = kwargs {
            parts.push(Key::Mark);
            for (k, v) in kw.iter() {
                push(&k, &mut parts)?;
                push(&v, &mut parts)?;
            }
        }
        let tuple = if same {
            args.clone()
        } else {
            let objs: Vec<Py<PyAny>> = parts.iter().map(|k| k.to_object(py)).collect();
            PyTuple::new(py, objs)?
        };
        let key = Key::Tuple(
            parts.into_boxed_slice(),
            Some(Obj::from_bound(tuple.as_any())),
        );
        if key.has_interned() {
            cache.maybe_sweep(py)?;
        }
        Ok((key, tuple.into_any()))
    }
}

impl CachedFunction {
    /// A call with the single argument `a` (its own key) whose counted lookup just missed:
    /// loads it, coalesced, as `__call__` would have after its own lookup.
    pub fn call_one_after_miss(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        a: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let func = self.func.bind(py);
        self.cache
            .get()
            .load_after_plain_miss(py, a, &mut |_py| Ok(func.call1(args)?.unbind()))
    }

    /// The cache, and whether a call with one argument may take the plain read (no key
    /// function, a cache whose reads run no Python code).
    pub fn plain(&self) -> Option<&Cache> {
        let cache = self.cache.get();
        (self.key.is_none() && cache.plain_reads).then_some(cache)
    }
}

#[pymethods]
impl CachedFunction {
    #[new]
    #[pyo3(signature = (func, cache, key = None))]
    fn py_new(
        func: &Bound<'_, PyAny>,
        cache: Py<Cache>,
        key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if !func.is_callable() {
            return Err(PyTypeError::new_err("cached() needs a callable"));
        }
        let key = match key {
            Some(k) if k.is_none() => None,
            Some(k) if !k.is_callable() => {
                return Err(PyTypeError::new_err("key must be callable"))
            }
            k => k.map(Bound::unbind),
        };
        Ok(Self {
            func: func.clone().unbind(),
            cache,
            key,
        })
    }

    #[pyo3(signature = (*args, **kwargs))]
    pub fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let cache = self.cache.get();
        let func = self.func.bind(py);
        let mut init = |_py: Python<'_>| Ok(func.call(args, kwargs)?.unbind());
        // The common case, one positional argument: a borrowed lookup, no allocation.
        if self.key.is_none() && args.len() == 1 && kwargs.is_none_or(|k| k.is_empty()) {
            let a = unsafe { args.get_borrowed_item_unchecked(0) };
            if !a.is_instance_of::<PyTuple>() {
                let lookup = cache.keys.lookup(&a)?;
                return crate::loading::load_sync(
                    cache,
                    py,
                    lookup.get(),
                    || cache.store_key(&a),
                    &a,
                    &mut init,
                );
            }
        }
        let (key, key_obj) = self.call_key(py, cache, args, kwargs)?;
        crate::loading::load_sync(
            cache,
            py,
            Some(&key),
            || Ok(key.clone()),
            &key_obj,
            &mut init,
        )
    }

    /// Binds like a function, so methods can be decorated.
    fn __get__(
        slf: &Bound<'_, Self>,
        obj: Option<&Bound<'_, PyAny>>,
        owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = owner;
        let py = slf.py();
        match obj {
            None => Ok(slf.clone().into_any().unbind()),
            Some(o) if o.is_none() => Ok(slf.clone().into_any().unbind()),
            Some(o) => {
                let types = py.import("types")?;
                Ok(types.getattr("MethodType")?.call1((slf, o))?.unbind())
            }
        }
    }

    /// The cache behind this function.
    #[getter]
    fn cache(&self, py: Python<'_>) -> Py<Cache> {
        self.cache.clone_ref(py)
    }

    /// `CacheInfo(hits, misses, maxsize, currsize)`, as `functools.lru_cache` reports it.
    fn cache_info(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self.cache.get();
        let s = c.core_stats();
        let info = py.import("cortado")?.getattr("CacheInfo")?;
        let maxsize: Option<u64> = self.cache.bind(py).getattr("max_capacity")?.extract()?;
        Ok(info
            .call1((s.hits, s.misses, maxsize, c.core.entry_count()))?
            .unbind())
    }

    /// Empties the cache.
    fn cache_clear(&self, py: Python<'_>) -> PyResult<()> {
        self.cache.bind(py).call_method0("clear")?;
        Ok(())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<cortado.cached {}>", self.func.bind(py).repr()?))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.func)?;
        visit.call(&self.cache)?;
        visit.call(&self.key)?;
        Ok(())
    }
}
