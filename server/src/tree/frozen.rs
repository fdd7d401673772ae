//! A consistent copy of the tree for a snapshot, taken between two applies in constant time: the
//! tree keeps every node's body in a persistent map beside its nodes, and the copy is one clone of
//! that map (shared until a later change copies the parts it touches). Writes replace bodies
//! rather than change them (see [`super::Node`]), so the copy stays as it was while it is encoded,
//! and applies need not wait for the encoding, nor for a walk over every node.

use super::{Bodies, DataTree, NodeBody};

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

    /// Every node with its path, parents before their children: the map's own order, by path,
    /// where a parent, a prefix of its children's paths, comes before them. The same tree always
    /// gives the same order, and listing it costs no sort.
    pub fn parents_first(&self) -> impl Iterator<Item = (&str, &NodeBody)> {
        self.bodies
            .iter()
            .map(|(path, body)| (path.as_ref(), body.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use crate::tree::{DataTree, Node, NodeStat};

    #[test]
    fn parents_come_before_their_children_whatever_sorts_between_them() {
        let mut tree = DataTree::new();
        let acl = tree.intern(&[]);
        // Created parents first, listed in path order: '-' and '.' sort before '/', '0' after.
        for path in [
            "/a", "/a-b", "/a.c", "/a/b", "/a/b/c", "/a/b-", "/a0", "/a-b/x",
        ] {
            tree.insert_raw(path, Node::new(None, acl.clone(), NodeStat::default()));
        }
        let listed: Vec<String> = tree
            .freeze()
            .parents_first()
            .map(|(p, _)| p.to_owned())
            .collect();
        assert_eq!(listed.len(), tree.iter().count());
        for (at, path) in listed.iter().enumerate() {
            if let Some(cut) = path.rfind('/').filter(|&cut| cut > 0) {
                let parent = &path[..cut];
                let parent_at = listed.iter().position(|p| p == parent).unwrap();
                assert!(parent_at < at, "{parent} after {path} in {listed:?}");
            }
        }
    }
}
