//! Append-only segment files under `dataLogDir/raft-log/`, and the thread that writes them.
//!
//! Each segment is named by the index of its first entry (`00000000000000000001.seg`) and holds
//! checksummed records `u64 index (big-endian) | encoded entry`. The writer thread takes every
//! operation queued since its last pass, writes them in order (the entries of consecutive appends
//! in one write) and then fsyncs once, before it reports all the appends of that pass as flushed: one
//! fsync for many entries (group commit). A pass that wrote no entry (only the committed mark
//! moved, or a purge) does not fsync. Where each written entry lies is recorded in the shared
//! [`Positions`], from which entries no longer kept in memory are read back. After a purge the next
//! append starts a new segment, so that the segment written until then goes with a later purge.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Instant;

use super::WriterStats;
use super::committed_mark::CommittedMark;
use super::meta::Meta;
use super::positions::Positions;
use super::record;
use crate::consensus::disk_space::DiskSpace;
use crate::consensus::typ::{IoFlushed, LogId};

/// A segment is closed and a new one started once it grows past this size.
pub(crate) const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// How far ahead of its records the last segment's space is written with zeros.
const ALLOCATE_AHEAD: u64 = 1024 * 1024;

/// Zeros written per step of [`Segments::allocate_ahead`]: space is added once this much of it is used.
const ALLOCATE_STEP: usize = 64 * 1024;

/// The zeros [`Segments::allocate_ahead`] writes.
static ZEROS: [u8; ALLOCATE_STEP] = [0; ALLOCATE_STEP];

/// One entry as stored: its index and its encoded bytes.
pub(crate) type RawEntry = (u64, Vec<u8>);

/// What the writer thread is asked to do, in log order.
pub(crate) enum WriteOp {
    /// Append these entries, then report durability through the callback.
    Append(Vec<RawEntry>, IoFlushed),
    /// Remove every entry with this index or a greater one.
    TruncateFrom(u64),
    /// Delete the segment files whose entries all have an index up to this one.
    PurgeUpTo(u64),
    /// Record the committed log id (after the pass's writes; only the pass's last one).
    SaveCommitted(Option<LogId>),
}

struct Segment {
    path: PathBuf,
    /// Shared with the positions, through which readers read it.
    file: Arc<File>,
    /// Bytes of records.
    len: u64,
    /// The file's size: `len`, or more where space is allocated ahead of the records.
    allocated: u64,
}

/// The segment files of one log and the position of every entry in them.
pub(crate) struct Segments {
    dir: PathBuf,
    max_segment_bytes: u64,
    /// First index → segment.
    segments: BTreeMap<u64, Segment>,
    /// Where each written entry is, shared with the readers.
    positions: Arc<Mutex<Positions>>,
    /// Whether the next append starts a new segment (the log was purged since the last one).
    roll: bool,
    /// Whether space is written ahead of the records (until a write of it first fails).
    allocates: bool,
}

