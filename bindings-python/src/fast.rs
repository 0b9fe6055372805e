//! `Cache.get`, `Cache.get_with`, `Cache.insert`, `cache[key]`, `cache[key] = value`,
//! `key in cache` and calls of `@cached` functions as C entry points installed over the ones
//! PyO3 generates, with a path that skips PyO3's machinery for the common read and write.
//!
//! A hit in the core costs about 110 instructions; PyO3's generated method around it added as
//! many again: the generic parser for `key, default=None`, the argument's extraction, and the
//! trampoline (about 100 instructions, a third of them thread-local lookups through
//! `__tls_get_addr`, which a shared library pays for every thread-local). The plain read (an
//! exact `str`, `int` or `bytes` key, in a TinyLFU cache without `expire_after`) releases no
//! reference, runs no Python code and raises nothing, so it needs none of that: PyO3's
//! attachment count exists so that references it drops are released at once rather than queued,
//! and a plain read drops none. Every other call goes through PyO3's own trampolines
//! (`impl_::trampoline`, public for its macros) to the general code, as before.
//! `str` keys, 10k entries: `get` hit 76 -> 42 ns, `cache[k]` hit 51-57 -> 39 ns
//! (cachebox 42 / 36, lru-dict 85 / 39 in the same runs). The call slot of `@cached`
//! functions does the same for a call with one plain argument: a hit 72-83 -> 43-54 ns
//! (`functools.lru_cache` 44-52).

use std::ffi::{c_char, c_int, CStr};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyKeyError, PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::impl_::trampoline::{self, MethodDef};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::cache::Cache;
use crate::decorator::CachedFunction;
use crate::key::scalar_lookup;
use crate::obj::{Obj, Val};

/// The signature `inspect` (and so `mypy.stubtest`) reads, in CPython's `__text_signature__`
/// form, then the docstring.
const GET_DOC: &CStr =
    c"get($self, key, default=None, /)\n--\n\nThe value for `key` (a use), or `default`.";

/// A borrowed argument of a C entry point, as the type the caller vouches for.
///
/// # Safety
/// `ptr` is a live object of type `T` (any object for `PyAny`), alive for the call.
#[inline(always)]
unsafe fn arg<'a, 'py, T>(py: Python<'py>, ptr: *mut ffi::PyObject) -> pyo3::Borrowed<'a, 'py, T> {
    unsafe { pyo3::Borrowed::from_ptr(py, ptr).cast_unchecked::<T>() }
}

