//! Snapshot files under `dataDir/raft-snapshot/`, and how many of them are kept.
//!
//! A snapshot file `snapshot.<last log index, 20 digits>` holds two checksummed records: the Raft
//! metadata (last log id and membership) and the state machine's own bytes. It is written to a
//! temporary name, fsynced and renamed, so a crash never leaves a half snapshot under a real name:
//! a damaged newest snapshot is damage to the disk, and the member refuses to start with an error
//! naming the file and the offset (the log before it is purged, so no older snapshot can stand
//! in). A snapshot refused for want of space waits for space. After each new snapshot only the
//! newest `autopurge.snapRetainCount` are kept.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::codec;
use super::disk_space::DiskSpace;
use super::log_store::{PayloadWriter, RECORD_HEADER_LEN, put_record, split_records, sync_dir};
use super::typ::SnapshotMeta;

/// Writes a snapshot's data into the file being written (see [`SnapshotStore::save`]).
pub(crate) type Encode<'a> = dyn Fn(&mut dyn Write) -> io::Result<()> + 'a;

/// The snapshot directory of one member.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotStore {
    dir: PathBuf,
    retain: usize,
    space: Arc<DiskSpace>,
}

impl SnapshotStore {
    /// Uses `data_dir/raft-snapshot` (created if missing), keeping at least one snapshot.
    pub(crate) fn open(data_dir: &Path, retain: u32) -> io::Result<SnapshotStore> {
        let dir = data_dir.join("raft-snapshot");
        std::fs::create_dir_all(&dir)?;
        Ok(SnapshotStore {
            dir,
            retain: (retain as usize).max(1),
            space: Arc::default(),
        })
    }

    /// Records a full volume in `space` (the log store's, so that the member knows of both).
    pub(crate) fn sharing_space(self, space: Arc<DiskSpace>) -> SnapshotStore {
        SnapshotStore { space, ..self }
    }

    /// Writes a snapshot durably, its data produced by `encode` straight into the file (a large
    /// state is never held encoded in memory), then removes the ones beyond the retain count.
    /// `encode` runs again if the volume was full and space came back. Returns the file's size.
    pub(crate) fn save(&self, meta: &SnapshotMeta, encode: &Encode<'_>) -> io::Result<u64> {
        let index = meta.last_log_id.map_or(0, |l| l.index);
        let path = self.dir.join(format!("snapshot.{index:020}"));
        let tmp = path.with_extension("tmp");
        let mut head = Vec::new();
        put_record(&mut head, &codec::encode(meta)?);
        let bytes = self.space.retry_while_full(&tmp, || {
            let written = write_snapshot_file(&tmp, &head, encode);
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written
        })?;
        std::fs::rename(&tmp, &path)?;
        sync_dir(&self.dir)?;
        for old in self.list()?.into_iter().rev().skip(self.retain) {
            std::fs::remove_file(self.dir.join(format!("snapshot.{old:020}")))?;
        }
        Ok(bytes)
    }

    /// The newest snapshot, if any; an error naming the file and offset if it is damaged.
    pub(crate) fn load_latest(&self) -> io::Result<Option<(SnapshotMeta, Vec<u8>)>> {
        let Some(index) = self.list()?.pop() else {
            return Ok(None);
        };
        read_snapshot(&self.dir.join(format!("snapshot.{index:020}"))).map(Some)
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

/// Writes `path`: the metadata's record `head`, then the data's record, its payload streamed from
/// `encode` and its header written last, in the room left for it; then fsyncs the file. Returns
/// its size.
fn write_snapshot_file(path: &Path, head: &[u8], encode: &Encode<'_>) -> io::Result<u64> {
    let mut file = File::create(path)?;
    file.write_all(head)?;
    file.write_all(&[0; RECORD_HEADER_LEN])?;
    // The encoder hands over its bytes in large pieces: they go to the file as they come.
    let mut data = PayloadWriter::new(&file);
    encode(&mut data)?;
    let data_header = data.finish()?;
    file.write_all_at(&data_header, head.len() as u64)?;
    file.sync_all()?;
    file.metadata().map(|m| m.len())
}

/// Reads one snapshot file; every damage is an error naming the file and where it starts.
fn read_snapshot(path: &Path) -> io::Result<(SnapshotMeta, Vec<u8>)> {
    let damaged = |what: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "damaged snapshot {}: {what} (see docs/robustness.md, Disk faults)",
                path.display()
            ),
        )
    };
    let mut bytes = std::fs::read(path)?;
    let (records, valid) = split_records(&bytes);
    if valid < bytes.len() {
        return Err(damaged(format!(
            "the record at offset {valid} is cut short or fails its checksum ({} bytes)",
            bytes.len()
        )));
    }
    let (meta, data_at) = match records.as_slice() {
        [(meta_at, meta), (data_at, _)] => (
            codec::decode(meta).map_err(|e| damaged(format!("offset {meta_at}: {e}")))?,
            *data_at as usize + RECORD_HEADER_LEN,
        ),
        _ => {
            return Err(damaged(format!(
                "{} records instead of 2, ending at offset {valid}",
                records.len()
            )));
        }
    };
    // The data is the file's last record: what comes before it is dropped in place rather than
    // the data copied out (a large state is not held twice).
    bytes.drain(..data_at);
    Ok((meta, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn the_state(out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"the state")
    }

    #[test]
    fn a_snapshot_streamed_in_pieces_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::open(dir.path(), 3).unwrap();
        // Several MiB, written in small pieces.
        let piece: Vec<u8> = (0..=255).collect();
        let pieces = (3 << 20) / piece.len() + 7;
        let encode = |out: &mut dyn Write| (0..pieces).try_for_each(|_| out.write_all(&piece));
        store.save(&SnapshotMeta::default(), &encode).unwrap();
        let (_, data) = store.load_latest().unwrap().unwrap();
        assert_eq!(data.len(), pieces * piece.len());
        assert!(data.chunks(piece.len()).all(|chunk| chunk == piece));
    }

    #[test]
    fn a_damaged_newest_snapshot_is_an_error_naming_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::open(dir.path(), 3).unwrap();
        let meta = SnapshotMeta::default();
        store.save(&meta, &the_state).unwrap();
        assert_eq!(store.load_latest().unwrap().unwrap().1, b"the state");

        let path = dir
            .path()
            .join("raft-snapshot/snapshot.00000000000000000000");
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let error = store.load_latest().unwrap_err().to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        let data_at = whole.len() - 8 - b"the state".len();
        assert!(error.contains(&format!("offset {data_at}")), "{error}");

        let mut flipped = whole.clone();
        flipped[3] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let error = store.load_latest().unwrap_err().to_string();
        assert!(error.contains("offset 0"), "{error}");
    }
}
