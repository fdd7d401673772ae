//! A consistent copy of the tree for a snapshot, taken between two applies without copying any
//! node: the paths go into one buffer and every node's body is shared by reference count. Writes
//! after the copy replace bodies rather than change them (see [`super::Node`]), so the copy stays
//! as it was while it is encoded, and applies need not wait for the encoding.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use super::{DataTree, NodeBody};

/// Bytes of a node's encoding besides its path and data: their lengths, a one-entry ACL (`world`,
/// `anyone`), six longs and three ints of stat.
const NODE_SIZE_HINT: usize = 4 + 4 + 31 + 6 * 8 + 3 * 4;

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

    /// About how many bytes a snapshot's encoding of these nodes takes: every path and every data
    /// with their lengths, the stat, and a one-entry ACL each.
    pub fn encoded_size_hint(&self) -> usize {
        let data: usize = self
            .bodies
            .iter()
            .map(|b| b.data().map_or(0, <[u8]>::len))
            .sum();
        self.paths.len() + data + self.len() * NODE_SIZE_HINT
    }

    fn path(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.paths[start..self.ends[index]]
    }

    /// Every node with its path, parents before their children: ordered by depth, and within one
    /// depth by a fixed hash of the path (by the path itself where two hashes are equal), so that
    /// the same tree always gives the same order. Integer comparisons only: ordering by path
    /// compared strings, which for hundreds of thousands of nodes took longer than encoding them.
    pub fn parents_first(&self) -> impl Iterator<Item = (&str, &NodeBody)> {
        let mut order: Vec<(usize, u64, usize)> = (0..self.len())
            .map(|i| {
                let path = self.path(i);
                let mut hasher = DefaultHasher::new();
                path.hash(&mut hasher);
                (depth(path), hasher.finish(), i)
            })
            .collect();
        order.sort_unstable_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| self.path(a.2).cmp(self.path(b.2)))
        });
        order
            .into_iter()
            .map(|(_, _, i)| (self.path(i), self.bodies[i].as_ref()))
    }
}

/// How many names deep `path` is: the root 0, `/a` 1, `/a/b` 2.
fn depth(path: &str) -> usize {
    if path.len() <= 1 {
        0
    } else {
        path.bytes().filter(|&b| b == b'/').count()
    }
}

#[cfg(test)]
mod tests {
    use super::depth;

    #[test]
    fn depth_counts_names() {
        assert_eq!(depth("/"), 0);
        assert_eq!(depth(""), 0);
        assert_eq!(depth("/a"), 1);
        assert_eq!(depth("/a/bc"), 2);
        assert_eq!(depth("/zookeeper/config"), 2);
    }
}
