//! The durable Raft log under `dataLogDir/raft-log/`.
//!
//! Entries are written by one writer thread to checksummed append-only segment files with group
//! commit (`segments`). Memory holds the entries not yet committed and the latest
//! [`COMMITTED_KEPT`] committed ones (what Raft reads back to apply and to replicate to members
//! that keep up); an older entry leaves memory once it is committed and written, and is read back
//! from its segment through the position index (`positions`) when a lagging member needs it. The
//! vote, the committed log id and the purge mark are small files beside them (`meta`). Opening the
//! store reads everything back, checking it and cutting off a torn tail.

mod committed_mark;
mod meta;
mod positions;
mod record;
mod segments;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use openraft::storage::{RaftLogReader, RaftLogStorage};
use openraft::{EntryPayload, OptionalSend};

use self::meta::Meta;
use self::positions::{Positions, Span};
use self::segments::{Segments, WriteOp};
use super::codec;
use super::disk_space::DiskSpace;
use super::typ::{Entry, IoFlushed, LogId, LogState, TypeConfig, Vote};
use crate::summary::QuantileSummary;

pub(crate) use self::record::{
    HEADER_LEN as RECORD_HEADER_LEN, PayloadWriter, put as put_record, split as split_records,
    sync_dir,
};
pub(crate) use self::segments::DEFAULT_SEGMENT_BYTES;

/// The log store handed to Raft; clones share the same log (one is the reader).
#[derive(Clone)]
pub(crate) struct LogStore {
    shared: Arc<Shared>,
}

/// How many committed entries stay in memory behind the committed one (Apache keeps
/// `commitLogCount`, 500): those Raft applies and sends to members that keep up.
pub(crate) const COMMITTED_KEPT: u64 = 1024;

struct Shared {
    meta: Meta,
    state: Mutex<State>,
    writer: Mutex<mpsc::Sender<WriteOp>>,
    /// Where the written entries are (shared with the writer thread).
    positions: Arc<Mutex<Positions>>,
    /// How many appends the writer has written (and fsynced).
    written: Arc<AtomicU64>,
    /// Committed entries kept in memory ([`COMMITTED_KEPT`]).
    committed_kept: u64,
    stats: Arc<WriterStats>,
    space: Arc<DiskSpace>,
    /// Resolves once the writer thread has ended.
    closed: WriterClosed,
}

/// Resolves once a log's writer thread has ended: every clone of the store was dropped and every
/// write queued before it is done (or failed). Until then the log's files are still written.
#[derive(Clone)]
pub(crate) struct WriterClosed(tokio::sync::watch::Receiver<()>);

impl WriterClosed {
    /// Waits for the writer thread to end.
    pub(crate) async fn wait(mut self) {
        // The only sender is the writer thread's: `changed` fails once it is dropped.
        while self.0.changed().await.is_ok() {}
    }

    /// Whether the writer thread has ended.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.0.has_changed().is_err()
    }
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
    /// The entries in memory: every entry after `evicted` (or after the purge mark).
    entries: BTreeMap<u64, Entry>,
    /// The last entry that left memory (only read back from the segments since), if it is after
    /// the purge mark.
    evicted: Option<LogId>,
    purged: Option<LogId>,
    /// The committed log id last saved through this store (its file is written behind).
    committed: Option<Option<LogId>>,
    /// The index of the last committed entry known, from the store's committed mark on.
    committed_index: Option<u64>,
    /// Appends sent to the writer: how many.
    appends: u64,
    /// Appends sent to the writer and maybe not written yet: their number (counting from 1) and
    /// first index.
    unwritten: VecDeque<(u64, u64)>,
}

impl State {
    /// Lets the committed entries more than `kept` behind the committed one leave memory, as far
    /// as the writer has written them (`written` appends).
    fn evict(&mut self, written: u64, kept: u64) {
        while self.unwritten.front().is_some_and(|&(n, _)| n <= written) {
            self.unwritten.pop_front();
        }
        let Some(committed) = self.committed_index else {
            return;
        };
        let unwritten_from = self.unwritten.iter().map(|&(_, first)| first).min();
        while let Some(entry) = self.entries.first_entry() {
            let index = *entry.key();
            if index.saturating_add(kept) > committed || unwritten_from.is_some_and(|u| index >= u)
            {
                break;
            }
            self.evicted = Some(entry.remove().log_id);
        }
    }

    /// The log id of the last entry, or else of the purge mark.
    fn last(&self) -> Option<LogId> {
        self.entries
            .last_key_value()
            .map(|(_, e)| e.log_id)
            .or(self.evicted)
            .or(self.purged)
    }
}

impl LogStore {
    /// Opens the log in `dir` (created if missing) and starts its writer thread, which fsyncs
    /// every batch of writes when `force_sync` is set (`forceSync`).
    pub(crate) fn open(
        dir: &Path,
        max_segment_bytes: u64,
        force_sync: bool,
    ) -> io::Result<LogStore> {
        LogStore::open_keeping(dir, max_segment_bytes, force_sync, COMMITTED_KEPT)
    }

