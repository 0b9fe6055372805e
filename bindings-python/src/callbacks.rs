//! User callbacks (eviction listener, per-entry expiry, weigher), the manual clock, option
//! parsing, and the exception types.
//!
//! The core calls listeners and `Expiry` methods outside its locks, on the thread whose call
//! caused them; that thread is always attached (this binding never calls the core detached),
//! so attaching here is a counter increment. A callback that raises cannot return its error
//! through the core: it is reported through `sys.unraisablehook`, like an exception in
//! `__del__` or a weakref callback, and the cache carries on unharmed.

use std::sync::Arc;
use std::time::Duration;

use cortado::quanta;
use cortado::{Expiry, RemovalCause, MAX_DURATION};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDelta, PyFloat, PyInt, PyType};

use crate::key::Key;
use crate::obj::Val;

/// Callables and objects a cache holds, visited by the garbage collector.
pub struct Callbacks {
    pub listener: Option<Py<PyAny>>,
    pub weigher: Option<Py<PyAny>>,
    pub expiry: Option<Py<PyAny>>,
    pub clock: Option<Py<ManualClock>>,
}

/// The `RecursiveLoadError` type, created at module init (it has two bases).
pub static RECURSIVE_LOAD_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

pub fn recursive_load_error(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyErr {
    let ty = RECURSIVE_LOAD_ERROR
        .get(py)
        .expect("module initialised")
        .bind(py);
    let msg =
        format!(
        "the loader for key {} called back into the cache for the same key (this would deadlock)",
        key.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into())
    );
    match ty.call1((msg,)) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// Reports an exception raised by a callback that has no caller to raise it in.
pub fn report(py: Python<'_>, err: PyErr, context: &str, callback: &Bound<'_, PyAny>) {
    let _ = callback;
    let note = format!("Exception ignored in cortado {context}");
    // `write_unraisable` prints "Exception ignored in: <repr of obj>"; pass a string that says
    // which callback of which cache raised.
    let msg = pyo3::types::PyString::new(py, &note);
    err.write_unraisable(py, Some(msg.as_any()));
}

/// The removal cause as the Python-visible value: `cortado.RemovalCause` (a `str` enum), or
/// the plain string if the package is not importable (the private module used alone).
pub fn cause_object(py: Python<'_>, cause: RemovalCause) -> Py<PyAny> {
    static CAUSES: PyOnceLock<Option<[Py<PyAny>; 4]>> = PyOnceLock::new();
    let causes = CAUSES.get_or_init(py, || {
        let ty = py.import("cortado").ok()?.getattr("RemovalCause").ok()?;
        let get = |s: &str| ty.call1((s,)).ok().map(Bound::unbind);
        Some([
            get("explicit")?,
            get("replaced")?,
            get("expired")?,
            get("size")?,
        ])
    });
    match causes {
        Some(c) => c[cause as usize].clone_ref(py),
        None => pyo3::types::PyString::new(py, cause.as_str())
            .into_any()
            .unbind(),
    }
}

/// The core's listener: converts and calls the Python one.
pub fn make_listener(
    cbs: Arc<Callbacks>,
) -> impl Fn(Key, Val, RemovalCause) + Send + Sync + 'static {
    move |key: Key, value: Val, cause: RemovalCause| {
        Python::attach(|py| {
            if let Some(l) = &cbs.listener {
                let l = l.bind(py);
                let k = key.to_object(py);
                let r = l.call1((k, value.obj.as_py().clone_ref(py), cause_object(py, cause)));
                if let Err(e) = r {
                    report(py, e, "eviction listener", l);
                }
            }
            // Release the key and value while attached (a value's __del__ may run here:
            // no core lock is held).
            drop(key);
            drop(value);
        })
    }
}

/// Per-entry expiry: an object with optional `on_create(key, value)`,
/// `on_read(key, value, remaining)` and `on_update(key, value, remaining)` methods returning
/// seconds (float, int or timedelta) or `None`.
pub struct PyExpiry {
    pub on_create: Option<Py<PyAny>>,
    pub on_read: Option<Py<PyAny>>,
    pub on_update: Option<Py<PyAny>>,
}

