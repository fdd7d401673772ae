//! Apache's snapshot file `version-2/snapshot.<zxid>`, read and written.
//!
//! Layout (`FileSnap`, `SerializeUtils.serializeSnapshot`, `DataTree.serialize`): the file header
//! (magic `ZKSN`, version 2, dbid -1); the sessions (count, then id and timeout each); the ACL
//! cache (count, then a long key and an ACL vector each; key -1 means `OPEN_ACL_UNSAFE` and is
//! never stored); the nodes, parents first, each as its path (the root as `""`), its data, its
//! ACL key and its `StatPersisted` (czxid, mzxid, ctime, mtime, version, cversion, aversion,
//! ephemeralOwner, pzxid), ended by the path `"/"`; then a seal: the Adler-32 checksum of every
//! byte before it, as a long, and the string `"/"`. Apache 3.6+ may append its tree digest (zxid,
//! digest version, digest) with a second seal, and 3.9 the last processed zxid with a third; the
//! reader checks those seals and otherwise ignores them, the writer writes neither (Apache reads
//! a snapshot without them).
//!
//! `/zookeeper/config` is the target server's, not Apache's: on import it is replaced by the
//! node a new zk-server tree has (the server writes its own membership there).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use zk_proto::{Acl, Writer};

use super::ApacheDataError;
use super::files::{FileReader, adler32};
use crate::state::snapshot::Image;
use crate::tree::{CONFIG, DataTree, Node, NodeStat, open_acl};

/// The magic of a snapshot file.
pub const MAGIC: &[u8; 4] = b"ZKSN";
/// The ACL key Apache stores for `OPEN_ACL_UNSAFE` without a cache entry.
const OPEN_ACL_KEY: i64 = -1;
/// The database id Apache writes in snapshot headers.
const DB_ID: i64 = -1;

/// The state an Apache snapshot holds.
#[derive(Debug)]
pub struct Snapshot {
    /// Every znode (the root as `/`).
    pub tree: DataTree,
    /// Live sessions with their timeouts, ms.
    pub sessions: Vec<(i64, i32)>,
}

/// Reads the snapshot in `bytes`, the content of `path`.
pub fn read(path: &Path, bytes: &[u8]) -> Result<Snapshot, ApacheDataError> {
    if path.extension().is_some_and(|e| e == "gz" || e == "snappy") {
        return Err(ApacheDataError::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            reason: "compressed snapshots are not supported: restart Apache with \
                     zookeeper.snapshot.compression.method=CHECKED (uncompressed) and let it \
                     take a new snapshot"
                .into(),
        });
    }
    let f = &mut FileReader::new(path, bytes);
    f.header(MAGIC)?;
    let sessions = read_sessions(f)?;
    let acls = read_acl_cache(f)?;
    let tree = read_nodes(f, &acls)?;
    read_seal(f)?;
    // Apache 3.6+ digest (20 bytes) and 3.9 last processed zxid (8 bytes), each sealed (13).
    for trailer in [20, 8] {
        if f.r.remaining() >= trailer + 13 {
            f.r = zk_proto::Reader::new(&f.r.rest()[trailer..]);
            read_seal(f)?;
        }
    }
    if f.r.remaining() != 0 {
        return Err(f.error(format!("{} unexpected bytes at the end", f.r.remaining())));
    }
    Ok(Snapshot { tree, sessions })
}

fn read_sessions(f: &mut FileReader<'_>) -> Result<Vec<(i64, i32)>, ApacheDataError> {
    let start = f.offset();
    let count = f.r.int().map_err(f.decode_error(start))?;
    let mut sessions = Vec::with_capacity(count.clamp(0, 1 << 16) as usize);
    for _ in 0..count {
        let at = f.offset();
        let id = f.r.long().map_err(f.decode_error(at))?;
        let timeout = f.r.int().map_err(f.decode_error(at))?;
        sessions.push((id, timeout));
    }
    Ok(sessions)
}

fn read_acl_cache(f: &mut FileReader<'_>) -> Result<HashMap<i64, Vec<Acl>>, ApacheDataError> {
    let start = f.offset();
    let count = f.r.int().map_err(f.decode_error(start))?;
    let mut acls = HashMap::new();
    for _ in 0..count {
        let at = f.offset();
        let key = f.r.long().map_err(f.decode_error(at))?;
        let acl: Vec<Acl> = f.r.vec().map_err(f.decode_error(at))?;
        acls.insert(key, acl);
    }
    Ok(acls)
}

