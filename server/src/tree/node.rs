//! One znode: its data, ACL and persisted stat fields in a shared [`NodeBody`], and its children's names.
//!
//! Memory is what this layout is about (100,000 znodes must fit in well under 600 bytes each):
//! - the body sits behind an `Arc`, so a snapshot takes a consistent copy of the tree by counting
//!   references (see [`super::frozen`]) and a later write replaces the body instead of mutating it;
//! - the stat keeps only `czxid` and `ctime` inline: the other fields of a node never written to
//!   since its create are derived from them (mzxid = pzxid = czxid, mtime = ctime, versions and
//!   owner 0) and stored in a side box only once one of them differs ([`CompactStat`]);
//! - data is a boxed slice (no spare capacity), the children set is allocated only for a node that
//!   has children.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use zk_proto::{Acl, Stat};

use super::NodeKind;

/// The stat fields a node stores; `dataLength` and `numChildren` are derived when a [`Stat`] is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeStat {
    /// zxid of the create.
    pub czxid: i64,
    /// zxid of the last data change.
    pub mzxid: i64,
    /// zxid of the last child create or delete.
    pub pzxid: i64,
    /// Creation time, ms.
    pub ctime: i64,
    /// Time of the last data change, ms.
    pub mtime: i64,
    /// Data version.
    pub version: i32,
    /// Number of child creates (Apache's stored cversion; deletes do not count). Clients see
    /// `2 * cversion - numChildren`, see [`Node::stat`]; sequence suffixes use this count.
    pub cversion: i32,
    /// ACL version.
    pub aversion: i32,
    /// Owning session, or the container/TTL marker (see [`super::NodeKind`]).
    pub ephemeral_owner: i64,
}

impl NodeStat {
    /// The stat of a node created at `zxid` and `time`.
    pub fn created(zxid: i64, time: i64, ephemeral_owner: i64) -> Self {
        NodeStat {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: time,
            mtime: time,
            ephemeral_owner,
            ..Self::default()
        }
    }
}

/// The stat fields that are not derived from `czxid` and `ctime` in a node written to since its
/// create (or an ephemeral, container or TTL node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Changed {
    mzxid: i64,
    pzxid: i64,
    mtime: i64,
    ephemeral_owner: i64,
    version: i32,
    cversion: i32,
    aversion: i32,
}

/// A [`NodeStat`] in 24 bytes for a node as created (persistent, never written to), 24 plus a
/// 48-byte box otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CompactStat {
    czxid: i64,
    ctime: i64,
    changed: Option<Box<Changed>>,
}

impl CompactStat {
    fn pack(s: NodeStat) -> Self {
        let as_created = NodeStat::created(s.czxid, s.ctime, 0);
        CompactStat {
            czxid: s.czxid,
            ctime: s.ctime,
            changed: (s != as_created).then(|| {
                Box::new(Changed {
                    mzxid: s.mzxid,
                    pzxid: s.pzxid,
                    mtime: s.mtime,
                    ephemeral_owner: s.ephemeral_owner,
                    version: s.version,
                    cversion: s.cversion,
                    aversion: s.aversion,
                })
            }),
        }
    }

    fn unpack(&self) -> NodeStat {
        match self.changed.as_deref() {
            None => NodeStat::created(self.czxid, self.ctime, 0),
            Some(c) => NodeStat {
                czxid: self.czxid,
                mzxid: c.mzxid,
                pzxid: c.pzxid,
                ctime: self.ctime,
                mtime: c.mtime,
                version: c.version,
                cversion: c.cversion,
                aversion: c.aversion,
                ephemeral_owner: c.ephemeral_owner,
            },
        }
    }
}

/// What a snapshot of a node holds: data, ACL and stat (everything but the children, which a
/// snapshot rebuilds from the paths). Immutable once shared; a write to the node makes a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBody {
    data: Option<Box<[u8]>>,
    acl: Arc<[Acl]>,
    stat: CompactStat,
}

impl NodeBody {
    /// A body of no node: what the tree's map of bodies holds for a node while it changes.
    pub(super) fn placeholder() -> Arc<NodeBody> {
        static PLACEHOLDER: LazyLock<Arc<NodeBody>> = LazyLock::new(|| {
            Arc::new(NodeBody {
                data: None,
                acl: Arc::from(Vec::new()),
                stat: CompactStat::pack(NodeStat::default()),
            })
        });
        PLACEHOLDER.clone()
    }

    /// The data; `None` (null) differs from empty on the wire.
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    /// The ACL, shared between nodes that have the same one.
    pub fn acl(&self) -> &Arc<[Acl]> {
        &self.acl
    }

    /// The persisted stat fields.
    pub fn stored_stat(&self) -> NodeStat {
        self.stat.unpack()
    }
}

/// A znode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    body: Arc<NodeBody>,
    /// Child names, unordered (a create or delete costs the same under a parent of millions;
    /// listings are put in Apache's order when asked); `None` when there are none.
    #[allow(
        clippy::box_collection,
        reason = "one word in every node; the set only in nodes that have children"
    )]
    children: Option<Box<HashSet<Box<str>>>>,
}

