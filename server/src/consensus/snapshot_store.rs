//! Snapshot files under `dataDir/raft-snapshot/`, and how many of them are kept.
//!
//! A snapshot file `snapshot.<last log index, 20 digits>` holds two checksummed records: the Raft
//! metadata (last log id and membership) and the state machine's own bytes. It is written to a
//! temporary name, fsynced and renamed, so a crash never leaves a half snapshot under a real name;
//! a damaged file is skipped in favour of the next older one. After each new snapshot only the
//! newest `autopurge.snapRetainCount` are kept.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::codec;
use super::log_store::{put_record, split_records, sync_dir};
use super::typ::SnapshotMeta;

/// The snapshot directory of one member.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotStore {
    dir: PathBuf,
    retain: usize,
}

impl SnapshotStore {
    /// Uses `data_dir/raft-snapshot` (created if missing), keeping at least one snapshot.
    pub(crate) fn open(data_dir: &Path, retain: u32) -> io::Result<SnapshotStore> {
        let dir = data_dir.join("raft-snapshot");
        std::fs::create_dir_all(&dir)?;
        Ok(SnapshotStore {
            dir,
            retain: (retain as usize).max(1),
        })
    }

    /// Writes a snapshot durably, then removes the ones beyond the retain count.
    pub(crate) fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let index = meta.last_log_id.map_or(0, |l| l.index);
        let path = self.dir.join(format!("snapshot.{index:020}"));
        let tmp = path.with_extension("tmp");
        let meta_bytes = codec::encode(meta)?;
        let mut bytes = Vec::with_capacity(data.len() + meta_bytes.len() + 16);
        put_record(&mut bytes, &meta_bytes);
        put_record(&mut bytes, data);
        {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        sync_dir(&self.dir)?;
        for old in self.list()?.into_iter().rev().skip(self.retain) {
            std::fs::remove_file(self.dir.join(format!("snapshot.{old:020}")))?;
        }
        Ok(())
    }

    /// The newest readable snapshot, if any.
    pub(crate) fn load_latest(&self) -> io::Result<Option<(SnapshotMeta, Vec<u8>)>> {
        for index in self.list()?.into_iter().rev() {
            let path = self.dir.join(format!("snapshot.{index:020}"));
            match read_snapshot(&path) {
                Ok(snapshot) => return Ok(Some(snapshot)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable snapshot")
                }
            }
        }
        Ok(None)
    }

    /// Indexes of the snapshot files present, oldest first.
    fn list(&self) -> io::Result<Vec<u64>> {
        let mut indexes = Vec::new();
        for item in std::fs::read_dir(&self.dir)? {
            let name = item?.file_name();
            if let Some(index) = name
                .to_string_lossy()
                .strip_prefix("snapshot.")
                .and_then(|n| n.parse().ok())
            {
                indexes.push(index);
            }
        }
        indexes.sort_unstable();
        Ok(indexes)
    }
}

fn read_snapshot(path: &Path) -> io::Result<(SnapshotMeta, Vec<u8>)> {
    let bytes = std::fs::read(path)?;
    let (records, valid) = split_records(&bytes);
    match records.as_slice() {
        [(_, meta), (_, data)] if valid == bytes.len() => Ok((codec::decode(meta)?, data.to_vec())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "damaged snapshot file",
        )),
    }
}