fn read_nodes(
    f: &mut FileReader<'_>,
    acls: &HashMap<i64, Vec<Acl>>,
) -> Result<DataTree, ApacheDataError> {
    let mut tree = DataTree::empty();
    let mut shared = HashMap::new();
    let own_config = DataTree::new()
        .get(CONFIG)
        .cloned()
        .expect("a new tree has the config node");
    loop {
        let at = f.offset();
        let decode = f.decode_error(at);
        let path = f.r.string().map_err(&decode)?;
        if path == "/" {
            break;
        }
        let data = f.r.opt_buffer().map_err(&decode)?;
        let key = f.r.long().map_err(&decode)?;
        let mut s = [0i64; 9];
        for (i, field) in s.iter_mut().enumerate() {
            // version, cversion and aversion (fields 4 to 6) are ints.
            *field = if (4..=6).contains(&i) {
                i64::from(f.r.int().map_err(&decode)?)
            } else {
                f.r.long().map_err(&decode)?
            };
        }
        let stat = NodeStat {
            czxid: s[0],
            mzxid: s[1],
            ctime: s[2],
            mtime: s[3],
            version: s[4] as i32,
            cversion: s[5] as i32,
            aversion: s[6] as i32,
            ephemeral_owner: s[7],
            pzxid: s[8],
        };
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        if let Some(parent) = crate::tree::path::parent(&path)
            && tree.get(parent).is_none()
        {
            return Err(f.error_at(at, format!("node {path} comes before its parent")));
        }
        if path == CONFIG {
            let acl = tree.intern(own_config.acl());
            let data = own_config.data().map(<[u8]>::to_vec);
            tree.insert_raw(CONFIG, Node::new(data, acl, own_config.stored_stat()));
            continue;
        }
        let acl = match shared.get(&key) {
            Some(acl) => Arc::clone(acl),
            None => {
                let list = match key {
                    OPEN_ACL_KEY => open_acl(),
                    _ => acls.get(&key).cloned().ok_or_else(|| {
                        f.error_at(
                            at,
                            format!("node {path} has ACL key {key}, not in the cache"),
                        )
                    })?,
                };
                let acl = tree.intern(&list);
                shared.insert(key, Arc::clone(&acl));
                acl
            }
        };
        tree.insert_raw(&path, Node::new(data, acl, stat));
    }
    if tree.get("/").is_none() {
        return Err(f.error("the snapshot holds no root node"));
    }
    if tree.get(CONFIG).is_none() && tree.get(crate::tree::ZOOKEEPER).is_some() {
        let acl = tree.intern(own_config.acl());
        let data = own_config.data().map(<[u8]>::to_vec);
        tree.insert_raw(CONFIG, Node::new(data, acl, own_config.stored_stat()));
    }
    Ok(tree)
}

/// Checks a seal: the checksum of every byte before it, and `"/"`.
fn read_seal(f: &mut FileReader<'_>) -> Result<(), ApacheDataError> {
    let at = f.offset();
    let expected = adler32(f.consumed());
    let found = f.r.long().map_err(f.decode_error(at))?;
    let slash = f.r.string().map_err(f.decode_error(at))?;
    if found != expected {
        return Err(f.error_at(
            at,
            format!("checksum mismatch: stored {found:#x}, computed {expected:#x}"),
        ));
    }
    if slash != "/" {
        return Err(f.error_at(at + 8, "the seal does not end with \"/\""));
    }
    Ok(())
}

/// Appends a seal: the checksum of every byte so far, and `"/"`.
fn write_seal(bytes: &mut Vec<u8>) {
    let mut seal = Writer::new();
    seal.long(adler32(bytes));
    seal.string("/");
    bytes.extend_from_slice(&seal.into_bytes());
}

