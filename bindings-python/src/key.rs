//! Keys: any hashable Python object, with Python's equality, compared by the core without
//! ever calling Python.
//!
//! The core compares keys (`K: Eq`) inside its shard locks, where calling `__eq__` or
//! `__hash__` could run arbitrary code (and a garbage collection that deadlocks). So every key
//! is turned into a [`Key`] *before* the core sees it, with the GIL held and no core lock:
//!
//! - Pure data (`None`, `bool`, `int`, `float`, `str`, `bytes` and tuples of them) becomes a
//!   native value compared in Rust. Numbers are normalised so that keys equal in Python are
//!   equal here: `1`, `1.0` and `True` are one key, as in a `dict`. `str` compares its code
//!   points, `bytes` its bytes, both with CPython's cached hash as a cheap pre-filter.
//! - Subclasses of those types that keep the base type's `__eq__` and `__hash__` (`IntEnum`,
//!   `StrEnum`, named tuples) are converted to the base type's value. Other numbers
//!   (`Fraction`, `Decimal`, NumPy scalars, complex numbers with no imaginary part) become the
//!   native number they are equal to, if any.
//! - Anything else is canonicalised through a per-cache `dict` (the interning table): the first
//!   object seen for a class of equal keys is its canonical object, found with Python's own
//!   hash and equality, and the core compares canonical objects by identity.

use std::hash::{Hash, Hasher};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::os::raw::c_int;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::critical_section::with_critical_section;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

use crate::obj::Obj;

/// A key as the core sees it. Each variant keeps the Python object it stands for, so keys can
/// be handed back (iteration, listeners) without rebuilding them.
pub enum Key {
    None,
    /// Integral numbers that fit in an `i64` (`int`, `bool`, integral `float`).
    Int(i64, Obj),
    /// Non-integral finite floats and infinities, as bits.
    Float(u64, Obj),
    /// Integers outside `i64`, as little-endian two's-complement bytes.
    Big(Box<[u8]>, Obj),
    /// Exact `str`, with CPython's hash.
    Str(isize, Obj),
    /// Exact `bytes`, with CPython's hash.
    Bytes(isize, Obj),
    /// A tuple of keys; the object is `None` for keys built from call arguments until stored.
    Tuple(Box<[Key]>, Option<Obj>),
    /// A canonical object from the interning table, compared by identity.
    Other(isize, Obj),
    /// Separates positional from keyword arguments in decorator keys.
    Mark,
}

impl Clone for Key {
    fn clone(&self) -> Self {
        match self {
            Key::None => Key::None,
            Key::Int(v, o) => Key::Int(*v, o.clone()),
            Key::Float(v, o) => Key::Float(*v, o.clone()),
            Key::Big(v, o) => Key::Big(v.clone(), o.clone()),
            Key::Str(h, o) => Key::Str(*h, o.clone()),
            Key::Bytes(h, o) => Key::Bytes(*h, o.clone()),
            Key::Tuple(items, o) => Key::Tuple(items.clone(), o.clone()),
            Key::Other(h, o) => Key::Other(*h, o.clone()),
            Key::Mark => Key::Mark,
        }
    }
}

impl Hash for Key {
    #[inline(always)]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Key::Str(h, _) | Key::Bytes(h, _) | Key::Other(h, _) => state.write_u64(*h as u64),
            Key::Int(v, _) => state.write_u64(*v as u64),
            _ => self.hash_rest(state),
        }
    }
}

impl Key {
    #[inline(never)]
    fn hash_rest<H: Hasher>(&self, state: &mut H) {
        match self {
            Key::Str(h, _) | Key::Bytes(h, _) | Key::Other(h, _) => state.write_u64(*h as u64),
            Key::Int(v, _) => state.write_u64(*v as u64),
            Key::None => state.write_u64(0x6e6f_6e65),
            Key::Float(v, _) => state.write_u64(*v),
            Key::Big(v, _) => state.write(v),
            Key::Tuple(items, _) => {
                state.write_usize(items.len());
                for k in items.iter() {
                    k.hash(state);
                }
            }
            Key::Mark => state.write_u64(0x6d61_726b),
        }
    }
}

