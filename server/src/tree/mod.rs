//! The data tree: every znode by path, with Apache's Stat rules, node kinds (ephemeral, container, TTL),
//! the system nodes (`/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`), per-session ephemeral sets and
//! the approximate data size. Mutations return an [`Undo`] so a failed multi can be rolled back.
//!
//! The tree checks nothing about permissions or versions: `ops` decides, the tree only applies.

mod frozen;
pub mod java_order;
mod kind;
mod node;
pub mod path;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use zk_proto::{Acl, Id, perms};

pub use frozen::FrozenTree;
pub use kind::{CONTAINER_OWNER, MAX_TTL, NodeKind};
pub use node::{Node, NodeBody, NodeStat};

/// `/zookeeper`.
pub const ZOOKEEPER: &str = "/zookeeper";
/// `/zookeeper/quota`.
pub const QUOTA: &str = "/zookeeper/quota";
/// `/zookeeper/config`.
pub const CONFIG: &str = "/zookeeper/config";

/// The inverse of one mutation.
#[derive(Debug)]
pub enum Undo {
    /// A node was created: remove it and restore its parent's stat.
    Created {
        /// The created path.
        path: String,
        /// The parent's stat before.
        parent_stat: NodeStat,
    },
    /// A node was deleted: put it back and restore its parent's stat.
    Deleted {
        /// The deleted path.
        path: String,
        /// The node as it was.
        node: Box<Node>,
        /// The parent's stat before.
        parent_stat: NodeStat,
    },
    /// Data or ACL changed: restore the body (data, ACL, stat) it had.
    Changed {
        /// The path.
        path: String,
        /// The body before.
        body: Arc<NodeBody>,
    },
}

/// What a create gives the new node.
#[derive(Debug)]
pub struct NewNode<'a> {
    /// The data.
    pub data: Option<Vec<u8>>,
    /// The ACL (already fixed up).
    pub acl: &'a [Acl],
    /// The `ephemeralOwner` (see [`NodeKind::owner`]).
    pub owner: i64,
}

/// The world-readable, world-writable ACL Apache gives system nodes and `OPEN_ACL_UNSAFE` nodes.
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id::new("world", "anyone"),
    }]
}

/// All znodes.
#[derive(Debug, Clone)]
pub struct DataTree {
    nodes: HashMap<Arc<str>, Node>,
    /// Every node's body by path, the same as in `nodes`, in a persistent map: a snapshot's copy
    /// is one clone of it (see [`FrozenTree`]).
    bodies: Bodies,
    ephemerals: HashMap<i64, BTreeSet<String>>,
    acls: HashSet<Arc<[Acl]>>,
    data_size: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// A tree without any node (filled by [`DataTree::insert_raw`] when restoring a snapshot).
    pub fn empty() -> Self {
        DataTree {
            nodes: HashMap::new(),
            bodies: Bodies::new(),
            ephemerals: HashMap::new(),
            acls: HashSet::new(),
            data_size: 0,
        }
    }

    /// A tree holding only the root and the system nodes, all with zero stats; `/zookeeper/config` is
    /// world-read-only with ACL version -1 and empty data until a membership is applied.
    pub fn new() -> Self {
        let mut tree = Self::empty();
        let open = tree.intern(&open_acl());
        for path in ["/", ZOOKEEPER, QUOTA] {
            tree.insert_raw(
                path,
                Node::new(Some(Vec::new()), open.clone(), NodeStat::default()),
            );
        }
        let read_only = tree.intern(&[Acl {
            perms: perms::READ,
            id: Id::new("world", "anyone"),
        }]);
        // A standalone server's config node keeps data version 0; the first committed membership
        // sets it to -1 (see `set_config`).
        let config_stat = NodeStat {
            aversion: -1,
            ..NodeStat::default()
        };
        tree.insert_raw(CONFIG, Node::new(Some(Vec::new()), read_only, config_stat));
        tree
    }

    /// Inserts a node and links it to its parent without touching any stat (construction and restore).
    pub fn insert_raw(&mut self, path: &str, node: Node) {
        if let Some(parent) = path::parent(path).and_then(|p| self.nodes.get_mut(p)) {
            parent.add_child(path::name(path));
        }
        self.account(path, &node, 1);
        let path: Arc<str> = path.into();
        self.bodies.insert(path.clone(), node.body().clone());
        self.nodes.insert(path, node);
    }

    /// Removes the node at `path` (its parent's link stays).
    fn remove(&mut self, path: &str) -> Option<Node> {
        self.bodies.remove(path);
        self.nodes.remove(path)
    }

    /// Updates the data size and the ephemeral index for a node that appears (`sign` 1) or goes (-1).
    fn account(&mut self, path: &str, node: &Node, sign: i64) {
        self.data_size += sign * (path.encode_utf16().count() + node.data_len()) as i64;
        if let NodeKind::Ephemeral(session) =
            NodeKind::from_owner(node.stored_stat().ephemeral_owner)
        {
            let set = self.ephemerals.entry(session).or_default();
            if sign > 0 {
                set.insert(path.to_owned());
            } else {
                set.remove(path);
                if set.is_empty() {
                    self.ephemerals.remove(&session);
                }
            }
        }
    }

