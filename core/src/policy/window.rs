//! The window's size: the ghost lists' hits move capacity between the window and main with
//! ARC's rule, and protected's overflow is demoted to probation.

use super::ghost::{Ghost, Recall};
use super::node::{Queue, NIL};
use super::{EvictionPolicy, Policy, SECOND_CHANCES};

/// Bounds the queue reshuffling done by one climb or demotion step.
const TRANSFER_THRESHOLD: usize = 1000;

/// The share of ARC's step taken per ghost hit. The full step swung the window of arc-P6 at
/// 10% between 1 and 62,000 entries (of 77,377) within a few million requests; a quarter step
/// measured +0.21 points of mean hit ratio on the shared traces (50.92 -> 51.13), an eighth to a
/// half within 0.05 of it, and still adapts on the recency workload test (in `mod.rs`).
const ADAPTATION_RATE: f64 = 0.25;

/// How much a rejected key that comes back grows the window when it is found only in the
/// older of the rejected list's two filters (it came back after between a quarter and a half
/// of a capacity's worth of rejections), against one found among the latest. The later it
/// returns, the less likely a window grown by one step would have kept it: counting both alike
/// grew the window of arc-P6 at 10% of its keys to its cost (61.5% against moka's 64.8% and a
/// fixed 1% window's 65.4%, the one row more than 3 points below the reference's best). Half
/// took that row to 63.5-63.7% and the 88-row mean to 51.28-51.31% (51.25-51.29% before, two
/// replays each), at 0.05 points of Zipf 0.99 (80.48 -> 80.43%, still above quick_cache's
/// 80.25 and moka's 80.0); none cost 0.3 points of the mean (50.94%), a quarter 0.07, three
/// quarters kept the mean with arc-P6 at 62.6%.
const OLDER_REJECTED_SHARE: f64 = 0.5;

/// Each ghost list is sized for half as many keys as the cache holds (it remembers between a
/// quarter and a half of the capacity's worth of pushes, see `ghost.rs`). Shorter memories
/// scored up to 0.15 points higher on the shared traces but left the adaptation stuck on most
/// runs of a recency workload whose keys return just past them (see
/// ghosts_grow_the_window_for_a_recency_workload).
const GHOST_FRACTION: u64 = 2;

impl Policy {
    /// ARC's rule for its target size, applied to the window: a ghost hit in the rejected
    /// list grows the window, one in the evicted list shrinks it, each by the ratio of the
    /// lists' sizes (at least one entry's weight); a rejected key found only in the older of
    /// its list's two filters grows it by [`OLDER_REJECTED_SHARE`] of that.
    pub(super) fn adapt_to_ghosts(&mut self, weight: u32, rejected: Recall, evicted: bool) {
        if !rejected.remembered() && !evicted {
            return;
        }
        let w = f64::from(weight.max(1));
        let (r, e) = (
            self.ghosts.len(Ghost::Rejected).max(1) as f64,
            self.ghosts.len(Ghost::Evicted).max(1) as f64,
        );
        if rejected.remembered() {
            let share = if rejected == Recall::Older {
                OLDER_REJECTED_SHARE
            } else {
                1.0
            };
            self.pending_adjustment += (e / r).max(1.0) * w * ADAPTATION_RATE * share;
        } else {
            self.pending_adjustment -= (r / e).max(1.0) * w * ADAPTATION_RATE;
        }
    }

    pub(super) fn ghost_capacity(&self) -> usize {
        let entries = if self.weighted {
            self.len
        } else {
            self.maximum
        };
        (entries / GHOST_FRACTION) as usize
    }

    /// Applies the window resizing the ghosts asked for; called after each drain.
    #[inline]
    pub(crate) fn climb(&mut self, ext: &mut impl FnMut(u32, u32) -> u8) {
        // Most writes have neither a whole entry of resizing pending nor an overflowing
        // protected queue: checked inline, the call itself was most of their cost.
        if self.protected_size > self.protected_maximum || self.pending_adjustment.abs() >= 1.0 {
            self.resize_window(ext);
        }
    }