impl Segments {
    /// Opens (or creates) the segment directory and reads every entry back, handing each one's
    /// index and encoded bytes to `each` in order. A torn record at the end of the last segment (a
    /// crash during a write that was never acknowledged) is cut off; zeros after the records are
    /// space allocated ahead, and stay. Segments are closed at `max_segment_bytes` (at most 4 GiB).
    pub(crate) fn open(
        dir: &Path,
        max_segment_bytes: u64,
        mut each: impl FnMut(u64, &[u8]) -> io::Result<()>,
    ) -> io::Result<Segments> {
        std::fs::create_dir_all(dir)?;
        let mut firsts = Vec::new();
        for item in std::fs::read_dir(dir)? {
            let name = item?.file_name();
            let name = name.to_string_lossy();
            if let Some(first) = name
                .strip_suffix(".seg")
                .and_then(|n| n.parse::<u64>().ok())
            {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();

        let mut this = Segments {
            dir: dir.to_path_buf(),
            max_segment_bytes: max_segment_bytes.min(u64::from(u32::MAX)),
            segments: BTreeMap::new(),
            positions: Arc::default(),
            roll: false,
            allocates: true,
        };
        for (n, &first) in firsts.iter().enumerate() {
            let path = segment_path(dir, first);
            let bytes = std::fs::read(&path)?;
            let (records, valid) = record::split_before_zeros(&bytes);
            let is_last = n + 1 == firsts.len();
            // A closed segment was cut to its records, and synced, before the next one began.
            if !is_last && valid < bytes.len() {
                return Err(corrupt(
                    &path,
                    &format!(
                        "the record at offset {valid} of a closed segment is damaged (see docs/robustness.md, Disk faults)"
                    ),
                ));
            }
            let torn = bytes[valid..].iter().any(|&b| b != 0);
            if torn {
                if !record::is_torn_tail(&bytes, valid) {
                    return Err(corrupt(
                        &path,
                        &format!(
                            "the record at offset {valid} is damaged and later records are not: the log cannot be read past it (see docs/robustness.md, Disk faults)"
                        ),
                    ));
                }
                tracing::warn!(
                    file = %path.display(),
                    offset = valid,
                    cut_bytes = bytes.len() - valid,
                    "the last record of the log is torn (a write never acknowledged): truncating the file at this offset"
                );
            }
            let mut offsets = Vec::with_capacity(records.len());
            for (expected, (offset, payload)) in (first..).zip(records) {
                let (index, body) = split_index(payload).ok_or_else(|| {
                    corrupt(&path, &format!("record at offset {offset} too short"))
                })?;
                if index != expected {
                    return Err(corrupt(
                        &path,
                        &format!("the entry at offset {offset} has index {index}, not {expected}"),
                    ));
                }
                offsets.push(
                    u32::try_from(offset)
                        .map_err(|_| corrupt(&path, "a segment larger than 4 GiB"))?,
                );
                each(index, body)?;
            }
            let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
            if torn {
                file.set_len(valid as u64)?;
                file.sync_all()?;
            }
            // Appends continue after the last valid record, not over the first one.
            file.seek(io::SeekFrom::Start(valid as u64))?;
            let file = Arc::new(file);
            let mut positions = this.positions();
            positions.start_segment(first, file.clone());
            positions.extend(&offsets, valid as u64);
            drop(positions);
            this.segments.insert(
                first,
                Segment {
                    path,
                    file,
                    len: valid as u64,
                    allocated: if torn { valid } else { bytes.len() } as u64,
                },
            );
        }
        Ok(this)
    }

    /// The positions of the written entries, shared with the readers.
    pub(crate) fn shared_positions(&self) -> Arc<Mutex<Positions>> {
        self.positions.clone()
    }

    fn positions(&self) -> MutexGuard<'_, Positions> {
        self.positions
            .lock()
            .expect("the positions lock is never poisoned")
    }

    /// Runs the writer loop until every sender is gone. Each pass takes every operation queued
    /// since the last one, writes them in order and, when it wrote entries and `force_sync` is
    /// set, fsyncs once before it reports the pass's appends as flushed. Errors are reported to
    /// the appends of the pass that failed and of every later pass: the log must not go on after
    /// a lost write. The committed log id is recorded in `meta` behind the writes (see
    /// [`CommittedMark`]). Each pass's number of entries and fsync time go to `stats`. An append
    /// refused for want of space is cut off again and retried until space is freed (`space`),
    /// holding back every later operation. Once a pass's appends are written (and fsynced), before
    /// they are reported, `appends_written` counts the appends received so far (it stops once the log is
    /// broken).
    pub(crate) fn run(
        mut self,
        ops: mpsc::Receiver<WriteOp>,
        meta: &Meta,
        force_sync: bool,
        stats: &WriterStats,
        space: &DiskSpace,
        appends_written: &AtomicU64,
    ) {
        let mut broken: Option<String> = None;
        let mut mark = CommittedMark::default();
        let mut appends: u64 = 0;
        loop {
            let first = match mark.due_in(Instant::now()) {
                None => ops.recv().ok(),
                Some(wait) => match ops.recv_timeout(wait) {
                    Ok(op) => Some(op),
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        mark.write_if_due(meta, &mut broken, Instant::now());
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => None,
                },
            };
            let Some(first) = first else { break };
            let mut flushed = Vec::new();
            let mut result = Ok(());
            let mut written = 0;
            let mut needs_sync = false;
            // The entries of consecutive appends, written together before any other operation.
            let mut pending: Vec<RawEntry> = Vec::new();
            for op in std::iter::once(first).chain(ops.try_iter()) {
                if !matches!(op, WriteOp::Append(..)) {
                    keep_first_error(&mut result, self.write_pending(&mut pending, space));
                }
                let step = match op {
                    WriteOp::Append(entries, done) => {
                        appends += 1;
                        flushed.push(done);
                        written += entries.len();
                        needs_sync = true;
                        pending.extend(entries);
                        Ok(())
                    }
                    WriteOp::TruncateFrom(index) => {
                        needs_sync = true;
                        self.truncate_from(index)
                    }
                    WriteOp::PurgeUpTo(index) => self.purge_up_to(index),
                    WriteOp::SaveCommitted(log_id) => {
                        mark.moved(log_id);
                        Ok(())
                    }
                };
                keep_first_error(&mut result, step);
            }
            keep_first_error(&mut result, self.write_pending(&mut pending, space));
            stats.batch_written(written);
            if result.is_ok() && force_sync && needs_sync {
                let started = Instant::now();
                result = self.sync();
                stats.fsynced(started.elapsed());
            }
            if let Err(e) = result {
                tracing::error!(error = %e, "writing the raft log failed");
                broken.get_or_insert_with(|| e.to_string());
            }
            mark.write_if_due(meta, &mut broken, Instant::now());
            // Before the appends are reported: once they are, the files no longer change.
            if force_sync && broken.is_none() {
                self.allocate_ahead();
            }
            if broken.is_none() {
                appends_written.store(appends, Ordering::Release);
            }
            for done in flushed {
                done.io_completed(match &broken {
                    None => Ok(()),
                    Some(reason) => Err(io::Error::other(reason.clone())),
                });
            }
        }
        mark.write_pending(meta, &mut broken);
    }

    /// Appends the entries gathered from a pass's consecutive appends in one write (retried while
    /// the volume is full), and empties `pending`.
    fn write_pending(&mut self, pending: &mut Vec<RawEntry>, space: &DiskSpace) -> io::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let dir = self.dir.clone();
        let result = space.retry_while_full(&dir, || self.append_or_undo(pending));
        pending.clear();
        result
    }

