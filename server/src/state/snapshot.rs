//! The snapshot format (version 1): magic `ZKRS`, format version, last applied zxid, last command time,
//! every node (path order, so parents come first) with data, ACL and stat, then every session.

use zk_proto::{DecodeError, Reader, Writer};

use super::sessions::{SessionRecord, SessionTable};
use crate::consensus::SnapshotError;
use crate::tree::{DataTree, Node, NodeStat};

const MAGIC: &[u8; 4] = b"ZKRS";
const FORMAT_VERSION: i32 = 1;

/// What a snapshot holds.
#[derive(Debug, Clone)]
pub struct Image {
    /// The tree.
    pub tree: DataTree,
    /// Live sessions.
    pub sessions: SessionTable,
    /// The last applied zxid.
    pub last_zxid: i64,
    /// The time of the last applied command, ms.
    pub last_time: i64,
}

/// Serializes an image.
pub fn encode(image: &Image) -> Vec<u8> {
    let mut w = Writer::new();
    w.raw(MAGIC);
    w.int(FORMAT_VERSION);
    w.long(image.last_zxid);
    w.long(image.last_time);
    let mut nodes: Vec<(&str, &Node)> = image.tree.iter().collect();
    nodes.sort_by(|a, b| a.0.cmp(b.0));
    w.int(nodes.len() as i32);
    for (path, node) in nodes {
        w.string(path);
        w.opt_buffer(node.data.as_deref());
        w.vec(&node.acl);
        let s = &node.stat;
        for v in [
            s.czxid,
            s.mzxid,
            s.pzxid,
            s.ctime,
            s.mtime,
            s.ephemeral_owner,
        ] {
            w.long(v);
        }
        for v in [s.version, s.cversion, s.aversion] {
            w.int(v);
        }
    }
    w.int(image.sessions.len() as i32);
    for (id, record) in image.sessions.iter() {
        w.long(id);
        w.int(record.timeout_ms);
        w.buffer(&record.password);
    }
    w.into_bytes().to_vec()
}

/// Deserializes an image.
pub fn decode(bytes: &[u8]) -> Result<Image, SnapshotError> {
    let corrupt = |e: DecodeError| SnapshotError(e.to_string());
    let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Err(SnapshotError("not a snapshot of this server".into()));
    };
    let r = &mut Reader::new(rest);
    let version = r.int().map_err(corrupt)?;
    if version != FORMAT_VERSION {
        return Err(SnapshotError(format!(
            "unknown snapshot format version {version}"
        )));
    }
    read_image(r).map_err(corrupt)
}

fn read_image(r: &mut Reader<'_>) -> Result<Image, DecodeError> {
    let last_zxid = r.long()?;
    let last_time = r.long()?;
    let mut tree = DataTree::empty();
    for _ in 0..r.count()?.unwrap_or(0) {
        let path = r.string()?;
        let data = r.opt_buffer()?;
        let acl: Vec<zk_proto::Acl> = r.vec()?;
        let (czxid, mzxid, pzxid, ctime, mtime, ephemeral_owner) = (
            r.long()?,
            r.long()?,
            r.long()?,
            r.long()?,
            r.long()?,
            r.long()?,
        );
        let (version, cversion, aversion) = (r.int()?, r.int()?, r.int()?);
        let stat = NodeStat {
            czxid,
            mzxid,
            pzxid,
            ctime,
            mtime,
            version,
            cversion,
            aversion,
            ephemeral_owner,
        };
        let acl = tree.intern(&acl);
        tree.insert_raw(&path, Node::new(data, acl, stat));
    }
    let mut sessions = SessionTable::default();
    for _ in 0..r.count()?.unwrap_or(0) {
        let id = r.long()?;
        sessions.insert(
            id,
            SessionRecord {
                timeout_ms: r.int()?,
                password: r.buffer()?,
            },
        );
    }
    Ok(Image {
        tree,
        sessions,
        last_zxid,
        last_time,
    })
}