    /// The shared copy of `acl`.
    pub fn intern(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        if let Some(shared) = self.acls.get(acl) {
            return shared.clone();
        }
        let shared: Arc<[Acl]> = acl.into();
        self.acls.insert(shared.clone());
        shared
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every node with its path, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_ref(), n))
    }

    /// Number of znodes as Apache counts them (its map holds the root twice, as `""` and `/`).
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// Sum of path lengths (in UTF-16 units, as Java counts) and data lengths, as Apache's
    /// `approximateDataSize` (root counted as `/`).
    pub fn approximate_data_size(&self) -> i64 {
        self.data_size
    }

    /// Number of ephemeral nodes.
    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    /// Paths of the ephemerals of `session`, sorted.
    pub fn ephemerals_of(&self, session: i64) -> Vec<String> {
        self.ephemerals
            .get(&session)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sessions that own ephemerals, with their paths (for the `dump` four-letter word).
    pub fn ephemerals_by_session(&self) -> Vec<(i64, Vec<String>)> {
        let mut all: Vec<_> = self
            .ephemerals
            .iter()
            .map(|(s, p)| (*s, p.iter().cloned().collect()))
            .collect();
        all.sort();
        all
    }

    /// The child names of `node` (at `path`) in the order Apache's `HashSet(8)` of children iterates them
    /// (insertion order approximated by each child's czxid).
    pub fn children_in_apache_order(&self, path: &str, node: &Node) -> Vec<String> {
        let mut items: Vec<(String, i64)> = node
            .children()
            .map(|c| {
                let rank = self
                    .nodes
                    .get(path::join(path, c).as_str())
                    .map_or(0, |n| n.stored_stat().czxid);
                (c.to_string(), rank)
            })
            .collect();
        let capacity = java_order::grown_capacity(8, items.len());
        java_order::order_as_java(&mut items, capacity);
        items.into_iter().map(|(name, _)| name).collect()
    }

    /// The ephemeral paths of `session` in the order Apache's getEphemerals lists them: the session's
    /// `HashSet` (capacity 16, grown) copied by `clone()` into a table sized for its length.
    pub fn ephemerals_in_apache_order(&self, session: i64) -> Vec<String> {
        let mut items: Vec<(String, i64)> = self
            .ephemerals_of(session)
            .into_iter()
            .map(|p| {
                let rank = self
                    .nodes
                    .get(p.as_str())
                    .map_or(0, |n| n.stored_stat().czxid);
                (p, rank)
            })
            .collect();
        let (grown, copied) = (
            java_order::grown_capacity(16, items.len()),
            java_order::copy_capacity(items.len()),
        );
        java_order::order_as_java(&mut items, grown);
        java_order::sort_as_java(&mut items, copied);
        items.into_iter().map(|(p, _)| p).collect()
    }

    /// Number of descendants of `path` (all of them, not only children).
    pub fn descendant_count(&self, path: &str) -> usize {
        let mut count = 0;
        let mut stack = vec![path.to_owned()];
        while let Some(p) = stack.pop() {
            if let Some(node) = self.nodes.get(p.as_str()) {
                count += node.child_count();
                stack.extend(node.children().map(|c| path::join(&p, c)));
            }
        }
        count
    }

    /// The node at `path`, to change; its body goes back to [`DataTree::bodies`] when done. Meanwhile
    /// the map holds a placeholder instead, so that a change copies the body only when a frozen copy
    /// still shares it (and the map is searched once).
    fn node_mut(&mut self, path: &str) -> NodeMut<'_> {
        let node = self
            .nodes
            .get_mut(path)
            .unwrap_or_else(|| panic!("node {path} checked before mutation"));
        let body = self
            .bodies
            .get_mut(path)
            .unwrap_or_else(|| panic!("node {path} has no body in the map"));
        *body = NodeBody::placeholder();
        NodeMut { node, body }
    }

    /// Creates `path` under its existing parent: the new node's czxid, mzxid and pzxid are `zxid`, its
    /// ctime and mtime `time`; the parent's cversion is set to `parent_cversion` and its pzxid to `zxid`.
    pub fn create(
        &mut self,
        path: &str,
        new: NewNode<'_>,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
    ) -> Undo {
        let NewNode { data, acl, owner } = new;
        let acl = self.intern(acl);
        let parent_path = path::parent(path).expect("created path has a parent");
        let mut parent = self.node_mut(parent_path);
        let parent_stat = parent.stored_stat();
        parent.set_stored_stat(NodeStat {
            cversion: parent_cversion,
            pzxid: zxid,
            ..parent_stat
        });
        drop(parent);
        self.insert_raw(
            path,
            Node::new(data, acl, NodeStat::created(zxid, time, owner)),
        );
        Undo::Created {
            path: path.to_owned(),
            parent_stat,
        }
    }

    /// Deletes the childless node `path`: the parent's pzxid becomes `zxid` (when larger); its stored
    /// cversion (a count of creates) stays, as Apache's.
    pub fn delete(&mut self, path: &str, zxid: i64) -> Undo {
        let node = self
            .remove(path)
            .unwrap_or_else(|| panic!("node {path} checked before delete"));
        self.account(path, &node, -1);
        let mut parent = self.node_mut(path::parent(path).expect("deleted path has a parent"));
        let parent_stat = parent.stored_stat();
        parent.remove_child(path::name(path));
        parent.set_stored_stat(NodeStat {
            pzxid: parent_stat.pzxid.max(zxid),
            ..parent_stat
        });
        Undo::Deleted {
            path: path.to_owned(),
            node: Box::new(node),
            parent_stat,
        }
    }

    /// Replaces the data of `path`: version becomes `version`, mzxid `zxid`, mtime `time`.
    pub fn set_data(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        version: i32,
        zxid: i64,
        time: i64,
    ) -> Undo {
        let mut node = self.node_mut(path);
        let delta = data.as_ref().map_or(0, Vec::len) as i64 - node.data_len() as i64;
        let stat = NodeStat {
            version,
            mzxid: zxid,
            mtime: time,
            ..node.stored_stat()
        };
        let body = node.replace_data(data, stat);
        drop(node);
        self.data_size += delta;
        Undo::Changed {
            path: path.to_owned(),
            body,
        }
    }

    /// Replaces the ACL of `path`; aversion becomes `aversion` (mzxid and mtime are untouched, as Apache).
    pub fn set_acl(&mut self, path: &str, acl: &[Acl], aversion: i32) -> Undo {
        let acl = self.intern(acl);
        let mut node = self.node_mut(path);
        let stat = NodeStat {
            aversion,
            ..node.stored_stat()
        };
        let body = node.replace_acl(acl, stat);
        Undo::Changed {
            path: path.to_owned(),
            body,
        }
    }

    /// Reverts one mutation (the most recent first, when reverting several).
    pub fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Created { path, parent_stat } => {
                let node = self.remove(path.as_str()).expect("created node present");
                self.account(&path, &node, -1);
                let mut parent = self.node_mut(path::parent(&path).expect("has parent"));
                parent.remove_child(path::name(&path));
                parent.set_stored_stat(parent_stat);
            }
            Undo::Deleted {
                path,
                node,
                parent_stat,
            } => {
                self.insert_raw(&path, *node);
                self.node_mut(path::parent(&path).expect("has parent"))
                    .set_stored_stat(parent_stat);
            }
            Undo::Changed { path, body } => {
                let mut node = self.node_mut(&path);
                let delta = body.data().map_or(0, <[u8]>::len) as i64 - node.data_len() as i64;
                node.restore_body(body);
                drop(node);
                self.data_size += delta;
            }
        }
    }

    /// Sets `/zookeeper/config` to a new committed configuration; its data version reads -1, as Apache's.
    pub fn set_config(&mut self, text: &str, zxid: i64, time: i64) {
        self.set_data(CONFIG, Some(text.as_bytes().to_vec()), -1, zxid, time);
    }

    /// Containers that had children and have none left, and TTL nodes without children unmodified for
    /// longer than their TTL at `now` (ms): what Apache's container manager deletes.
    pub fn expired_nodes(&self, now: i64) -> Vec<String> {
        let mut paths: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| Self::is_expired(n, now))
            .map(|(p, _)| p.to_string())
            .collect();
        paths.sort();
        paths
    }

    /// Whether `node` is a container or TTL node due for deletion at `now`.
    pub fn is_expired(node: &Node, now: i64) -> bool {
        if !node.has_no_children() {
            return false;
        }
        let stat = node.stored_stat();
        match NodeKind::from_owner(stat.ephemeral_owner) {
            NodeKind::Container => stat.cversion > 0,
            NodeKind::Ttl(ttl) => now - stat.mtime > ttl,
            _ => false,
        }
    }
}

/// The bodies of a tree's nodes by path (see [`DataTree::freeze`]).
type Bodies = imbl::OrdMap<Arc<str>, Arc<NodeBody>>;

/// A node being changed; on drop its body, replaced or changed in place, goes back to its slot in
/// the tree's bodies.
struct NodeMut<'a> {
    node: &'a mut Node,
    body: &'a mut Arc<NodeBody>,
}

impl Deref for NodeMut<'_> {
    type Target = Node;

    fn deref(&self) -> &Node {
        self.node
    }
}

impl DerefMut for NodeMut<'_> {
    fn deref_mut(&mut self) -> &mut Node {
        self.node
    }
}

impl Drop for NodeMut<'_> {
    fn drop(&mut self) {
        *self.body = self.node.body().clone();
    }
}

#[cfg(test)]
mod tests;
