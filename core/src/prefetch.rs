//! A hint to the CPU to start loading a cache line that will be needed soon.
//!
//! A write to a full cache touches a handful of unrelated places in tables larger than the
//! CPU caches (the new key's sketch block and ghost blocks, the victim's entry, its sketch
//! block and its neighbour in the queue). Looked up one after another, each costs a full
//! memory round trip; asked for together at the start, the loads overlap.

/// Starts loading `slice[index]` into the cache; does nothing if `index` is out of bounds or
/// on targets without a stable prefetch instruction.
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], index: usize) {
    if let Some(item) = slice.get(index) {
        prefetch_address(item as *const T as usize);
    }
}

/// Starts loading the cache line at `address`, which may be stale: a table another thread
/// is reallocating can be prefetched through the address it had, which costs a wasted load
/// and nothing else. Lets a thread warm an entry of a shard without taking its lock.
#[inline(always)]
pub(crate) fn prefetch_address(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults (not even on an unmapped address),
    // reads no value into the program and writes nothing.
    #[allow(unsafe_code)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
