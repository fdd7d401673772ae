//! The snapshot format (version 1): magic `ZKRS`, format version, last applied zxid, last command time,
//! every node (parents before their children) with data, ACL and stat, then every session.

use std::io::{self, Write};

use zk_proto::{DecodeError, Reader, Writer};

use super::sessions::{SessionRecord, SessionTable};
use crate::consensus::SnapshotError;
use crate::tree::{DataTree, FrozenTree, Node, NodeStat};

const MAGIC: &[u8; 4] = b"ZKRS";
const FORMAT_VERSION: i32 = 1;
/// Bytes of encoding gathered before they are handed on to the writer.
const PIECE: usize = 64 * 1024;

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

impl Image {
    /// A consistent copy to encode, cheap to take between two applies (see [`FrozenTree`]).
    pub fn freeze(&self) -> FrozenImage {
        FrozenImage {
            tree: self.tree.freeze(),
            sessions: self.sessions.clone(),
            last_zxid: self.last_zxid,
            last_time: self.last_time,
        }
    }
}

/// An [`Image`] frozen for encoding: later applies do not change it.
#[derive(Debug, Clone)]
pub struct FrozenImage {
    tree: FrozenTree,
    sessions: SessionTable,
    last_zxid: i64,
    last_time: i64,
}

impl FrozenImage {
    /// Serializes the image into `out`, in pieces of about [`PIECE`] bytes.
    pub fn encode_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = Writer::with_capacity(PIECE + PIECE / 4);
        w.raw(MAGIC);
        w.int(FORMAT_VERSION);
        w.long(self.last_zxid);
        w.long(self.last_time);
        w.int(self.tree.len() as i32);
        for (path, node) in self.tree.parents_first() {
            w.string(path);
            w.opt_buffer(node.data());
            w.vec(node.acl());
            let s = node.stored_stat();
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
            if w.len() >= PIECE {
                w.drain_to(out)?;
            }
        }
        w.int(self.sessions.len() as i32);
        for (id, record) in self.sessions.iter() {
            w.long(id);
            w.int(record.timeout_ms);
            w.buffer(&record.password);
            if w.len() >= PIECE {
                w.drain_to(out)?;
            }
        }
        w.drain_to(out)
    }
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
