//! The durable Raft log under `dataLogDir/raft-log/`.
//!
//! Entries are kept in memory from the last purge on (Raft reads them back for replication and
//! for applying) and written by one writer thread to checksummed append-only segment files with
//! group commit (`segments`). The vote, the committed log id and the purge mark are small files
//! beside them (`meta`). Opening the store reads everything back, cutting off a torn tail.

mod committed_mark;
mod meta;
mod record;
mod segments;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use openraft::storage::{RaftLogReader, RaftLogStorage};
use openraft::{EntryPayload, OptionalSend};

use self::meta::Meta;
use self::segments::{Segments, WriteOp};
use super::codec;
use super::disk_space::DiskSpace;
use super::typ::{Entry, IoFlushed, LogId, LogState, TypeConfig, Vote};
use crate::summary::QuantileSummary;

pub(crate) use self::record::{put as put_record, split as split_records, sync_dir};
pub(crate) use self::segments::DEFAULT_SEGMENT_BYTES;

/// The log store handed to Raft; clones share the same log (one is the reader).
#[derive(Clone)]
pub(crate) struct LogStore {
    shared: Arc<Shared>,
}

struct Shared {
    meta: Meta,
    state: Mutex<State>,
    writer: Mutex<mpsc::Sender<WriteOp>>,
    stats: Arc<WriterStats>,
    space: Arc<DiskSpace>,
}

/// What the writer thread measures, recorded with atomics (no lock on the write path): Apache's
/// `sync_processor_batch_size` and `fsynctime`.
#[derive(Debug, Default)]
pub(crate) struct WriterStats {
    /// Entries written per pass (one pass ends with one fsync).
    pub(crate) batch_sizes: QuantileSummary,
    /// Milliseconds each fsync of a pass took (none with `forceSync=no`).
    pub(crate) fsync_ms: QuantileSummary,
}

impl WriterStats {
    /// A pass wrote `entries` entries.
    pub(crate) fn batch_written(&self, entries: usize) {
        if entries > 0 {
            self.batch_sizes.record(entries as u64);
        }
    }

    /// A pass's fsync took `took`.
    pub(crate) fn fsynced(&self, took: Duration) {
        self.fsync_ms.record(took.as_millis() as u64);
    }
}

struct State {
    entries: BTreeMap<u64, Entry>,
    purged: Option<LogId>,
    /// The committed log id last saved through this store (its file is written behind).
    committed: Option<Option<LogId>>,
}

