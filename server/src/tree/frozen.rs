//! A consistent copy of the tree for a snapshot, taken between two applies in constant time: the
//! tree keeps every node's body in a persistent map beside its nodes, and the copy is one clone of
//! that map (shared until a later change copies the parts it touches). Writes replace bodies
//! rather than change them (see [`super::Node`]), so the copy stays as it was while it is encoded,
//! and applies need not wait for the encoding, nor for a walk over every node.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use super::{Bodies, DataTree, NodeBody};

/// Bytes of a node's encoding besides its path and data: their lengths, a one-entry ACL (`world`,
/// `anyone`), six longs and three ints of stat.
const NODE_SIZE_HINT: usize = 4 + 4 + 31 + 6 * 8 + 3 * 4;

/// Every node's path and body as they were when [`DataTree::freeze`] was called.
#[derive(Debug, Clone)]
pub struct FrozenTree {
    bodies: Bodies,
}

impl DataTree {
    /// The copy a snapshot encodes: one clone of the persistent map of bodies, however large the
    /// tree (later changes copy the parts of the map they touch, not the whole).
    pub fn freeze(&self) -> FrozenTree {
        FrozenTree {
            bodies: self.bodies.clone(),
        }
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
        let bytes: usize = self
            .bodies
            .iter()
            .map(|(path, body)| path.len() + body.data().map_or(0, <[u8]>::len))
            .sum();
        bytes + self.len() * NODE_SIZE_HINT
    }

    /// Every node with its path, parents before their children: ordered by depth, and within one
    /// depth by a fixed hash of the path (by the path itself where two hashes are equal), so that
    /// the same tree always gives the same order. Integer comparisons only: ordering by path
    /// compared strings, which for hundreds of thousands of nodes took longer than encoding them.
    pub fn parents_first(&self) -> impl Iterator<Item = (&str, &NodeBody)> {
        let mut order: Vec<(usize, u64, &Arc<str>, &Arc<NodeBody>)> = self
            .bodies
            .iter()
            .map(|(path, body)| {
                let mut hasher = DefaultHasher::new();
                path.hash(&mut hasher);
                (depth(path), hasher.finish(), path, body)
            })
            .collect();
        order.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| a.2.cmp(b.2)));
        order
            .into_iter()
            .map(|(_, _, path, body)| (path.as_ref(), body.as_ref()))
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