impl PyExpiry {
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let get = |name: &str| -> PyResult<Option<Py<PyAny>>> {
            match obj.getattr_opt(name)? {
                Some(f) if f.is_none() => Ok(None),
                Some(f) if f.is_callable() => Ok(Some(f.unbind())),
                Some(_) => Err(PyTypeError::new_err(format!(
                    "expire_after.{name} must be callable or None"
                ))),
                None => Ok(None),
            }
        };
        let e = Self {
            on_create: get("on_create")?,
            on_read: get("on_read")?,
            on_update: get("on_update")?,
        };
        if e.on_create.is_none() && e.on_read.is_none() && e.on_update.is_none() {
            return Err(PyTypeError::new_err(
                "expire_after must have at least one of on_create, on_read, on_update",
            ));
        }
        Ok(e)
    }

    fn call(
        &self,
        f: &Option<Py<PyAny>>,
        what: &str,
        key: &Key,
        value: &Val,
        remaining: Option<Option<Duration>>,
    ) -> Option<Duration> {
        let f = f.as_ref()?;
        Python::attach(|py| {
            let f = f.bind(py);
            let k = key.to_object(py);
            let v = value.obj.as_py().clone_ref(py);
            let r = match remaining {
                None => f.call1((k, v)),
                Some(rem) => {
                    let rem: Py<PyAny> = match rem {
                        Some(d) => PyFloat::new(py, d.as_secs_f64()).into_any().unbind(),
                        None => py.None(),
                    };
                    f.call1((k, v, rem))
                }
            };
            let out = r.and_then(|d| {
                if d.is_none() {
                    Ok(None)
                } else {
                    duration(&d, &format!("expire_after.{what}() result"), true).map(Some)
                }
            });
            match out {
                Ok(d) => d,
                Err(e) => {
                    report(py, e, &format!("expire_after.{what}"), f);
                    None
                }
            }
        })
    }
}

impl Expiry<Key, Val> for PyExpiry {
    fn expire_after_create(
        &self,
        key: &Key,
        value: &Val,
        _at: quanta::Instant,
    ) -> Option<Duration> {
        self.call(&self.on_create, "on_create", key, value, None)
    }

    fn expire_after_read(
        &self,
        key: &Key,
        value: &Val,
        _at: quanta::Instant,
        remaining: Option<Duration>,
    ) -> Option<Duration> {
        self.call(&self.on_read, "on_read", key, value, Some(remaining))
    }

    fn expire_after_update(
        &self,
        key: &Key,
        value: &Val,
        _at: quanta::Instant,
        remaining: Option<Duration>,
    ) -> Option<Duration> {
        self.call(&self.on_update, "on_update", key, value, Some(remaining))
    }
}

/// Seconds (int or float) or a `timedelta`, finite, positive (or zero when `zero_ok`), at most
/// 1000 years.
pub fn duration(obj: &Bound<'_, PyAny>, what: &str, zero_ok: bool) -> PyResult<Duration> {
    let secs: f64 = if let Ok(td) = obj.cast::<PyDelta>() {
        td.call_method0("total_seconds")?.extract()?
    } else if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a number of seconds or a timedelta, not bool"
        )));
    } else if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>() {
        obj.extract()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a number of seconds or a timedelta, not {}",
            obj.get_type().name()?
        )));
    };
    if !secs.is_finite() {
        return Err(PyValueError::new_err(format!(
            "{what} must be finite, got {secs}"
        )));
    }
    if secs < 0.0 || (secs == 0.0 && !zero_ok) {
        let bound = if zero_ok { ">= 0" } else { "> 0" };
        return Err(PyValueError::new_err(format!(
            "{what} must be {bound} seconds, got {secs}"
        )));
    }
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(PyValueError::new_err(format!(
            "{what} must not exceed 1000 years, got {secs} seconds"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Calls the weigher: an `int` in `0..=2**32-1`. Zero pins the entry (never evicted by size).
pub fn weigh(
    weigher: &Bound<'_, PyAny>,
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<u32> {
    let w = weigher.call1((key, value))?;
    if w.is_instance_of::<pyo3::types::PyBool>() || !w.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "weigher must return an int, got {}",
            w.get_type().name()?
        )));
    }
    let n: i128 = w.extract().map_err(|_| {
        PyValueError::new_err("weigher returned an int out of range (0 to 2**32-1)")
    })?;
    if n < 0 {
        return Err(PyValueError::new_err(format!(
            "weigher returned a negative weight: {n}"
        )));
    }
    u32::try_from(n)
        .map_err(|_| PyValueError::new_err(format!("weigher returned a weight above 2**32-1: {n}")))
}

/// A clock that moves only when told to, for tests: pass it as `Cache(..., clock=clock)`.
#[pyclass(frozen, module = "cortado._cortado")]
pub struct ManualClock {
    pub clock: quanta::Clock,
    mock: Arc<quanta::Mock>,
}

#[pymethods]
impl ManualClock {
    #[new]
    fn py_new() -> Self {
        let (clock, mock) = quanta::Clock::mock();
        Self { clock, mock }
    }

    /// Moves time forward by `seconds` (a number or a timedelta).
    fn advance(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let d = duration(seconds, "advance", true)?;
        self.mock.increment(d);
        Ok(())
    }

    /// Seconds advanced so far.
    #[getter]
    fn elapsed(&self) -> f64 {
        self.mock.value() as f64 / 1e9
    }

    fn __repr__(&self) -> String {
        format!("ManualClock(elapsed={})", self.elapsed())
    }
}