    /// [`LogStore::open`], keeping `committed_kept` committed entries in memory.
    pub(crate) fn open_keeping(
        dir: &Path,
        max_segment_bytes: u64,
        force_sync: bool,
        committed_kept: u64,
    ) -> io::Result<LogStore> {
        let segment_dir = dir.join("raft-log");
        let meta = Meta::new(&segment_dir);
        let purged = meta.read_purged()?;
        let purged_index = purged.as_ref().map(|p| p.index);
        let committed_index = meta.read_committed()?.map(|c| c.index);
        let mut state = State {
            entries: BTreeMap::new(),
            evicted: None,
            purged,
            committed: None,
            committed_index,
            appends: 0,
            unwritten: VecDeque::new(),
        };
        let mut count = 0;
        let segments = Segments::open(&segment_dir, max_segment_bytes, |index, bytes| {
            if purged_index.is_some_and(|p| index <= p) {
                return Ok(());
            }
            let entry = decode_entry(index, bytes)?;
            if count == 0 && purged.is_some() && Some(index) != purged_index.map(|p| p + 1) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the log has a gap after its purge mark",
                ));
            }
            count += 1;
            state.entries.insert(index, entry);
            // Everything read back is written: only the kept committed entries stay.
            state.evict(0, committed_kept);
            Ok(())
        })?;
        let positions = segments.shared_positions();
        let (tx, rx) = mpsc::channel();
        let writer_meta = meta.clone();
        let stats = Arc::new(WriterStats::default());
        let writer_stats = stats.clone();
        let space = Arc::new(DiskSpace::default());
        let writer_space = space.clone();
        let written = Arc::new(AtomicU64::new(0));
        let writer_written = written.clone();
        let (closed_tx, closed_rx) = tokio::sync::watch::channel(());
        std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || {
                segments.run(
                    rx,
                    &writer_meta,
                    force_sync,
                    &writer_stats,
                    &writer_space,
                    &writer_written,
                );
                drop(closed_tx);
            })?;
        tracing::info!(dir = %segment_dir.display(), entries = count, in_memory = state.entries.len(), ?purged, "raft log opened");
        Ok(LogStore {
            shared: Arc::new(Shared {
                meta,
                state: Mutex::new(state),
                writer: Mutex::new(tx),
                positions,
                written,
                committed_kept,
                stats,
                space,
                closed: WriterClosed(closed_rx),
            }),
        })
    }

    /// What resolves once the writer thread has ended (after the last clone of this store).
    pub(crate) fn writer_closed(&self) -> WriterClosed {
        self.shared.closed.clone()
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

    /// Lets committed and written entries leave memory (see [`State::evict`]).
    fn evict(&self, state: &mut State) {
        let written = self.shared.written.load(Ordering::Acquire);
        state.evict(written, self.shared.committed_kept);
    }

    /// How many entries are in memory.
    #[cfg(test)]
    pub(crate) fn in_memory(&self) -> usize {
        self.state().entries.len()
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
        let (spans, in_memory) = {
            let state = self.state();
            let in_memory: Vec<Entry> = state
                .entries
                .range(range.clone())
                .map(|(_, e)| e.clone())
                .collect();
            let start = match range.start_bound() {
                Bound::Included(&i) => i,
                Bound::Excluded(&i) => i.saturating_add(1),
                Bound::Unbounded => 0,
            }
            .max(state.purged.map_or(0, |p| p.index + 1));
            let end = match range.end_bound() {
                Bound::Included(&i) => i.saturating_add(1),
                Bound::Excluded(&i) => i,
                Bound::Unbounded => u64::MAX,
            }
            .min(state.evicted.map_or(0, |e| e.index + 1));
            if start >= end {
                return Ok(in_memory);
            }
            let spans = self
                .shared
                .positions
                .lock()
                .expect("the positions lock is never poisoned")
                .spans(start..end)
                .ok_or_else(|| {
                    io::Error::other(format!(
                        "entries {start}..{end} left memory but are not in the log's segments"
                    ))
                })?;
            (spans, in_memory)
        };
        let mut entries = blocking(move || read_spans(&spans)).await?;
        entries.extend(in_memory);
        Ok(entries)
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
        Ok(LogState {
            last_purged_log_id: state.purged,
            last_log_id: state.last(),
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
        {
            let mut state = self.state();
            state.committed = Some(committed);
            state.committed_index = committed.map(|c| c.index);
            self.evict(&mut state);
        }
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
        let mut state = self.state();
        self.evict(&mut state);
        for entry in entries {
            let size = match &entry.payload {
                EntryPayload::Normal(command) => command.0.len() + ENTRY_OVERHEAD,
                _ => ENTRY_OVERHEAD,
            };
            raw.push((entry.log_id.index, codec::encode_sized(&entry, size)?));
            state.entries.insert(entry.log_id.index, entry);
        }
        // Sent under the state lock, so that appends are counted in the order the writer sees.
        state.appends += 1;
        if let Some(&(first, _)) = raw.first() {
            let append = state.appends;
            state.unwritten.push_back((append, first));
        }
        // Readable now; durable when the writer calls back after its fsync.
        self.send(WriteOp::Append(raw, callback))
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |l| l.index + 1);
        {
            let mut state = self.state();
            if state.evicted.is_some_and(|e| e.index >= from) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("truncating the log from {from} would remove committed entries"),
                ));
            }
            state.entries.split_off(&from);
        }
        self.send(WriteOp::TruncateFrom(from))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let (meta, space) = (self.shared.meta.clone(), self.disk_space());
        blocking(move || space.retry_while_full(meta.dir(), || meta.save_purged(&log_id))).await?;
        {
            let mut state = self.state();
            state.entries = state.entries.split_off(&(log_id.index + 1));
            state.evicted = state.evicted.filter(|e| e.index > log_id.index);
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

/// Reads the entries of `spans` back from the segment files.
fn read_spans(spans: &[Span]) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for span in spans {
        span.read(|index, bytes| {
            entries.push(decode_entry(index, bytes)?);
            Ok(())
        })?;
    }
    Ok(entries)
}

/// Decodes the entry stored under `index`.
fn decode_entry(index: u64, bytes: &[u8]) -> io::Result<Entry> {
    let entry: Entry = codec::decode(bytes)?;
    if entry.log_id.index != index {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "entry stored under the wrong index",
        ));
    }
    Ok(entry)
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
