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

/// 20 bytes: links, 32 bits of the key hash (for the frequency sketch and the ghosts: plenty
/// for estimates, half the memory of the full hash), generation and flags. Weights other than
/// 1 live in the policy's side table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) hash: u32,
    pub(crate) gen: u32,
    pub(crate) queue: Queue,
    /// Re-admitted from the rejected ghosts: wins its admission duel.
    pub(crate) returning: bool,
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
        gen: 0,
        queue: Queue::Free,
        returning: false,
        refs: 0,
    };
}

#[cfg(test)]
mod tests {
    /// The memory benchmark's bytes per entry depend on it.
    #[test]
    fn a_node_is_20_bytes() {
        assert_eq!(std::mem::size_of::<super::Node>(), 20);
    }
}
