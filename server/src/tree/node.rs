//! One znode: its data, ACL, persisted stat fields and children.

use std::collections::BTreeSet;
use std::sync::Arc;

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

/// A znode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The data; `None` (null) differs from empty on the wire.
    pub data: Option<Vec<u8>>,
    /// The ACL, shared between nodes that have the same one.
    pub acl: Arc<[Acl]>,
    /// Persisted stat fields.
    pub stat: NodeStat,
    /// Child names, kept sorted (Apache returns them unordered; clients sort).
    pub children: BTreeSet<Box<str>>,
}

impl Node {
    /// A childless node.
    pub fn new(data: Option<Vec<u8>>, acl: Arc<[Acl]>, stat: NodeStat) -> Self {
        Node {
            data,
            acl,
            stat,
            children: BTreeSet::new(),
        }
    }

    /// Length of the data in bytes (0 for null).
    pub fn data_len(&self) -> usize {
        self.data.as_ref().map_or(0, Vec::len)
    }

    /// The full wire stat. As Apache's `copyStat`, `ephemeralOwner` shows only an ephemeral's
    /// session (0 for containers and TTL nodes, whose marker stays internal), and the cversion shown counts changes of the child list
    /// from the stored count of creates: every create but those of the present children is taken to have
    /// its delete (`2 * creates - numChildren`, hence -1 for the root and -2 for `/zookeeper` at start).
    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(self.children.len() as i32),
            aversion: s.aversion,
            ephemeral_owner: match NodeKind::from_owner(s.ephemeral_owner) {
                NodeKind::Ephemeral(session) => session,
                _ => 0,
            },
            data_length: self.data_len() as i32,
            num_children: self.children.len() as i32,
            pzxid: s.pzxid,
        }
    }
}