impl Node {
    /// A childless node.
    pub fn new(data: Option<Vec<u8>>, acl: Arc<[Acl]>, stat: NodeStat) -> Self {
        Node {
            body: Arc::new(NodeBody {
                data: data.map(Vec::into_boxed_slice),
                acl,
                stat: CompactStat::pack(stat),
            }),
            children: None,
        }
    }

    /// The data; `None` (null) differs from empty on the wire.
    pub fn data(&self) -> Option<&[u8]> {
        self.body.data()
    }

    /// The ACL, shared between nodes that have the same one.
    pub fn acl(&self) -> &Arc<[Acl]> {
        self.body.acl()
    }

    /// The persisted stat fields.
    pub fn stored_stat(&self) -> NodeStat {
        self.body.stored_stat()
    }

    /// The shared body (data, ACL, stat), as a snapshot takes it.
    pub fn body(&self) -> &Arc<NodeBody> {
        &self.body
    }

    /// Length of the data in bytes (0 for null).
    pub fn data_len(&self) -> usize {
        self.data().map_or(0, <[u8]>::len)
    }

    /// Number of children.
    pub fn child_count(&self) -> usize {
        self.children.as_ref().map_or(0, |c| c.len())
    }

    /// Whether the node has no child.
    pub fn has_no_children(&self) -> bool {
        self.children.is_none()
    }

    /// The child names, in no particular order.
    pub fn children(&self) -> impl Iterator<Item = &str> {
        self.children
            .iter()
            .flat_map(|c| c.iter().map(AsRef::as_ref))
    }

    /// Replaces the stored stat fields.
    pub(super) fn set_stored_stat(&mut self, stat: NodeStat) {
        if self.stored_stat() != stat {
            Arc::make_mut(&mut self.body).stat = CompactStat::pack(stat);
        }
    }

    /// Replaces the data and the stat; returns the body as it was.
    pub(super) fn replace_data(&mut self, data: Option<Vec<u8>>, stat: NodeStat) -> Arc<NodeBody> {
        let body = NodeBody {
            data: data.map(Vec::into_boxed_slice),
            acl: self.body.acl.clone(),
            stat: CompactStat::pack(stat),
        };
        std::mem::replace(&mut self.body, Arc::new(body))
    }

    /// Replaces the ACL and the stat; returns the body as it was.
    pub(super) fn replace_acl(&mut self, acl: Arc<[Acl]>, stat: NodeStat) -> Arc<NodeBody> {
        let mut body = (*self.body).clone();
        body.acl = acl;
        body.stat = CompactStat::pack(stat);
        std::mem::replace(&mut self.body, Arc::new(body))
    }

    /// Puts back a body returned by [`Node::replace_data`] or [`Node::replace_acl`].
    pub(super) fn restore_body(&mut self, body: Arc<NodeBody>) {
        self.body = body;
    }

    /// Adds a child name.
    pub(super) fn add_child(&mut self, name: &str) {
        self.children.get_or_insert_default().insert(name.into());
    }

    /// Removes a child name.
    pub(super) fn remove_child(&mut self, name: &str) {
        if let Some(children) = &mut self.children {
            children.remove(name);
            if children.is_empty() {
                self.children = None;
            }
        }
    }

    /// The full wire stat. As Apache's `copyStat`, `ephemeralOwner` shows only an ephemeral's
    /// session (0 for containers and TTL nodes, whose marker stays internal), and the cversion shown counts changes of the child list
    /// from the stored count of creates: every create but those of the present children is taken to have
    /// its delete (`2 * creates - numChildren`, hence -1 for the root and -2 for `/zookeeper` at start).
    pub fn stat(&self) -> Stat {
        let s = self.stored_stat();
        let children = self.child_count() as i32;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(children),
            aversion: s.aversion,
            ephemeral_owner: match NodeKind::from_owner(s.ephemeral_owner) {
                NodeKind::Ephemeral(session) => session,
                _ => 0,
            },
            data_length: self.data_len() as i32,
            num_children: children,
            pzxid: s.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_stat_round_trips_every_field() {
        let created = NodeStat::created(7, 1000, 0);
        assert!(CompactStat::pack(created).changed.is_none());
        let variants = [
            NodeStat {
                mzxid: 8,
                ..created
            },
            NodeStat {
                pzxid: 9,
                ..created
            },
            NodeStat {
                mtime: 1001,
                ..created
            },
            NodeStat {
                version: 1,
                ..created
            },
            NodeStat {
                cversion: 2,
                ..created
            },
            NodeStat {
                aversion: -1,
                ..created
            },
            NodeStat::created(7, 1000, 0x1000_0000_0000_0001),
            NodeStat::created(7, 1000, i64::MIN),
        ];
        for stat in variants {
            let packed = CompactStat::pack(stat);
            assert!(packed.changed.is_some(), "{stat:?}");
            assert_eq!(packed.unpack(), stat);
        }
    }

    #[test]
    fn a_node_as_created_takes_two_words_plus_its_body() {
        assert_eq!(std::mem::size_of::<Node>(), 16);
        assert_eq!(std::mem::size_of::<NodeBody>(), 56);
    }
}