    /// Appends `entries`, or, when that fails, cuts off whatever part of them was written (and
    /// the segments started for them), so that the log is as before.
    fn append_or_undo(&mut self, entries: &[RawEntry]) -> io::Result<()> {
        let before = self
            .segments
            .last_key_value()
            .map(|(&first, s)| (first, s.len));
        let roll = self.roll;
        let result = self.append(entries);
        if result.is_err() {
            self.roll = roll;
            let started: Vec<u64> = self
                .segments
                .keys()
                .copied()
                .filter(|&first| before.is_none_or(|(last, _)| first > last))
                .collect();
            for first in started {
                let segment = self.segments.remove(&first).expect("listed above");
                self.positions().remove_segment(first);
                std::fs::remove_file(&segment.path)?;
            }
            if let Some((first, len)) = before
                && let Some(segment) = self.segments.get_mut(&first)
            {
                segment.file.set_len(len)?;
                (&*segment.file).seek(io::SeekFrom::Start(len))?;
                segment.len = len;
                segment.allocated = len;
            }
            if let Some(&(first_index, _)) = entries.first() {
                self.positions().truncate_from(first_index);
            }
        }
        result
    }

    /// Appends `entries` to the segments, each segment's share in one write.
    fn append(&mut self, entries: &[RawEntry]) -> io::Result<()> {
        let mut out = Vec::with_capacity(
            entries
                .iter()
                .map(|(_, body)| record::HEADER_LEN + 8 + body.len())
                .sum(),
        );
        let mut offsets = Vec::with_capacity(entries.len());
        let mut last = self.positions().last_index();
        for (index, body) in entries {
            let follows = last.is_some_and(|last| last + 1 == *index);
            let full = self
                .segments
                .last_key_value()
                .is_none_or(|(_, s)| s.len + out.len() as u64 >= self.max_segment_bytes);
            if !follows || full || self.roll {
                self.write_out(&mut out, &mut offsets)?;
                self.start_segment(*index)?;
            }
            let len = self
                .segments
                .last_key_value()
                .expect("a segment was just ensured")
                .1
                .len;
            offsets.push(
                u32::try_from(len + out.len() as u64)
                    .expect("a record starts below the segment size limit, at most 4 GiB"),
            );
            record::put_parts(&mut out, &index.to_be_bytes(), body);
            last = Some(*index);
        }
        self.write_out(&mut out, &mut offsets)
    }