impl PartialEq for Key {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Key::Str(h1, a), Key::Str(h2, b)) => {
                a.as_ptr() == b.as_ptr() || (h1 == h2 && unsafe { str_eq(a.as_ptr(), b.as_ptr()) })
            }
            (Key::Int(a, _), Key::Int(b, _)) => a == b,
            (Key::None, Key::None) | (Key::Mark, Key::Mark) => true,
            (Key::Float(a, _), Key::Float(b, _)) => a == b,
            (Key::Big(a, _), Key::Big(b, _)) => a == b,
            (Key::Bytes(h1, a), Key::Bytes(h2, b)) => {
                a.as_ptr() == b.as_ptr()
                    || (h1 == h2 && unsafe { bytes_eq(a.as_ptr(), b.as_ptr()) })
            }
            (Key::Tuple(a, _), Key::Tuple(b, _)) => a == b,
            (Key::Other(_, a), Key::Other(_, b)) => a.as_ptr() == b.as_ptr(),
            _ => false,
        }
    }
}

impl Eq for Key {}

/// An exact `str`'s hash: the one the string caches (every `str` used as a dict key or hashed
/// once has it), else computed. Reading the field saves a call into the interpreter on every
/// lookup.
///
/// # Safety
/// `ptr` is a live exact `str` and the thread is attached.
#[inline(always)]
unsafe fn str_hash(ptr: *mut ffi::PyObject) -> ffi::Py_hash_t {
    // SAFETY: an exact str starts with PyASCIIObject; the interpreter writes the field once,
    // from -1 to the hash (atomically on free-threaded builds), so a relaxed load sees either.
    let cached = unsafe {
        std::sync::atomic::AtomicIsize::from_ptr(&raw mut (*ptr.cast::<ffi::PyASCIIObject>()).hash)
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    if cached != -1 {
        cached
    } else {
        unsafe { ffi::PyObject_Hash(ptr) }
    }
}

/// A borrowed key for an exact `str`, `bytes` or `int` that fits an `i64`: no reference taken,
/// nothing to release, no Python code run, no error possible (`None` for anything else, and
/// for a hash that fails, which the general conversion then reports). The key's object is
/// `ptr` itself, so one new reference to `ptr` makes it an owned key.
///
/// # Safety
/// `ptr` is a live object and the thread is attached.
#[inline(always)]
pub unsafe fn scalar_lookup(ptr: *mut ffi::PyObject) -> Option<ManuallyDrop<Key>> {
    unsafe {
        if type_is(ptr, &raw mut ffi::PyUnicode_Type) {
            let h = str_hash(ptr);
            if h == -1 {
                ffi::PyErr_Clear();
                return None;
            }
            return Some(ManuallyDrop::new(Key::Str(
                h,
                ManuallyDrop::into_inner(Obj::borrowed(ptr)),
            )));
        }
        if type_is(ptr, &raw mut ffi::PyLong_Type) {
            let mut overflow: c_int = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow);
            if overflow == 0 {
                return Some(ManuallyDrop::new(Key::Int(
                    v,
                    ManuallyDrop::into_inner(Obj::borrowed(ptr)),
                )));
            }
            return None;
        }
        if type_is(ptr, &raw mut ffi::PyBytes_Type) {
            let h = ffi::PyObject_Hash(ptr);
            if h == -1 {
                ffi::PyErr_Clear();
                return None;
            }
            return Some(ManuallyDrop::new(Key::Bytes(
                h,
                ManuallyDrop::into_inner(Obj::borrowed(ptr)),
            )));
        }
    }
    None
}

/// The owned key of an exact `str` or `int` (the common keys), or `None` for any other type:
/// one copy of their conversion, inlined into both the write path and the general conversion.
#[inline(always)]
fn exact_scalar(obj: &Bound<'_, PyAny>) -> Option<PyResult<Key>> {
    let ptr = obj.as_ptr();
    unsafe {
        if type_is(ptr, &raw mut ffi::PyUnicode_Type) {
            let h = str_hash(ptr);
            if h == -1 {
                return Some(Err(PyErr::fetch(obj.py())));
            }
            return Some(Ok(Key::Str(h, Obj::from_bound(obj))));
        }
        if type_is(ptr, &raw mut ffi::PyLong_Type) {
            let mut overflow: c_int = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow);
            if overflow == 0 {
                return Some(Ok(Key::Int(v, Obj::from_bound(obj))));
            }
            return Some(big_int(obj));
        }
    }
    None
}

