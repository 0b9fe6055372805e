//! An owned Python reference that the core can clone and drop without a `Python` token.
//!
//! The core needs `Clone + Send + Sync` keys and values. `Py<PyAny>` is `Send + Sync` but has no
//! `Clone` (without PyO3's `py-clone` feature, which panics when detached). Every clone the core
//! makes happens inside a call this binding made while attached to the interpreter (a lookup, a
//! write, a load being resolved), so `Obj::clone` may increment the count directly. Drops too
//! happen only there (the binding never calls the core detached, and what it moves out of a
//! detached wait it drops after attaching again), so `Obj`'s drop decrements the count
//! directly as well. `Py`'s own drop asks PyO3 first whether the thread is attached, a
//! thread-local read that a shared library pays through `__tls_get_addr` (~20 instructions),
//! and a write that evicts drops two objects; it also defers the decrement when PyO3's count
//! says detached, which is the case in the entry points of `crate::fast` that skip PyO3's
//! trampoline. Debug builds check the invariant.
//!
//! The binding never hands the core anything that could run Python code when its last
//! reference goes away while a core lock is held: keys hold only exact `str`/`bytes`/`int`/
//! `float`/`tuple` objects or canonical objects kept alive by the cache's interning table, and
//! the core moves removed values out of its locks before dropping them.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use pyo3::ffi;
use pyo3::prelude::*;

/// An owned, strong reference to a Python object.
#[repr(transparent)]
pub struct Obj(ManuallyDrop<Py<PyAny>>);

impl Obj {
    #[inline]
    pub fn new(obj: Py<PyAny>) -> Self {
        Self(ManuallyDrop::new(obj))
    }

    /// A new strong reference to `obj`.
    #[inline]
    pub fn from_bound(obj: &Bound<'_, PyAny>) -> Self {
        Self::new(obj.clone().unbind())
    }

    /// A *borrowed* reference dressed as an owned one, for short-lived lookup keys. It must
    /// never be dropped (hence `ManuallyDrop`) nor outlive `obj`.
    ///
    /// # Safety
    /// `ptr` must be a valid object for as long as the result is used.
    #[inline]
    pub unsafe fn borrowed(ptr: *mut ffi::PyObject) -> ManuallyDrop<Self> {
        let nn = NonNull::new(ptr).expect("non-null object");
        // SAFETY: `Py<T>` is `repr(transparent)` over `NonNull<ffi::PyObject>` (plus a ZST).
        ManuallyDrop::new(Self::new(unsafe {
            std::mem::transmute::<NonNull<ffi::PyObject>, Py<PyAny>>(nn)
        }))
    }

    #[inline]
    pub fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }

    /// A new strong reference as `Py<PyAny>`.
    #[inline]
    pub fn to_py(&self, py: Python<'_>) -> Py<PyAny> {
        self.0.clone_ref(py)
    }

    #[inline]
    pub fn bind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.0.bind(py)
    }

    #[inline]
    pub fn into_py(self) -> Py<PyAny> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the reference moves out exactly once.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }

    #[inline]
    pub fn as_py(&self) -> &Py<PyAny> {
        &self.0
    }
}

impl Clone for Obj {
    #[inline]
    fn clone(&self) -> Self {
        // SAFETY: see the module docs: the core clones keys and values only inside calls made
        // by this binding while attached to the interpreter.
        let py = unsafe { Python::assume_attached() };
        Self::new(self.0.clone_ref(py))
    }
}

impl Drop for Obj {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: see the module docs: drops happen only while attached. The reference is
        // owned and released once.
        unsafe {
            debug_assert!(
                ffi::PyGILState_Check() == 1,
                "cortado: an object dropped while detached"
            );
            ffi::Py_DECREF(self.0.as_ptr());
        }
    }
}

/// A cached value: the object itself and the weight the binding computed for it (the core's
/// weigher only reads it, so a Python weigher never runs inside the core).
#[derive(Clone)]
pub struct Val {
    pub obj: Obj,
    pub weight: u32,
}
