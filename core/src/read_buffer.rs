//! Lossy striped ring buffers that record hits for the policy (BP-Wrapper, as in Caffeine).
//!
//! A hit must not take the policy lock, so it appends `(slot id, generation)` to a small ring
//! chosen by the calling thread. Rings are drained in batches by whoever runs maintenance. When
//! a ring is full the reader drains it itself if the policy lock is free; only when another
//! thread is already draining is the event dropped, so a single-threaded cache loses nothing
//! and the policy stays exact.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::stats::{Counting, StripeCounters};
use crate::thread_slot;

/// 512 events (4 KiB) per stripe: with 128, a reader filled its ring while another thread was
/// maintaining and dropped enough hits to cost 1.1 points of Zipf hit ratio at 2 threads; with 512
/// the loss measured 0.4.
const RING_SIZE: usize = 512;
const RING_MASK: usize = RING_SIZE - 1;

/// Pads to two cache lines so neighbouring stripes (and the head and tail) never share one.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Padded<T>(pub(crate) T);

/// One ring plus the stripe's statistics counters.
pub(crate) struct Stripe {
    tail: Padded<AtomicUsize>,
    head: Padded<AtomicUsize>,
    slots: Box<[AtomicU64]>,
    pub(crate) counters: Padded<StripeCounters>,
}

/// Outcome of recording one event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Recorded.
    Added,
    /// The ring is full: the caller should drain (or drop the event if it cannot).
    Full,
    /// Lost a race with another writer of the same stripe; dropped.
    Contended,
}

impl Stripe {
    fn new() -> Self {
        Self {
            tail: Padded(AtomicUsize::new(0)),
            head: Padded(AtomicUsize::new(0)),
            slots: (0..RING_SIZE).map(|_| AtomicU64::new(0)).collect(),
            counters: Padded(StripeCounters::default()),
        }
    }

    /// Appends a non-zero event.
    #[inline]
    pub(crate) fn offer(&self, event: u64) -> Offer {
        debug_assert_ne!(event, 0);
        let tail = self.tail.0.load(Ordering::Relaxed);
        let head = self.head.0.load(Ordering::Acquire);
        if tail.wrapping_sub(head) >= RING_SIZE {
            return Offer::Full;
        }
        if self
            .tail
            .0
            .compare_exchange(
                tail,
                tail.wrapping_add(1),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Offer::Contended;
        }
        self.slots[tail & RING_MASK].store(event, Ordering::Release);
        Offer::Added
    }

    /// Events offered but not yet drained.
    pub(crate) fn queued(&self) -> u64 {
        let tail = self.tail.0.load(Ordering::Acquire);
        let head = self.head.0.load(Ordering::Acquire);
        tail.wrapping_sub(head) as u64
    }

    /// Hands every published event to `f`. Only one thread drains at a time (the policy lock
    /// holder); an event whose writer has claimed a slot but not yet stored it ends the batch
    /// and is picked up by the next drain.
    pub(crate) fn drain(&self, f: &mut impl FnMut(u64)) {
        let mut head = self.head.0.load(Ordering::Relaxed);
        let tail = self.tail.0.load(Ordering::Acquire);
        while head != tail {
            let event = self.slots[head & RING_MASK].swap(0, Ordering::Acquire);
            if event == 0 {
                break;
            }
            f(event);
            head = head.wrapping_add(1);
        }
        self.head.0.store(head, Ordering::Release);
    }

    fn is_empty(&self) -> bool {
        self.tail.0.load(Ordering::Acquire) == self.head.0.load(Ordering::Acquire)
    }
}

/// The set of stripes; a thread keeps to one stripe for its whole life.
pub(crate) struct ReadBuffer {
    stripes: Box<[Stripe]>,
    mask: usize,
    /// The counters of threads that own no stripe (see `thread_slot.rs`).
    shared: Padded<StripeCounters>,
}

thread_local! {
    static PROBE: Cell<usize> = const { Cell::new(0) };
}

static NEXT_PROBE: AtomicUsize = AtomicUsize::new(1);

/// A per-thread number that spreads threads over stripes (Weyl sequence, never zero).
#[inline]
fn thread_probe() -> usize {
    PROBE.with(|p| {
        let v = p.get();
        if v != 0 {
            return v;
        }
        let v = NEXT_PROBE
            .fetch_add(0x9E37_79B9, Ordering::Relaxed)
            .wrapping_mul(0x85EB_CA6B)
            | 1;
        p.set(v);
        v
    })
}

impl ReadBuffer {
    pub(crate) fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        // At most one stripe per thread number: a stripe past them would have no owner.
        let count = (cpus * 4).next_power_of_two().clamp(4, thread_slot::SLOTS);
        Self {
            stripes: (0..count).map(|_| Stripe::new()).collect(),
            mask: count - 1,
            shared: Padded(StripeCounters::default()),
        }
    }

    /// The calling thread's stripe: its own while its thread number is below the stripe count.
    #[inline]
    pub(crate) fn stripe(&self) -> &Stripe {
        let i = match thread_slot::current() {
            Some(slot) => slot,
            None => thread_probe() >> 7,
        };
        &self.stripes[i & self.mask]
    }

    /// The calling thread's statistics counters.
    #[inline]
    pub(crate) fn counting(&self) -> Counting<'_> {
        match thread_slot::current() {
            Some(slot) if slot < self.stripes.len() => Counting {
                counters: &self.stripes[slot].counters.0,
                owned: true,
            },
            _ => Counting {
                counters: &self.shared.0,
                owned: false,
            },
        }
    }

    /// Every set of counters: the stripes' and the shared one.
    pub(crate) fn all_counters(&self) -> impl Iterator<Item = &StripeCounters> {
        self.stripes
            .iter()
            .map(|s| &s.counters.0)
            .chain(std::iter::once(&self.shared.0))
    }

    /// Drains every stripe; returns how many events were drained.
    pub(crate) fn drain(&self, mut f: impl FnMut(u64)) -> u64 {
        let mut n = 0;
        for s in self.stripes.iter() {
            s.drain(&mut |e| {
                n += 1;
                f(e);
            });
        }
        n
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.stripes.iter().all(Stripe::is_empty)
    }

    pub(crate) fn stripes(&self) -> &[Stripe] {
        &self.stripes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_then_reports_full_and_drains_in_order() {
        let s = Stripe::new();
        for i in 1..=RING_SIZE as u64 {
            assert_eq!(s.offer(i), Offer::Added);
        }
        assert_eq!(s.offer(999), Offer::Full);
        let mut seen = Vec::new();
        s.drain(&mut |e| seen.push(e));
        assert_eq!(seen, (1..=RING_SIZE as u64).collect::<Vec<_>>());
        assert!(s.is_empty());
        assert_eq!(s.offer(7), Offer::Added);
    }

    #[test]
    fn concurrent_offers_are_each_drained_once() {
        use std::sync::Arc;
        let buf = Arc::new(ReadBuffer::new());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let buf = Arc::clone(&buf);
                std::thread::spawn(move || {
                    let mut added = Vec::new();
                    for i in 0..50u64 {
                        let e = (t << 32) | (i + 1);
                        if buf.stripe().offer(e) == Offer::Added {
                            added.push(e);
                        }
                    }
                    added
                })
            })
            .collect();
        let mut added: Vec<u64> = threads
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let mut drained = Vec::new();
        buf.drain(|e| drained.push(e));
        added.sort_unstable();
        drained.sort_unstable();
        assert_eq!(added, drained);
    }
}