    /// Writes `out` at the end of the last segment, records where its entries start (`offsets`)
    /// and empties both.
    fn write_out(&mut self, out: &mut Vec<u8>, offsets: &mut Vec<u32>) -> io::Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        let segment = self
            .segments
            .last_entry()
            .expect("bytes are only buffered for a segment")
            .into_mut();
        (&*segment.file).write_all(out)?;
        segment.len += out.len() as u64;
        self.positions
            .lock()
            .expect("the positions lock is never poisoned")
            .extend(offsets, segment.len);
        out.clear();
        offsets.clear();
        Ok(())
    }

    /// Writes zeros ahead of the last segment's records, up to [`ALLOCATE_AHEAD`] past them (and the
    /// segment's size limit), once a step of that space is used: a write into such space leaves the
    /// file's size and its block map alone, so the fsync of a batch writes the records only, not the
    /// file's metadata too, as an append would (Apache's transaction log is padded ahead for the same
    /// reason). Zeros rather than `fallocate`: ext4 marks fallocated blocks unwritten and converts
    /// them, a metadata write, at the fsync of each batch that first writes into one (docs/performance.md,
    /// "The write path"). A volume that is full is written without; so is one that fails otherwise.
    fn allocate_ahead(&mut self) {
        use std::os::unix::fs::FileExt;
        if !self.allocates {
            return;
        }
        let Some(mut last) = self.segments.last_entry() else {
            return;
        };
        let segment = last.get_mut();
        let until = (segment.len + ALLOCATE_AHEAD).min(self.max_segment_bytes);
        let mut at = segment.allocated.max(segment.len);
        if at + ALLOCATE_STEP as u64 > until {
            return;
        }
        while at < until {
            let step = (until - at).min(ALLOCATE_STEP as u64) as usize;
            match segment.file.write_at(&ZEROS[..step], at) {
                Ok(0) => break,
                Ok(written) => {
                    at += written as u64;
                    segment.allocated = at;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A full volume: the records are written without (see `disk_space`).
                Err(e)
                    if e.kind() == io::ErrorKind::StorageFull
                        || e.kind() == io::ErrorKind::QuotaExceeded =>
                {
                    break;
                }
                Err(e) => {
                    tracing::info!(path = %segment.path.display(), error = %e, "the raft log's space cannot be written ahead of its records: writing without");
                    self.allocates = false;
                    break;
                }
            }
        }
    }

    /// Closes the current segment (durably, without the space allocated ahead) and starts a new
    /// one whose first entry is `first`.
    fn start_segment(&mut self, first: u64) -> io::Result<()> {
        if let Some(mut last) = self.segments.last_entry() {
            let current = last.get_mut();
            if current.allocated > current.len {
                current.file.set_len(current.len)?;
                current.allocated = current.len;
            }
            current.file.sync_data()?;
        }
        if self
            .segments
            .last_key_value()
            .is_some_and(|(_, s)| s.len == 0)
        {
            // An empty segment (left by a truncation) is renamed rather than left behind.
            let (first, empty) = self.segments.pop_last().expect("checked above");
            self.positions().remove_segment(first);
            std::fs::remove_file(&empty.path)?;
        }
        let path = segment_path(&self.dir, first);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)?;
        record::sync_dir(&self.dir)?;
        let file = Arc::new(file);
        self.positions().start_segment(first, file.clone());
        self.segments.insert(
            first,
            Segment {
                path,
                file,
                len: 0,
                allocated: 0,
            },
        );
        self.roll = false;
        Ok(())
    }

    fn truncate_from(&mut self, index: u64) -> io::Result<()> {
        let Some(offset) = self.positions().offset(index) else {
            return Ok(());
        };
        self.positions().truncate_from(index);
        let later: Vec<u64> = self
            .segments
            .range(index + 1..)
            .map(|(first, _)| *first)
            .collect();
        for first in later {
            let segment = self.segments.remove(&first).expect("listed above");
            std::fs::remove_file(&segment.path)?;
        }
        let (_, segment) = self
            .segments
            .range_mut(..=index)
            .next_back()
            .expect("a positioned entry has a segment");
        segment.file.set_len(offset)?;
        segment.len = offset;
        segment.allocated = offset;
        (&*segment.file).seek(io::SeekFrom::Start(offset))?;
        record::sync_dir(&self.dir)
    }

    /// Deletes the segments whose entries all have an index up to `index`, and has the next
    /// append start a new segment, so that the one written until now goes with a later purge.
    fn purge_up_to(&mut self, index: u64) -> io::Result<()> {
        // A segment can go when the next one starts at or before `index + 1`; the last one stays.
        let firsts: Vec<u64> = self.segments.keys().copied().collect();
        let mut removed = false;
        for pair in firsts.windows(2) {
            if pair[1] <= index + 1 {
                let segment = self.segments.remove(&pair[0]).expect("listed above");
                self.positions().remove_segment(pair[0]);
                std::fs::remove_file(&segment.path)?;
                removed = true;
            }
        }
        self.roll = true;
        if removed {
            record::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        match self.segments.last_key_value() {
            Some((_, segment)) => segment.file.sync_data(),
            None => Ok(()),
        }
    }
}