impl LogStore {
    /// Opens the log in `dir` (created if missing) and starts its writer thread, which fsyncs
    /// every batch of writes when `force_sync` is set (`forceSync`).
    pub(crate) fn open(
        dir: &Path,
        max_segment_bytes: u64,
        force_sync: bool,
    ) -> io::Result<LogStore> {
        let segment_dir = dir.join("raft-log");
        let meta = Meta::new(&segment_dir);
        let (segments, raw) = Segments::open(&segment_dir, max_segment_bytes)?;
        let purged = meta.read_purged()?;
        let purged_index = purged.as_ref().map(|p| p.index);
        let mut entries = BTreeMap::new();
        for (index, bytes) in raw {
            if purged_index.is_some_and(|p| index <= p) {
                continue;
            }
            let entry: Entry = codec::decode(&bytes)?;
            if entry.log_id.index != index {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "entry stored under the wrong index",
                ));
            }
            entries.insert(index, entry);
        }
        let first_kept = purged_index.map_or(0, |p| p + 1);
        if let Some((&first, _)) = entries.first_key_value()
            && purged.is_some()
            && first != first_kept
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the log has a gap after its purge mark",
            ));
        }
        let (tx, rx) = mpsc::channel();
        let writer_meta = meta.clone();
        let stats = Arc::new(WriterStats::default());
        let writer_stats = stats.clone();
        let space = Arc::new(DiskSpace::default());
        let writer_space = space.clone();
        std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || {
                segments.run(rx, &writer_meta, force_sync, &writer_stats, &writer_space)
            })?;
        tracing::info!(dir = %segment_dir.display(), entries = entries.len(), ?purged, "raft log opened");
        Ok(LogStore {
            shared: Arc::new(Shared {
                meta,
                state: Mutex::new(State {
                    entries,
                    purged,
                    committed: None,
                }),
                writer: Mutex::new(tx),
                stats,
                space,
            }),
        })
    }

    /// The writer thread's batch sizes and fsync times.
    pub(crate) fn writer_stats(&self) -> Arc<WriterStats> {
        self.shared.stats.clone()
    }

    /// Whether the log's volume is full (shared with the snapshot store of the same member).
    pub(crate) fn disk_space(&self) -> Arc<DiskSpace> {
        self.shared.space.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .expect("the log state lock is never poisoned")
    }

    fn send(&self, op: WriteOp) -> io::Result<()> {
        let writer = self
            .shared
            .writer
            .lock()
            .expect("the writer lock is never poisoned");
        writer
            .send(op)
            .map_err(|_| io::Error::other("the raft log writer has stopped"))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        Ok(self
            .state()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        let meta = self.shared.meta.clone();
        blocking(move || meta.read_vote()).await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState, io::Error> {
        let state = self.state();
        let last = state
            .entries
            .last_key_value()
            .map(|(_, e)| e.log_id)
            .or(state.purged);
        Ok(LogState {
            last_purged_log_id: state.purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let (meta, vote, space) = (self.shared.meta.clone(), *vote, self.disk_space());
        blocking(move || space.retry_while_full(meta.dir(), || meta.save_vote(&vote))).await
    }

    /// Queued for the writer thread, which records the latest one behind its writes (see
    /// `committed_mark`): Raft awaits this before applying, so it must not cost a file write on
    /// every commit. (The committed mark only speeds up recovery; losing the last one costs
    /// nothing.)
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        self.state().committed = Some(committed);
        self.send(WriteOp::SaveCommitted(committed))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        if let Some(committed) = self.state().committed {
            return Ok(committed);
        }
        let meta = self.shared.meta.clone();
        let committed = blocking(move || meta.read_committed()).await?;
        let last = self.get_log_state().await?.last_log_id;
        if committed.is_some_and(|c| last.is_none_or(|l| c.index > l.index)) {
            // The tail the mark covered was cut off as torn: this member lost writes it had
            // fsynced (an ensemble's leader sends them again; a standalone server has lost them).
            tracing::error!(
                ?committed,
                ?last,
                "the log ends before its committed mark (its torn tail held committed entries): using the log's end"
            );
            return Ok(last);
        }
        Ok(committed)
    }

    async fn append<I>(&mut self, entries: I, callback: IoFlushed) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut raw = Vec::new();
        {
            let mut state = self.state();
            for entry in entries {
                let size = match &entry.payload {
                    EntryPayload::Normal(command) => command.0.len() + ENTRY_OVERHEAD,
                    _ => ENTRY_OVERHEAD,
                };
                raw.push((entry.log_id.index, codec::encode_sized(&entry, size)?));
                state.entries.insert(entry.log_id.index, entry);
            }
        }
        // Readable now; durable when the writer calls back after its fsync.
        self.send(WriteOp::Append(raw, callback))
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |l| l.index + 1);
        self.state().entries.split_off(&from);
        self.send(WriteOp::TruncateFrom(from))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let (meta, space) = (self.shared.meta.clone(), self.disk_space());
        blocking(move || space.retry_while_full(meta.dir(), || meta.save_purged(&log_id))).await?;
        {
            let mut state = self.state();
            state.entries = state.entries.split_off(&(log_id.index + 1));
            state.purged = Some(log_id);
        }
        self.send(WriteOp::PurgeUpTo(log_id.index))
    }
}

/// Room for an entry's encoding besides its command: log id and payload tag (a membership entry
/// grows its buffer).
const ENTRY_OVERHEAD: usize = 32;

/// Writes the vote of a log directory `dir` that holds no log yet (a seeded member, see
/// `consensus::offline`).
pub(crate) fn seed_vote(dir: &Path, vote: &Vote) -> io::Result<()> {
    let segment_dir = dir.join("raft-log");
    std::fs::create_dir_all(&segment_dir)?;
    Meta::new(&segment_dir).save_vote(vote)
}

/// Runs blocking file I/O off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

/// Decodes the bytes of a segment file as opening the log does (records, their indexes, the
/// entries), for the fuzz targets; returns how many entries decoded.
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_segment(bytes: &[u8]) -> usize {
    record::split_before_zeros(bytes)
        .0
        .into_iter()
        .filter_map(|(_, payload)| segments::split_index(payload))
        .filter(|(_, body)| codec::decode::<Entry>(body).is_ok())
        .count()
}