/// Compares two exact, ready `str` objects by code points, reading their memory only.
///
/// # Safety
/// Both must be live exact `str` objects.
#[inline]
unsafe fn str_eq(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> bool {
    unsafe {
        let len = ffi::PyUnicode_GET_LENGTH(a);
        if len != ffi::PyUnicode_GET_LENGTH(b) {
            return false;
        }
        let kind = ffi::PyUnicode_KIND(a);
        if kind != ffi::PyUnicode_KIND(b) {
            // Ready strings use the narrowest kind that fits, so equal strings share it.
            return false;
        }
        let n = len as usize * kind as usize;
        let da = std::slice::from_raw_parts(ffi::PyUnicode_DATA(a) as *const u8, n);
        let db = std::slice::from_raw_parts(ffi::PyUnicode_DATA(b) as *const u8, n);
        da == db
    }
}

/// # Safety
/// Both must be live exact `bytes` objects.
#[inline]
unsafe fn bytes_eq(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> bool {
    unsafe {
        let len = ffi::Py_SIZE(a);
        if len != ffi::Py_SIZE(b) {
            return false;
        }
        let da = std::slice::from_raw_parts(ffi::PyBytes_AS_STRING(a) as *const u8, len as usize);
        let db = std::slice::from_raw_parts(ffi::PyBytes_AS_STRING(b) as *const u8, len as usize);
        da == db
    }
}

impl Key {
    /// The Python object this key stands for (a new reference).
    pub fn to_object(&self, py: Python<'_>) -> Py<PyAny> {
        match self {
            Key::None => py.None(),
            Key::Int(_, o)
            | Key::Float(_, o)
            | Key::Big(_, o)
            | Key::Str(_, o)
            | Key::Bytes(_, o)
            | Key::Other(_, o)
            | Key::Tuple(_, Some(o)) => o.to_py(py),
            Key::Tuple(items, None) => {
                let objs: Vec<Py<PyAny>> = items.iter().map(|k| k.to_object(py)).collect();
                PyTuple::new(py, objs)
                    .expect("tuple of objects")
                    .into_any()
                    .unbind()
            }
            Key::Mark => kw_mark(py).clone_ref(py),
        }
    }

    /// Whether this key, or a part of it, went through the interning table.
    pub fn has_interned(&self) -> bool {
        match self {
            Key::Other(..) => true,
            Key::Tuple(items, _) => items.iter().any(Key::has_interned),
            _ => false,
        }
    }
}

/// The separator object between positional and keyword arguments in decorator keys.
pub fn kw_mark(py: Python<'_>) -> &Py<PyAny> {
    static MARK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    MARK.get_or_init(py, || {
        py.eval(c"object()", None, None).expect("object()").unbind()
    })
}

/// A key for one lookup: borrowed from the caller's object when that needs no allocation.
pub enum Lookup {
    Borrowed(ManuallyDrop<Key>),
    Owned(Key),
    /// An object key never interned: it cannot be in the cache.
    Absent,
}

impl Lookup {
    #[inline]
    pub fn get(&self) -> Option<&Key> {
        match self {
            Lookup::Borrowed(k) => Some(k.deref()),
            Lookup::Owned(k) => Some(k),
            Lookup::Absent => None,
        }
    }
}

/// How an object that is not pure data is turned into a key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Add it to the interning table if it is new (writes and loads).
    Store,
    /// Only look it up (reads): a new object cannot be a key of the cache yet.
    Lookup,
}

/// Converts keys for one cache: owns the interning table.
pub struct Interner {
    pub table: Py<PyDict>,
}

#[inline]
fn type_is(ptr: *mut ffi::PyObject, t: *mut ffi::PyTypeObject) -> bool {
    unsafe { ffi::Py_TYPE(ptr) == t }
}

const I64_LO: f64 = -9_223_372_036_854_775_808.0;
const I64_HI: f64 = 9_223_372_036_854_775_808.0;

impl Interner {
    pub fn new(py: Python<'_>) -> Self {
        Self {
            table: PyDict::new(py).unbind(),
        }
    }

    /// A key for reading `obj`, borrowing it when that is free.
    #[inline(always)]
    pub fn lookup(&self, obj: &Bound<'_, PyAny>) -> PyResult<Lookup> {
        // SAFETY: `obj` is a live object and the thread is attached.
        if let Some(k) = unsafe { scalar_lookup(obj.as_ptr()) } {
            return Ok(Lookup::Borrowed(k));
        }
        Ok(match self.convert(obj, Mode::Lookup)? {
            Some(k) => Lookup::Owned(k),
            None => Lookup::Absent,
        })
    }

    /// An owned key for writing or loading `obj`.
    ///
    /// Exact `str` and `int` are built inline (see [`exact_scalar`]): returned from the large,
    /// out-of-line general conversion, the key came back through the stack in pieces and was
    /// read back whole, a store-forwarding stall that was an eighth of a `set`.
    #[inline]
    pub fn store(&self, obj: &Bound<'_, PyAny>) -> PyResult<Key> {
        if let Some(key) = exact_scalar(obj) {
            return key;
        }
        Ok(self
            .convert(obj, Mode::Store)?
            .expect("store mode always yields a key"))
    }

    /// The general conversion. `None` only in lookup mode, for an object never interned.
    pub fn convert(&self, obj: &Bound<'_, PyAny>, mode: Mode) -> PyResult<Option<Key>> {
        if let Some(key) = exact_scalar(obj) {
            return key.map(Some);
        }
        let py = obj.py();
        let ptr = obj.as_ptr();
        unsafe {
            if type_is(ptr, &raw mut ffi::PyBytes_Type) {
                let h = ffi::PyObject_Hash(ptr);
                if h == -1 {
                    return Err(PyErr::fetch(py));
                }
                return Ok(Some(Key::Bytes(h, Obj::from_bound(obj))));
            }
            if ptr == ffi::Py_None() {
                return Ok(Some(Key::None));
            }
            if type_is(ptr, &raw mut ffi::PyBool_Type) {
                let v = i64::from(ptr == ffi::Py_True());
                return Ok(Some(Key::Int(v, Obj::from_bound(obj))));
            }
            if type_is(ptr, &raw mut ffi::PyFloat_Type) {
                let f = ffi::PyFloat_AS_DOUBLE(ptr);
                if f.is_nan() {
                    // NaN is unequal to itself: a dict finds it by identity only.
                    return self.other(obj, mode);
                }
                return float_key(obj, f).map(Some);
            }
            if type_is(ptr, &raw mut ffi::PyTuple_Type) {
                return self.tuple(obj, mode);
            }
        }
        self.slow(obj, mode)
    }

    fn tuple(&self, obj: &Bound<'_, PyAny>, mode: Mode) -> PyResult<Option<Key>> {
        let t = obj.cast::<PyTuple>()?;
        let mut items = Vec::with_capacity(t.len());
        // The stored tuple must hold only objects whose release cannot run Python code (see
        // obj.rs): rebuild it from the keys' own objects when any item was converted.
        let mut same = true;
        for item in t.iter() {
            let Some(k) = self.convert(&item, mode)? else {
                return Ok(None);
            };
            if !key_is_object(&k, &item) {
                same = false;
            }
            items.push(k);
        }
        let py = obj.py();
        let tuple_obj = if same {
            Obj::from_bound(obj)
        } else {
            let objs: Vec<Py<PyAny>> = items.iter().map(|k| k.to_object(py)).collect();
            Obj::new(PyTuple::new(py, objs)?.into_any().unbind())
        };
        Ok(Some(Key::Tuple(items.into_boxed_slice(), Some(tuple_obj))))
    }

    /// Subclasses of the pure-data types, other numbers, and everything else.
    #[cold]
    fn slow(&self, obj: &Bound<'_, PyAny>, mode: Mode) -> PyResult<Option<Key>> {
        let py = obj.py();
        let ptr = obj.as_ptr();
        unsafe {
            let tp = ffi::Py_TYPE(ptr);
            let base_of = |base: *mut ffi::PyTypeObject| {
                ffi::PyType_IsSubtype(tp, base) != 0
                    // Addresses of CPython's own slot functions, read from the type objects.
                    && (*tp).tp_hash.map(|f| f as usize) == (*base).tp_hash.map(|f| f as usize)
                    && (*tp).tp_richcompare.map(|f| f as usize) == (*base).tp_richcompare.map(|f| f as usize)
            };
            if base_of(&raw mut ffi::PyUnicode_Type) {
                let exact = Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_FromObject(ptr))?;
                return self.convert(&exact, mode);
            }
            if base_of(&raw mut ffi::PyLong_Type) {
                let exact = Bound::from_owned_ptr_or_err(py, ffi::PyNumber_Long(ptr))?;
                return self.convert(&exact, mode);
            }
            if base_of(&raw mut ffi::PyFloat_Type) {
                let exact = Bound::from_owned_ptr_or_err(
                    py,
                    ffi::PyFloat_FromDouble(ffi::PyFloat_AsDouble(ptr)),
                )?;
                if ffi::PyFloat_AS_DOUBLE(exact.as_ptr()).is_nan() {
                    return self.other(obj, mode);
                }
                return self.convert(&exact, mode);
            }
            if base_of(&raw mut ffi::PyBytes_Type) {
                let exact = Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromObject(ptr))?;
                if type_is(exact.as_ptr(), &raw mut ffi::PyBytes_Type) {
                    return self.convert(&exact, mode);
                }
            }
            if base_of(&raw mut ffi::PyTuple_Type) {
                let exact = Bound::from_owned_ptr_or_err(py, ffi::PySequence_Tuple(ptr))?;
                return self.convert(&exact, mode);
            }
            if ffi::PyNumber_Check(ptr) != 0 {
                if let Some(k) = self.number(obj)? {
                    return Ok(Some(k));
                }
            }
        }
        self.other(obj, mode)
    }

    /// A number of another type that equals an `int` or a `float` is that number's key, so
    /// `Fraction(1, 2)`, `Decimal("0.5")`, `complex(0.5, 0)` and `0.5` are one key, as in a
    /// dict.
    fn number(&self, obj: &Bound<'_, PyAny>) -> PyResult<Option<Key>> {
        // Python's numeric hash makes equal numbers hash alike: a cheap first test.
        let h = obj.hash()?;
        let mut candidate = as_real(obj)?;
        if candidate.is_none() {
            // A number whose parts cannot be read is left to the interning table.
            candidate = real_part(obj).ok().flatten();
        }
        let Some(c) = candidate else {
            return Ok(None);
        };
        if !(type_is(c.as_ptr(), &raw mut ffi::PyLong_Type)
            || type_is(c.as_ptr(), &raw mut ffi::PyFloat_Type))
        {
            return Ok(None);
        }
        if c.hash()? != h || !c.eq(obj)? {
            return Ok(None);
        }
        self.convert(&c, Mode::Lookup)
    }

    /// Canonicalises an arbitrary hashable object through the interning table.
    fn other(&self, obj: &Bound<'_, PyAny>, mode: Mode) -> PyResult<Option<Key>> {
        let py = obj.py();
        let h = obj.hash()?;
        let table = self.table.bind(py);
        match mode {
            Mode::Lookup => Ok(table
                .get_item(obj)?
                .map(|c| Key::Other(h, Obj::new(c.unbind())))),
            Mode::Store => {
                // A critical section (free-threaded builds; a no-op with the GIL) makes the
                // borrowed result safe to take a reference to, and orders this with `sweep`.
                let canon = with_critical_section(table.as_any(), || unsafe {
                    let c = ffi::PyDict_SetDefault(table.as_ptr(), obj.as_ptr(), obj.as_ptr());
                    Bound::from_borrowed_ptr_or_err(py, c)
                })?;
                Ok(Some(Key::Other(h, Obj::new(canon.unbind()))))
            }
        }
    }

    /// Drops interning entries that no key of the cache holds any more. An entry's object is
    /// referenced twice by the table (as key and value); a higher count means some key of the
    /// cache, an in-flight load, or the caller still holds it.
    pub fn sweep(&self, py: Python<'_>) -> PyResult<()> {
        let table = self.table.bind(py);
        with_critical_section(table.as_any(), || {
            let mut dead = Vec::new();
            for (k, v) in table.iter() {
                // `k` and `v` are the same object, plus the two references this loop holds.
                if k.is(&v) && unsafe { ffi::Py_REFCNT(k.as_ptr()) } <= 4 {
                    dead.push(k);
                }
            }
            for k in dead {
                // Re-check: a key deleted earlier in this loop may have run code (`__del__`).
                if unsafe { ffi::Py_REFCNT(k.as_ptr()) } <= 3 {
                    table.del_item(&k)?;
                }
            }
            Ok(())
        })
    }

    pub fn len(&self, py: Python<'_>) -> usize {
        self.table.bind(py).len()
    }
}

