//! Python bindings for cortado: the private module `cortado._cortado`.
//!
//! Bindings only: every caching decision (admission, eviction, expiry, coalescing) is the
//! core's. This crate converts keys and values, calls Python callbacks outside the core's
//! locks, and releases the GIL while it waits for another thread's load.

mod cache;
mod callbacks;
mod decorator;
mod fast;
mod key;
mod loading;
mod obj;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod _cortado {
    use pyo3::prelude::*;
    use pyo3::types::{PyDict, PyTuple, PyType};

    #[pymodule_export]
    use crate::cache::{Cache, CacheStats};
    #[pymodule_export]
    use crate::callbacks::ManualClock;
    #[pymodule_export]
    use crate::decorator::CachedFunction;
    #[pymodule_export]
    use crate::loading::{LoadGuard, LoadWaiter};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        crate::fast::install(&py.get_type::<crate::cache::Cache>())?;
        crate::fast::install_call(&py.get_type::<crate::decorator::CachedFunction>())?;
        // Both a ValueError (a misuse of the cache) and a RecursionError (what it is).
        let builtins = py.import("builtins")?;
        let bases = PyTuple::new(
            py,
            [
                builtins.getattr("ValueError")?,
                builtins.getattr("RecursionError")?,
            ],
        )?;
        let ns = PyDict::new(py);
        ns.set_item("__module__", "cortado")?;
        ns.set_item(
            "__doc__",
            "A loader called back into the cache for the key it is loading (waiting would deadlock).",
        )?;
        let ty = builtins
            .getattr("type")?
            .call1(("RecursiveLoadError", bases, ns))?
            .cast_into::<PyType>()?;
        let _ = crate::callbacks::RECURSIVE_LOAD_ERROR.set(py, ty.clone().unbind());
        m.add("RecursiveLoadError", ty)?;
        Ok(())
    }
}

#[allow(unused_imports)]
use _cortado as _;
