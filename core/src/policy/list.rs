//! Intrusive doubly linked lists over node indices: O(1) move-to-back without allocation.

use super::node::{Node, NIL};

/// One access-order queue (least recently used at the head).
#[derive(Clone, Copy, Debug)]
pub(crate) struct List {
    pub(crate) head: u32,
    pub(crate) tail: u32,
}

impl Default for List {
    fn default() -> Self {
        Self {
            head: NIL,
            tail: NIL,
        }
    }
}

impl List {
    pub(crate) fn push_back(&mut self, nodes: &mut [Node], id: u32) {
        let n = &mut nodes[id as usize];
        n.prev = self.tail;
        n.next = NIL;
        if self.tail == NIL {
            self.head = id;
        } else {
            nodes[self.tail as usize].next = id;
        }
        self.tail = id;
    }

    pub(crate) fn push_front(&mut self, nodes: &mut [Node], id: u32) {
        let n = &mut nodes[id as usize];
        n.prev = NIL;
        n.next = self.head;
        if self.head == NIL {
            self.tail = id;
        } else {
            nodes[self.head as usize].prev = id;
        }
        self.head = id;
    }

    pub(crate) fn unlink(&mut self, nodes: &mut [Node], id: u32) {
        let (prev, next) = {
            let n = &nodes[id as usize];
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            nodes[next as usize].prev = prev;
        }
        let n = &mut nodes[id as usize];
        n.prev = NIL;
        n.next = NIL;
    }

    /// [`unlink`](Self::unlink) for the head `id`, about to be pushed onto another list
    /// (which sets its links) or freed: only its successor and the list change.
    pub(crate) fn unlink_head(&mut self, nodes: &mut [Node], id: u32) {
        debug_assert_eq!(self.head, id);
        let next = nodes[id as usize].next;
        self.head = next;
        if next == NIL {
            self.tail = NIL;
        } else {
            nodes[next as usize].prev = NIL;
        }
    }

    pub(crate) fn move_to_back(&mut self, nodes: &mut [Node], id: u32) {
        if self.tail != id {
            self.unlink(nodes, id);
            self.push_back(nodes, id);
        }
    }

    /// Links `id` just before `at` (which must be in this list).
    pub(crate) fn insert_before(&mut self, nodes: &mut [Node], at: u32, id: u32) {
        let prev = nodes[at as usize].prev;
        let n = &mut nodes[id as usize];
        n.prev = prev;
        n.next = at;
        nodes[at as usize].prev = id;
        if prev == NIL {
            self.head = id;
        } else {
            nodes[prev as usize].next = id;
        }
    }
}
