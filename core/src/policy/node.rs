//! The policy's per-entry record, addressed by slot id.

/// Null link.
pub(crate) const NIL: u32 = u32::MAX;

/// Which queue a node is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queue {
    /// Not a live entry.
    Free,
    /// The admission window (W-TinyLFU), or unused by LRU.
    Window,
    /// Main space, seen once since admission (or the single queue of the LRU policy).
    Probation,
    /// Main space, seen again while in probation.
    Protected,
    /// Weight zero: counted, expired, but never chosen for eviction by size.
    Pinned,
}

/// 16 bytes: links, 32 bits of the key hash (for the frequency sketch and the ghosts: plenty
/// for estimates, half the memory of the full hash), flags and the key's last frequency
/// estimate. Weights other than 1 live in the policy's side table, generations in its own
/// table when it needs them (see `Policy::gens`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) hash: u32,
    pub(crate) queue: Queue,
    /// Bits 0-3: the sketch's estimate for the key when it was last counted; bits 4-14: the
    /// sketch's epoch then (see [`Node::frequency`]); bit 15: re-admitted from the rejected
    /// ghosts (wins its admission duel once the window has grown).
    meta: u16,
    /// Hits not yet applied (TinyLFU), saturating at 15: folded into the sketch and the
    /// entry's queue position when the policy next visits the entry (CLOCK-style), so a hit
    /// costs a counter bump instead of list surgery.
    pub(crate) refs: u8,
}

impl Node {
    pub(crate) const FREE: Node = Node {
        prev: NIL,
        next: NIL,
        hash: 0,
        queue: Queue::Free,
        meta: 0,
        refs: 0,
    };

    const RETURNING: u16 = 1 << 15;
    const EPOCH_BITS: u16 = 0x7FF;

    /// A node for a key just added, `returning` from the rejected ghosts or not.
    pub(crate) fn new(hash: u32, returning: bool) -> Node {
        Node {
            hash,
            meta: if returning { Self::RETURNING } else { 0 },
            ..Node::FREE
        }
    }

    pub(crate) fn returning(&self) -> bool {
        self.meta & Self::RETURNING != 0
    }

    /// Keeps the sketch's `estimate` for the key, made at sketch epoch `epoch`.
    pub(crate) fn set_frequency(&mut self, estimate: u8, epoch: u16) {
        self.meta = (self.meta & Self::RETURNING)
            | ((epoch & Self::EPOCH_BITS) << 4)
            | u16::from(estimate.min(15));
    }

    /// The kept estimate as of sketch epoch `epoch`: halved once per halving since it was
    /// made, which is what the sketch's own counters went through. It leaves out what other
    /// keys colliding in the sketch added since, so it can be lower than a fresh estimate,
    /// never higher (but for an entry left untouched for 2,048 halvings, which wraps).
    pub(crate) fn frequency(&self, epoch: u16) -> u8 {
        let age = epoch.wrapping_sub(self.meta >> 4) & Self::EPOCH_BITS;
        if age >= 4 {
            0
        } else {
            ((self.meta & 15) >> age) as u8
        }
    }
}

#[cfg(test)]
mod tests {
    /// The memory benchmark's bytes per entry depend on it.
    #[test]
    fn a_node_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Node>(), 16);
    }

    #[test]
    fn a_kept_estimate_halves_with_the_sketch_and_keeps_the_flag() {
        let mut n = super::Node::new(7, true);
        n.set_frequency(13, 5);
        assert!(n.returning());
        assert_eq!(n.frequency(5), 13);
        assert_eq!(n.frequency(6), 6);
        assert_eq!(n.frequency(8), 1);
        assert_eq!(n.frequency(9), 0);
        assert_eq!(n.frequency(5 + 4), 0);
        // Epochs wrap at 11 bits.
        n.set_frequency(9, 0x7FF);
        assert_eq!(n.frequency(0x800), 4);
        let mut m = super::Node::new(7, false);
        m.set_frequency(15, 0);
        assert!(!m.returning());
        assert_eq!(m.frequency(0), 15);
    }
}