/// The `int` or `float` a number converts to through `__index__` or `__float__`, if it has
/// either (whether the two are equal is for the caller to check).
fn as_real<'py>(o: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = o.py();
    Ok(if o.hasattr(pyo3::intern!(py, "__index__"))? {
        o.call_method0(pyo3::intern!(py, "__index__")).ok()
    } else if o.hasattr(pyo3::intern!(py, "__float__"))? {
        o.call_method0(pyo3::intern!(py, "__float__")).ok()
    } else {
        None
    })
}

/// The real part of a complex number (which has no `__float__`) with no imaginary part, which
/// it equals, as an `int` or a `float`.
fn real_part<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = obj.py();
    if !obj.hasattr(pyo3::intern!(py, "imag"))? || !obj.getattr(pyo3::intern!(py, "imag"))?.eq(0)? {
        return Ok(None);
    }
    let real = obj.getattr(pyo3::intern!(py, "real"))?;
    if type_is(real.as_ptr(), &raw mut ffi::PyFloat_Type) {
        Ok(Some(real))
    } else {
        as_real(&real)
    }
}

/// Whether the key's own object is `item` itself (so a tuple holding `item` can be reused).
pub fn key_is_object(k: &Key, item: &Bound<'_, PyAny>) -> bool {
    match k {
        Key::None => true,
        Key::Int(_, o)
        | Key::Float(_, o)
        | Key::Big(_, o)
        | Key::Str(_, o)
        | Key::Bytes(_, o)
        | Key::Other(_, o) => o.as_ptr() == item.as_ptr(),
        Key::Tuple(_, Some(o)) => o.as_ptr() == item.as_ptr(),
        Key::Tuple(_, None) | Key::Mark => false,
    }
}