/// # Safety
/// `slf` is a live `Cache` (a subclass instance at most).
unsafe fn cache<'a, 'py>(py: Python<'py>, slf: *mut ffi::PyObject) -> &'a Cache
where
    'py: 'a,
{
    // SAFETY: per the caller; the object outlives the call that borrowed it.
    unsafe {
        let bound = arg::<Cache>(py, slf);
        &*(bound.get() as *const Cache)
    }
}

/// `Cache.get(key, default=None, /)`, in general. The method descriptor has checked `slf`'s
/// type.
unsafe fn get(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    if !kwnames.is_null() {
        return Err(PyTypeError::new_err("get() takes no keyword arguments"));
    }
    if !(1..=2).contains(&nargs) {
        return Err(PyTypeError::new_err(format!(
            "get() takes from 1 to 2 positional arguments but {nargs} were given"
        )));
    }
    // SAFETY: `args` holds `nargs` borrowed references.
    let (key, default) = unsafe { (arg::<PyAny>(py, *args), (nargs == 2).then(|| *args.add(1))) };
    let cache = unsafe { cache(py, slf) };
    Ok(match cache.read(&key, true)? {
        Some(v) => v.into_ptr(),
        // SAFETY: the default is a live argument; None is immortal.
        None => unsafe { new_ref(default.unwrap_or_else(|| ffi::Py_None())) },
    })
}

/// `cache[key]`, in general.
unsafe fn subscript(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    let key = unsafe { arg::<PyAny>(py, key) };
    match unsafe { cache(py, slf) }.read(&key, true)? {
        Some(v) => Ok(v.into_ptr()),
        None => Err(PyKeyError::new_err((key.to_owned().unbind(),))),
    }
}

/// A borrowed reference handed back as a new one.
///
/// # Safety
/// `obj` is a live object and the thread is attached.
#[inline(always)]
unsafe fn new_ref(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    unsafe { ffi::Py_IncRef(obj) };
    obj
}

/// The plain read: `Some(Some(value))` (a new reference) on a hit, `Some(None)` on a miss,
/// `None` when the call needs the general path. A panic (there is none to expect) also sends
/// the call there, where PyO3 turns it into an exception.
///
/// # Safety
/// `slf` is a live `Cache`, `key` a live object, and the thread is attached.
#[inline(always)]
unsafe fn plain_read(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> Option<Option<*mut ffi::PyObject>> {
    // SAFETY: per the caller.
    let cache = unsafe { cache(Python::assume_attached(), slf) };
    if !cache.plain_reads {
        return None;
    }
    let key = unsafe { scalar_lookup(key) }?;
    catch_unwind(AssertUnwindSafe(|| {
        cache.core.get(&*key).map(|v| v.obj.into_py().into_ptr())
    }))
    .ok()
}

/// `get`'s C entry point.
unsafe extern "C" fn get_entry(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if kwnames.is_null() && (nargs == 1 || nargs == 2) {
        // SAFETY: CPython's calling convention; `args` holds `nargs` references.
        if let Some(found) = unsafe { plain_read(slf, *args) } {
            // SAFETY: the default is a live argument; None is immortal.
            return found.unwrap_or_else(|| unsafe {
                new_ref(if nargs == 2 {
                    *args.add(1)
                } else {
                    ffi::Py_None()
                })
            });
        }
    }
    // SAFETY: as above; the trampoline attaches PyO3 and catches panics.
    unsafe { trampoline::fastcall_cfunction_with_keywords::<Get>(slf, args, nargs, kwnames) }
}

/// `cache[key]`'s C entry point (the mapping slot, called only on instances of the class).
unsafe extern "C" fn subscript_entry(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython's calling convention.
    match unsafe { plain_read(slf, key) } {
        Some(Some(v)) => v,
        Some(None) => {
            // The key is an exact str, int or bytes: raised as its own single argument, the
            // way dict raises it; CPython takes its own references.
            unsafe { ffi::PyErr_SetObject(ffi::PyExc_KeyError, key) };
            std::ptr::null_mut()
        }
        None => unsafe { trampoline::binaryfunc::<Subscript>(slf, key) },
    }
}

/// The mapping slot `mp_ass_subscript` as PyO3 generated it (`__setitem__` and
/// `__delitem__`), kept for the calls [`ass_subscript_entry`] does not take.
static GENERAL_ASS_SUBSCRIPT: std::sync::OnceLock<ffi::objobjargproc> = std::sync::OnceLock::new();

/// The plain write: `Some(0)` once written, `Some(-1)` with an exception set if the core
/// panicked (there is no panic to expect), `None` when the call needs the general path. A plain
/// write has an exact `str`, `int` or `bytes` key and goes to a cache with no weigher,
/// `expire_after` or listener: it cannot fail, and what it releases (an evicted or replaced
/// entry) `Obj`'s drop releases without PyO3's count (see `crate::obj`). A value's `__del__`
/// may then run, with no core lock held, as in any write.
///
/// # Safety
/// `slf` is a live `Cache`, `key` and `value` live objects, and the thread is attached.
#[inline(always)]
unsafe fn plain_write(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> Option<c_int> {
    // SAFETY: per the caller.
    unsafe {
        let cache = cache(Python::assume_attached(), slf);
        if !cache.plain_writes {
            return None;
        }
        let k = scalar_lookup(key)?;
        // The borrowed key and value become owned references: the key holds `key` itself,
        // whatever its variant.
        ffi::Py_INCREF(key);
        ffi::Py_INCREF(value);
        let k = ManuallyDrop::into_inner(k);
        let v = Val {
            obj: ManuallyDrop::into_inner(Obj::borrowed(value)),
            weight: 1,
        };
        Some(
            match catch_unwind(AssertUnwindSafe(|| cache.core.insert(k, v))) {
                Ok(()) => 0,
                Err(_) => {
                    ffi::PyErr_SetString(
                        ffi::PyExc_SystemError,
                        c"cortado: the cache's write panicked".as_ptr(),
                    );
                    -1
                }
            },
        )
    }
}

/// `cache[key] = value`'s C entry point (and `del cache[key]`'s, with a null value): the plain
/// write straight to the core, everything else to PyO3's slot. The native part of a set with
/// eviction, `str` keys, 10k entries: 1,798 -> 1,580 instructions (with `Obj`'s own drop).
unsafe extern "C" fn ass_subscript_entry(
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: CPython calls the slot with a live instance, a live key and a live value or null.
    unsafe {
        if !value.is_null() {
            if let Some(done) = plain_write(slf, key, value) {
                return done;
            }
        }
        match GENERAL_ASS_SUBSCRIPT.get() {
            Some(general) => general(slf, key, value),
            None => {
                ffi::PyErr_SetString(
                    ffi::PyExc_SystemError,
                    c"cortado: __setitem__ is not installed".as_ptr(),
                );
                -1
            }
        }
    }
}

/// `Cache.insert` as PyO3 generated it, kept for the calls [`insert_entry`] does not take.
static GENERAL_INSERT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `insert(key, value)`'s C entry point: with two positional arguments the plain write, as
/// `cache[key] = value` makes it (167 -> 159 ns with eviction, str keys, 10k entries; 150 as
/// `cache[key] = value`); any other call (a `ttl`, keywords, other keys) goes to the method
/// PyO3 generated.
unsafe extern "C" fn insert_entry(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython's calling convention: `args` holds the positional arguments, then one
    // value per name in `kwnames`.
    unsafe {
        if kwnames.is_null() && nargs == 2 {
            match plain_write(slf, *args, *args.add(1)) {
                Some(0) => return new_ref(ffi::Py_None()),
                Some(_) => return std::ptr::null_mut(),
                None => {}
            }
        }
        call_general(&GENERAL_INSERT, c"insert", slf, args, nargs, kwnames)
    }
}

/// Calls the method PyO3 generated (kept in `general` at install) with a fast call's arguments.
///
/// # Safety
/// As for a `METH_FASTCALL | METH_KEYWORDS` function: `slf` a live `Cache`, `args` holding
/// `nargs` positional arguments and then one value per name in `kwnames`.
unsafe fn call_general(
    general: &PyOnceLock<Py<PyAny>>,
    name: &CStr,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: per the caller.
    unsafe {
        let py = Python::assume_attached();
        let Some(general) = general.get(py) else {
            PySystemError::new_err(format!(
                "cortado: {} is not installed",
                name.to_string_lossy()
            ))
            .restore(py);
            return std::ptr::null_mut();
        };
        let nkw = if kwnames.is_null() {
            0
        } else {
            ffi::PyTuple_GET_SIZE(kwnames)
        };
        let mut all: Vec<*mut ffi::PyObject> = Vec::with_capacity((1 + nargs + nkw) as usize);
        all.push(slf);
        all.extend_from_slice(std::slice::from_raw_parts(args, (nargs + nkw) as usize));
        ffi::PyObject_Vectorcall(
            general.as_ptr(),
            all.as_ptr(),
            (nargs + 1) as usize,
            kwnames,
        )
    }
}

/// `Cache.get_with` as PyO3 generated it, kept for the calls [`get_with_entry`] does not take.
static GENERAL_GET_WITH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `get_with(key, loader)`'s C entry point: two positional arguments, a callable loader and a
/// plain read that hits return the value at once; a plain read that misses goes on to the
/// load, through PyO3's trampoline, without counting the miss again; any other call goes to
/// the method PyO3 generated (keywords, argument errors, other keys).
unsafe extern "C" fn get_with_entry(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython's calling convention: `args` holds the positional arguments, then one
    // value per name in `kwnames`.
    unsafe {
        if kwnames.is_null() && nargs == 2 && ffi::PyCallable_Check(*args.add(1)) != 0 {
            match plain_read(slf, *args) {
                Some(Some(v)) => return v,
                Some(None) => {
                    return trampoline::fastcall_cfunction_with_keywords::<GetWithAfterMiss>(
                        slf, args, nargs, kwnames,
                    )
                }
                None => {}
            }
        }
        call_general(&GENERAL_GET_WITH, c"get_with", slf, args, nargs, kwnames)
    }
}

unsafe fn get_with_after_miss(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
    _kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: as in `get_with_entry`, which checked for two positional arguments.
    let (cache, key, loader) = unsafe {
        (
            cache(py, slf),
            arg::<PyAny>(py, *args),
            arg::<PyAny>(py, *args.add(1)),
        )
    };
    Ok(cache
        .load_after_plain_miss(py, &key, &mut |_py| Ok(loader.call0()?.unbind()))?
        .into_ptr())
}

/// `key in cache`: with an exact str/int/bytes key, a lookup that counts nothing, releases
/// nothing and runs no Python code, whatever the cache's options; others through PyO3.
unsafe extern "C" fn contains_entry(slf: *mut ffi::PyObject, key: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls `sq_contains` with a live instance and a live object.
    unsafe {
        if let Some(k) = scalar_lookup(key) {
            let cache = cache(Python::assume_attached(), slf);
            if let Ok(found) = catch_unwind(AssertUnwindSafe(|| cache.core.contains_key(&*k))) {
                return c_int::from(found);
            }
        }
        trampoline::objobjproc::<Contains>(slf, key)
    }
}

unsafe fn contains(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
) -> PyResult<c_int> {
    // SAFETY: as in `contains_entry`.
    let (cache, key) = unsafe { (cache(py, slf), arg::<PyAny>(py, key)) };
    Ok(c_int::from(cache.__contains__(&key)?))
}

/// Calling a `@cached` function: a hit with one plain argument is one read; everything else
/// takes PyO3's trampoline to the general `__call__` (a miss after the plain read to the
/// load, which must not count the miss again).
unsafe extern "C" fn call_entry(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls `tp_call` with a live instance, a tuple and a dict or null.
    unsafe {
        if (kwargs.is_null() || ffi::PyDict_Size(kwargs) == 0) && ffi::PyTuple_GET_SIZE(args) == 1 {
            let py = Python::assume_attached();
            let this = arg::<CachedFunction>(py, slf);
            if let Some(cache) = this.get().plain() {
                if let Some(key) = scalar_lookup(ffi::PyTuple_GET_ITEM(args, 0)) {
                    if let Ok(found) = catch_unwind(AssertUnwindSafe(|| cache.core.get(&*key))) {
                        return match found {
                            Some(v) => v.obj.into_py().into_ptr(),
                            None => trampoline::ternaryfunc::<CallAfterMiss>(slf, args, kwargs),
                        };
                    }
                }
            }
        }
        trampoline::ternaryfunc::<Call>(slf, args, kwargs)
    }
}

unsafe fn call(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: as in `call_entry`.
    let (this, args, kwargs) = unsafe {
        (
            arg::<CachedFunction>(py, slf),
            arg::<PyTuple>(py, args),
            (!kwargs.is_null()).then(|| arg::<PyDict>(py, kwargs)),
        )
    };
    Ok(this
        .get()
        .__call__(py, &args, kwargs.as_deref())?
        .into_ptr())
}

unsafe fn call_after_miss(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    _kwargs: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: as in `call_entry`, which checked for one positional argument.
    let (this, args) = unsafe { (arg::<CachedFunction>(py, slf), arg::<PyTuple>(py, args)) };
    let a = args.get_item(0)?;
    Ok(this.get().call_one_after_miss(py, &args, &a)?.into_ptr())
}

/// Names the general implementation `$f` for PyO3's trampoline of its C signature.
macro_rules! general {
    ($name:ident, $trampoline:ident, $f:ident) => {
        struct $name;
        impl MethodDef<trampoline::$trampoline::Func> for $name {
            const METH: trampoline::$trampoline::Func = $f;
        }
    };
}
general!(Get, fastcall_cfunction_with_keywords, get);
general!(
    GetWithAfterMiss,
    fastcall_cfunction_with_keywords,
    get_with_after_miss
);
general!(Call, ternaryfunc, call);
general!(CallAfterMiss, ternaryfunc, call_after_miss);
general!(Contains, objobjproc, contains);
general!(Subscript, binaryfunc, subscript);

/// Replaces `Cache.get` in the class's dictionary with a method descriptor over
/// [`get_entry`] (and `get_with` and `insert` with theirs), and the class's `mp_subscript`, `mp_ass_subscript` and `sq_contains` slots
/// with [`subscript_entry`], [`ass_subscript_entry`] and [`contains_entry`] (before anything
/// could copy them: the module is still being initialised). Explicit
/// `Cache.__getitem__(c, k)`, `__setitem__` and `__contains__` calls keep PyO3's wrappers,
/// with the same behaviour.
pub fn install(ty: &Bound<'_, PyType>) -> PyResult<()> {
    let tp = ty.as_ptr() as *mut ffi::PyTypeObject;
    let py = ty.py();
    // Through the type's dictionary: PyO3's classes refuse attribute assignment.
    let dict = unsafe { Bound::from_borrowed_ptr_or_err(py, (*tp).tp_dict)? };
    put_method(&dict, tp, c"get", get_entry, GET_DOC)?;
    // `get_with` and `insert` keep PyO3's methods for the calls they hand on, and their
    // signatures.
    replace_method(&dict, tp, c"get_with", get_with_entry, &GENERAL_GET_WITH)?;
    replace_method(&dict, tp, c"insert", insert_entry, &GENERAL_INSERT)?;
    // SAFETY: a heap type's mapping methods live in the type object itself.
    unsafe {
        let mapping = (*tp).tp_as_mapping;
        if mapping.is_null() {
            return Err(PySystemError::new_err(
                "cortado: Cache has no mapping slots",
            ));
        }
        (*mapping).mp_subscript = Some(subscript_entry);
        let Some(general) = (*mapping).mp_ass_subscript else {
            return Err(PySystemError::new_err(
                "cortado: Cache has no __setitem__ slot",
            ));
        };
        let _ = GENERAL_ASS_SUBSCRIPT.set(general);
        (*mapping).mp_ass_subscript = Some(ass_subscript_entry);
        let sequence = (*tp).tp_as_sequence;
        if sequence.is_null() {
            return Err(PySystemError::new_err(
                "cortado: Cache has no sequence slots",
            ));
        }
        (*sequence).sq_contains = Some(contains_entry);
        ffi::PyType_Modified(tp);
    }
    Ok(())
}

/// Replaces the method PyO3 generated for `name` with a fast-call descriptor over `meth`, with
/// the same signature and docstring, and keeps the original in `general` for the calls `meth`
/// hands on ([`call_general`]).
fn replace_method(
    dict: &Bound<'_, PyAny>,
    tp: *mut ffi::PyTypeObject,
    name: &'static CStr,
    meth: ffi::PyCFunctionFastWithKeywords,
    general: &PyOnceLock<Py<PyAny>>,
) -> PyResult<()> {
    let py = dict.py();
    let name_str = name
        .to_str()
        .map_err(|e| PySystemError::new_err(e.to_string()))?;
    let original = dict.get_item(name_str)?;
    let doc = format!(
        "{name_str}{}\n--\n\n{}",
        original
            .getattr("__text_signature__")?
            .extract::<String>()?,
        original.getattr("__doc__")?.extract::<String>()?
    );
    let doc: &'static CStr = Box::leak(
        std::ffi::CString::new(doc)
            .map_err(|e| PySystemError::new_err(e.to_string()))?
            .into_boxed_c_str(),
    );
    let _ = general.set(py, original.unbind());
    put_method(dict, tp, name, meth, doc)
}

/// Sets `name` in the class's dictionary to a fast-call method descriptor over `meth`.
fn put_method(
    dict: &Bound<'_, PyAny>,
    tp: *mut ffi::PyTypeObject,
    name: &'static CStr,
    meth: ffi::PyCFunctionFastWithKeywords,
    doc: &'static CStr,
) -> PyResult<()> {
    // The descriptor keeps a pointer to its definition for the life of the type.
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr() as *const c_char,
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: meth,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: doc.as_ptr(),
    }));
    // SAFETY: a live heap type; a new reference or null with an exception set.
    let descr =
        unsafe { Bound::from_owned_ptr_or_err(dict.py(), ffi::PyDescr_NewMethod(tp, def))? };
    dict.set_item(
        name.to_str()
            .map_err(|e| PySystemError::new_err(e.to_string()))?,
        descr,
    )
}

/// Replaces the call slot of `@cached` functions' class with [`call_entry`] (at import, before
/// any instance exists).
pub fn install_call(ty: &Bound<'_, PyType>) -> PyResult<()> {
    let tp = ty.as_ptr() as *mut ffi::PyTypeObject;
    // SAFETY: a heap type's slot, written before anything reads it.
    unsafe {
        (*tp).tp_call = Some(call_entry);
        ffi::PyType_Modified(tp);
    }
    Ok(())
}