/// Keeps the first error of a pass in `result`.
fn keep_first_error(result: &mut io::Result<()>, step: io::Result<()>) {
    if result.is_ok() {
        *result = step;
    }
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.seg"))
}

/// A record's payload: the entry's index (8 bytes, big-endian), then the encoded entry.
pub(super) fn split_index(payload: &[u8]) -> Option<(u64, &[u8])> {
    let (index, body) = payload.split_at_checked(8)?;
    Some((u64::from_be_bytes(index.try_into().ok()?), body))
}

fn corrupt(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(range: std::ops::Range<u64>) -> Vec<RawEntry> {
        range
            .map(|i| (i, format!("entry {i}").into_bytes()))
            .collect()
    }

    /// Opens the segments in `dir` and every entry read back.
    fn open(dir: &Path) -> (Segments, Vec<RawEntry>) {
        let mut read = Vec::new();
        let segments = Segments::open(dir, DEFAULT_SEGMENT_BYTES, |index, body| {
            read.push((index, body.to_vec()));
            Ok(())
        })
        .unwrap();
        (segments, read)
    }

    #[test]
    fn appends_after_a_reopen_follow_the_entries_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        for round in 0..3u64 {
            let (mut segments, read) = open(dir.path());
            assert_eq!(read, expected, "after {round} restarts");
            let more = entries(round * 5 + 1..round * 5 + 6);
            segments.append(&more).unwrap();
            segments.sync().unwrap();
            expected.extend(more);
        }
        let (_, read) = open(dir.path());
        assert_eq!(read, expected);
    }
}