    #[inline(never)]
    fn resize_window(&mut self, ext: &mut impl FnMut(u32, u32) -> u8) {
        if self.kind != EvictionPolicy::TinyLfu {
            return;
        }
        if self.protected_size > self.protected_maximum {
            self.demote_from_protected(ext);
        }
        // `as` truncates toward zero, like `trunc` (which is a libm call here, on every write).
        let amount = self.pending_adjustment as i64;
        self.pending_adjustment -= amount as f64;
        match amount {
            0 => {}
            a if a > 0 => self.increase_window(a as u64, ext),
            a => self.decrease_window(a.unsigned_abs()),
        }
    }

    /// Moves protected's overflow to probation; an entry hit since its last visit goes round
    /// protected again instead.
    /// Kept out of line: most writes have nothing to demote, and their check is inline in
    /// `climb` (the call alone was 25 instructions of every insert).
    #[inline(never)]
    pub(super) fn demote_from_protected(&mut self, ext: &mut impl FnMut(u32, u32) -> u8) {
        let mut chances = 0;
        for _ in 0..TRANSFER_THRESHOLD + SECOND_CHANCES {
            if self.protected_size <= self.protected_maximum {
                break;
            }
            let Some(id) = self.protected.head_id() else {
                break;
            };
            if chances < SECOND_CHANCES && self.take_refs(id, ext) > 0 {
                chances += 1;
                self.protected.move_to_back(&mut self.nodes, id);
                continue;
            }
            self.protected.unlink(&mut self.nodes, id);
            self.protected_size -= u64::from(self.weight(id));
            self.nodes[id as usize].queue = Queue::Probation;
            self.probation.push_back(&mut self.nodes, id);
        }
    }

    pub(super) fn increase_window(&mut self, amount: u64, ext: &mut impl FnMut(u32, u32) -> u8) {
        if self.protected_maximum == 0 {
            return;
        }
        let mut quota = amount.min(self.protected_maximum);
        self.protected_maximum -= quota;
        self.window_maximum += quota;
        self.demote_from_protected(ext);
        for _ in 0..TRANSFER_THRESHOLD {
            let mut from_probation = true;
            let mut id = self.probation.head;
            if id == NIL || quota < u64::from(self.weight(id)) {
                id = self.protected.head;
                from_probation = false;
            }
            let Some(w) = self.take_quota(id, &mut quota) else {
                break;
            };
            if from_probation {
                self.probation.unlink(&mut self.nodes, id);
            } else {
                self.protected.unlink(&mut self.nodes, id);
                self.protected_size -= w;
            }
            self.window_size += w;
            self.nodes[id as usize].queue = Queue::Window;
            self.window.push_back(&mut self.nodes, id);
        }
        self.protected_maximum += quota;
        self.window_maximum -= quota;
    }

    pub(super) fn decrease_window(&mut self, amount: u64) {
        if self.window_maximum <= 1 {
            return;
        }
        let mut quota = amount.min(self.window_maximum - 1);
        self.protected_maximum += quota;
        self.window_maximum -= quota;
        for _ in 0..TRANSFER_THRESHOLD {
            let id = self.window.head;
            let Some(w) = self.take_quota(id, &mut quota) else {
                break;
            };
            self.window_to_probation(id, w);
        }
        self.protected_maximum -= quota;
        self.window_maximum += quota;
    }

    /// The weight of entry `id`, taken from what is left of a resizing's `quota`; `None` once
    /// the queue is empty (`id` is `NIL`) or its head weighs more than is left.
    fn take_quota(&self, id: u32, quota: &mut u64) -> Option<u64> {
        if id == NIL {
            return None;
        }
        let w = u64::from(self.weight(id));
        if *quota < w {
            return None;
        }
        *quota -= w;
        Some(w)
    }
}