/// The key of a finite or infinite float: integral values become integers.
fn float_key(obj: &Bound<'_, PyAny>, f: f64) -> PyResult<Key> {
    if f.is_finite() && f.fract() == 0.0 {
        if (I64_LO..I64_HI).contains(&f) {
            return Ok(Key::Int(f as i64, Obj::from_bound(obj)));
        }
        // Equal to a big integer: use that integer's key (keeping the float object).
        let py = obj.py();
        let n = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromDouble(f))? };
        let Key::Big(bytes, _) = big_int(&n)? else {
            unreachable!("integral float outside i64 is a big integer")
        };
        return Ok(Key::Big(bytes, Obj::from_bound(obj)));
    }
    // -0.0 is integral (handled above), so bits are canonical here.
    Ok(Key::Float(f.to_bits(), Obj::from_bound(obj)))
}

/// The key of an exact `int` outside `i64`.
#[cold]
fn big_int(obj: &Bound<'_, PyAny>) -> PyResult<Key> {
    let py = obj.py();
    let bits: usize = obj
        .call_method0(pyo3::intern!(py, "bit_length"))?
        .extract()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("signed", true)?;
    let bytes: Vec<u8> = obj
        .call_method(
            pyo3::intern!(py, "to_bytes"),
            (bits / 8 + 1, "little"),
            Some(&kwargs),
        )
        .and_then(|b| b.extract())
        .map_err(|e| PyTypeError::new_err(format!("cannot use this integer as a key: {e}")))?;
    Ok(Key::Big(bytes.into_boxed_slice(), Obj::from_bound(obj)))
}