/// The Apache snapshot of `image` (the name it goes under is `snapshot.<last zxid>`).
pub fn write(image: &Image) -> Vec<u8> {
    let mut nodes: Vec<(&str, &Node)> = Vec::with_capacity(image.tree.node_count());
    let mut stack = vec!["/".to_string()];
    let mut paths = Vec::new();
    while let Some(path) = stack.pop() {
        let node = image.tree.get(&path).expect("listed children exist");
        let mut children: Vec<&str> = node.children().collect();
        children.sort_unstable();
        for child in children.into_iter().rev() {
            stack.push(crate::tree::path::join(&path, child));
        }
        paths.push(path);
    }
    for path in &paths {
        nodes.push((path, image.tree.get(path).expect("listed path exists")));
    }
    let mut keys: HashMap<&[Acl], i64> = HashMap::new();
    let mut cache: Vec<(i64, &[Acl])> = Vec::new();
    for (_, node) in &nodes {
        if !keys.contains_key(&**node.acl()) {
            let key = cache.len() as i64 + 1;
            keys.insert(node.acl(), key);
            cache.push((key, node.acl()));
        }
    }
    let mut w = Writer::new();
    w.raw(MAGIC);
    w.int(super::files::FORMAT_VERSION);
    w.long(DB_ID);
    w.int(image.sessions.len() as i32);
    for (id, record) in image.sessions.iter() {
        w.long(id);
        w.int(record.timeout_ms);
    }
    w.int(cache.len() as i32);
    for (key, acl) in &cache {
        w.long(*key);
        w.int(acl.len() as i32);
        for entry in acl.iter() {
            zk_proto::Record::write(entry, &mut w);
        }
    }
    for (path, node) in nodes {
        w.string(if path == "/" { "" } else { path });
        w.opt_buffer(node.data());
        w.long(keys[&**node.acl()]);
        let s = node.stored_stat();
        for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
            w.long(v);
        }
        for v in [s.version, s.cversion, s.aversion] {
            w.int(v);
        }
        w.long(s.ephemeral_owner);
        w.long(s.pzxid);
    }
    w.string("/");
    let mut bytes = w.into_bytes().to_vec();
    write_seal(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use zk_proto::{Id, perms};

    use super::*;
    use crate::state::{SessionRecord, SessionTable};
    use crate::tree::NewNode;

    fn image() -> Image {
        let mut tree = DataTree::new();
        let digest = vec![Acl {
            perms: perms::READ | perms::WRITE,
            id: Id::new("digest", "user:hash"),
        }];
        let new = |data: &[u8], acl: &'static [Acl], owner| NewNode {
            data: Some(data.to_vec()),
            acl,
            owner,
        };
        let digest: &'static [Acl] = Box::leak(digest.into_boxed_slice());
        let open: &'static [Acl] = Box::leak(open_acl().into_boxed_slice());
        tree.create("/a", new(b"x", digest, 0), 1, 5, 100);
        tree.create("/a/b", new(&[0; 3000], open, 0x77), 1, 6, 101);
        tree.create(
            "/c",
            new(b"", open, crate::tree::CONTAINER_OWNER),
            2,
            7,
            102,
        );
        tree.set_data("/a", None, 3, 8, 103);
        let mut sessions = SessionTable::default();
        sessions.insert(
            0x77,
            SessionRecord {
                timeout_ms: 30_000,
                password: crate::session::session_password(0x77).to_vec(),
            },
        );
        Image {
            tree,
            sessions,
            last_zxid: 8,
            last_time: 103,
        }
    }

    fn path() -> PathBuf {
        PathBuf::from("version-2/snapshot.8")
    }

    #[test]
    fn a_written_snapshot_reads_back_the_same_tree_and_sessions() {
        let image = image();
        let bytes = write(&image);
        let snap = read(&path(), &bytes).unwrap();
        assert_eq!(snap.sessions, vec![(0x77, 30_000)]);
        let mut expected: Vec<_> = image.tree.iter().collect();
        let mut found: Vec<_> = snap.tree.iter().collect();
        expected.sort_by_key(|(p, _)| p.to_string());
        found.sort_by_key(|(p, _)| p.to_string());
        assert_eq!(expected, found);
        assert_eq!(snap.tree.get("/a").unwrap().data(), None);
        assert_eq!(snap.tree.get("/a").unwrap().stored_stat().version, 3);
    }

    #[test]
    fn trailers_of_newer_versions_are_checked_and_skipped() {
        let mut bytes = write(&image());
        let mut digest = Writer::new();
        digest.long(8);
        digest.int(2);
        digest.long(0x1234);
        bytes.extend_from_slice(&digest.into_bytes());
        write_seal(&mut bytes);
        assert!(read(&path(), &bytes).is_ok());
        let last = bytes.len() - 6;
        bytes[last] ^= 1;
        let err = read(&path(), &bytes).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
    }

    #[test]
    fn corrupt_snapshots_are_reported_with_file_and_offset() {
        let good = write(&image());
        let mut magic = good.clone();
        magic[0] = b'X';
        let err = read(&path(), &magic).unwrap_err().to_string();
        assert!(
            err.contains("version-2/snapshot.8")
                && err.contains("offset 0")
                && err.contains("magic"),
            "{err}"
        );
        let mut flipped = good.clone();
        flipped[40] ^= 0x40;
        let err = read(&path(), &flipped).unwrap_err().to_string();
        assert!(err.contains("snapshot.8"), "{err}");
        let truncated = &good[..good.len() / 2];
        let err = read(&path(), truncated).unwrap_err().to_string();
        assert!(err.contains("unexpected end of input"), "{err}");
        let err = read(&PathBuf::from("snapshot.8.gz"), &good)
            .unwrap_err()
            .to_string();
        assert!(err.contains("compressed"), "{err}");
    }
}
