//! A small number for each live thread, unique among the live threads of the process.
//!
//! Statistics are counted per stripe (see `stats.rs`). A thread that is the only writer of its
//! stripe's counters can count with a plain load and store instead of an atomic
//! read-modify-write (`lock xadd` on x86: a full barrier, and about half of what counting a
//! hit cost), and two threads never share a stripe by chance, as they could when stripes were
//! picked by hashing a per-thread number. A thread takes the lowest free number on its first
//! use of any cache and gives it back when it exits, so the numbers stay dense; a thread that
//! finds none free (more than [`SLOTS`] live at once) shares, with atomic adds.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers handed out: one bit each in [`TAKEN`], as many as a cache has stripes at most.
pub(crate) const SLOTS: usize = 64;

/// Which numbers live threads hold. A bitmap with compare-and-swap rather than a free list
/// behind a lock: a process that forks while another thread holds a lock would leave the child
/// unable to take it; here the child only loses the numbers its vanished threads held.
static TAKEN: AtomicU64 = AtomicU64::new(0);

/// Not asked yet.
const UNSET: u8 = u8::MAX;
/// Shares: none was free, or the thread is exiting.
const SHARED: u8 = u8::MAX - 1;

thread_local! {
    /// The thread's number, or `UNSET` / `SHARED`. No destructor, so it stays readable while
    /// other thread-locals' destructors run (and may use a cache).
    static SLOT: Cell<u8> = const { Cell::new(UNSET) };
    /// Gives the number back when the thread exits.
    static RELEASE: Release = const { Release };
}

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let slot = SLOT.with(|s| s.replace(SHARED));
        if usize::from(slot) < SLOTS {
            // Release: the next holder's acquiring claim sees every count written under it.
            TAKEN.fetch_and(!(1u64 << slot), Ordering::Release);
        }
    }
}

/// The calling thread's number, held by no other live thread; `None` if it shares.
#[inline]
pub(crate) fn current() -> Option<usize> {
    let slot = SLOT.with(Cell::get);
    if usize::from(slot) < SLOTS {
        Some(usize::from(slot))
    } else if slot == UNSET {
        claim()
    } else {
        None
    }
}

#[cold]
fn claim() -> Option<usize> {
    let mut taken = TAKEN.load(Ordering::Relaxed);
    let slot = loop {
        if taken == u64::MAX {
            SLOT.with(|s| s.set(SHARED));
            return None;
        }
        let slot = (!taken).trailing_zeros();
        match TAKEN.compare_exchange_weak(
            taken,
            taken | 1u64 << slot,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => break slot as u8,
            Err(now) => taken = now,
        }
    };
    // Registers the destructor that gives the number back; a thread already exiting cannot
    // register one any more, so it gives the number back at once and shares.
    if RELEASE.try_with(|_| ()).is_err() {
        TAKEN.fetch_and(!(1u64 << slot), Ordering::Release);
        SLOT.with(|s| s.set(SHARED));
        return None;
    }
    SLOT.with(|s| s.set(slot));
    Some(usize::from(slot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_threads_hold_distinct_numbers() {
        use std::sync::{Arc, Barrier};
        let mine = current();
        assert_eq!(current(), mine, "a thread keeps its number");
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let slot = current();
                    // All alive at once (other tests' threads may hold numbers too, and some
                    // may share when all are taken, but no two hold the same).
                    barrier.wait();
                    slot
                })
            })
            .collect();
        let mut slots: Vec<usize> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let held = slots.len();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), held);
        assert!(mine.is_none_or(|m| !slots.contains(&m)));
    }

    #[test]
    fn exited_threads_give_their_numbers_back() {
        // 200 threads one after another: without the release, numbers would run out after 64.
        let numbered = (0..200)
            .filter(|_| std::thread::spawn(current).join().unwrap().is_some())
            .count();
        assert!(numbered > 150, "{numbered} of 200 got a number");
    }
}
