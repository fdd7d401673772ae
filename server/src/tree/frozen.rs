//! A consistent copy of the tree for a snapshot, taken between two applies without copying any
//! node: the paths go into one buffer and every node's body is shared by reference count. Writes
//! after the copy replace bodies rather than change them (see [`super::Node`]), so the copy stays
//! as it was while it is encoded, and applies need not wait for the encoding.

use std::sync::Arc;

use super::{DataTree, NodeBody};

/// Every node's path and body as they were when [`DataTree::freeze`] was called.
#[derive(Debug, Clone)]
pub struct FrozenTree {
    /// All paths, one after the other.
    paths: String,
    /// Where each path ends in `paths`.
    ends: Vec<usize>,
    /// Each path's body, in the same order.
    bodies: Vec<Arc<NodeBody>>,
}

impl DataTree {
    /// The copy a snapshot encodes; one pass over the nodes, no per-node allocation.
    pub fn freeze(&self) -> FrozenTree {
        let count = self.nodes.len();
        let mut frozen = FrozenTree {
            paths: String::with_capacity(self.nodes.keys().map(|p| p.len()).sum()),
            ends: Vec::with_capacity(count),
            bodies: Vec::with_capacity(count),
        };
        for (path, node) in self.iter() {
            frozen.paths.push_str(path);
            frozen.ends.push(frozen.paths.len());
            frozen.bodies.push(node.body().clone());
        }
        frozen
    }
}

impl FrozenTree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Whether the copy holds no node.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    fn path(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.paths[start..self.ends[index]]
    }

    /// Every node with its path, in path order (so parents come before their children).
    pub fn sorted(&self) -> impl Iterator<Item = (&str, &NodeBody)> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_unstable_by(|&a, &b| self.path(a).cmp(self.path(b)));
        order
            .into_iter()
            .map(|i| (self.path(i), self.bodies[i].as_ref()))
    }
}
