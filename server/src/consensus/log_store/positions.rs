//! Where each written entry of the log lies in its segment files, so that an entry no longer kept
//! in memory is read back with one positioned read.
//!
//! Per segment: its first index, a shared handle of its file and one 4-byte offset per record
//! (a record starts below the segment size limit, which fits in 32 bits). The writer thread
//! records positions once the bytes are written; readers take spans under the lock and read them
//! after releasing it. A span keeps its file open, so a segment deleted by a purge in the
//! meantime still reads.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::record;
use super::segments::split_index;

/// The record offsets of every segment, by the index of the segment's first entry.
#[derive(Default)]
pub(crate) struct Positions {
    segments: BTreeMap<u64, SegmentPositions>,
}

struct SegmentPositions {
    file: Arc<File>,
    /// The record of entry `first + n` starts at `offsets[n]`.
    offsets: Vec<u32>,
    /// Where the last record ends.
    end: u64,
}

/// Entries `first..first + count`, stored one after the other in bytes `from..to` of `file`.
pub(crate) struct Span {
    file: Arc<File>,
    first: u64,
    count: usize,
    from: u64,
    to: u64,
}

impl Positions {
    /// A segment (empty so far) begins with entry `first`.
    pub(crate) fn start_segment(&mut self, first: u64, file: Arc<File>) {
        self.segments.insert(
            first,
            SegmentPositions {
                file,
                offsets: Vec::new(),
                end: 0,
            },
        );
    }

    /// The segment starting at `first` is gone.
    pub(crate) fn remove_segment(&mut self, first: u64) {
        self.segments.remove(&first);
    }

    /// Records written to the last segment: the next entries start at `offsets`, the last one
    /// ends at `end`.
    pub(crate) fn extend(&mut self, offsets: &[u32], end: u64) {
        let last = self
            .segments
            .last_entry()
            .expect("records are written to a started segment")
            .into_mut();
        last.offsets.extend_from_slice(offsets);
        last.end = end;
    }

    /// The index of the last entry written.
    pub(crate) fn last_index(&self) -> Option<u64> {
        self.segments
            .iter()
            .rev()
            .find(|(_, s)| !s.offsets.is_empty())
            .map(|(first, s)| first + s.offsets.len() as u64 - 1)
    }

    /// Where the record of entry `index` starts, if it was written.
    pub(crate) fn offset(&self, index: u64) -> Option<u64> {
        let (first, segment) = self.segments.range(..=index).next_back()?;
        let at = usize::try_from(index - first).ok()?;
        segment.offsets.get(at).map(|&o| u64::from(o))
    }

    /// Forgets entry `index` and every later one: the segments starting after it, and the tail of
    /// the one holding it (which now ends where its record began).
    pub(crate) fn truncate_from(&mut self, index: u64) {
        self.segments.split_off(&(index + 1));
        if let Some((first, segment)) = self.segments.range_mut(..=index).next_back() {
            let keep = (index - first) as usize;
            if let Some(&cut) = segment.offsets.get(keep) {
                segment.offsets.truncate(keep);
                segment.end = u64::from(cut);
            }
        }
    }

    /// The spans holding entries `range` (from the first one written on), segment by segment;
    /// `None` when one of them was not written.
    pub(crate) fn spans(&self, range: Range<u64>) -> Option<Vec<Span>> {
        let mut spans = Vec::new();
        let mut next = range.start.max(*self.segments.first_key_value()?.0);
        while next < range.end {
            let (&first, segment) = self.segments.range(..=next).next_back()?;
            let skip = usize::try_from(next - first).ok()?;
            let count = segment
                .offsets
                .len()
                .checked_sub(skip)
                .filter(|&n| n > 0)?
                .min(usize::try_from(range.end - next).unwrap_or(usize::MAX));
            let to = segment
                .offsets
                .get(skip + count)
                .map_or(segment.end, |&o| u64::from(o));
            spans.push(Span {
                file: segment.file.clone(),
                first: next,
                count,
                from: u64::from(segment.offsets[skip]),
                to,
            });
            next += count as u64;
        }
        Some(spans)
    }
}

impl Span {
    /// Reads the span's records and hands each entry's index and encoded bytes to `each`, in
    /// order. A checksum that does not match, or a record that is not the entry expected there,
    /// is an error.
    pub(crate) fn read(
        &self,
        mut each: impl FnMut(u64, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut bytes = vec![0; (self.to - self.from) as usize];
        self.file.read_exact_at(&mut bytes, self.from)?;
        let (records, valid) = record::split(&bytes);
        if valid != bytes.len() || records.len() != self.count {
            return Err(damaged(self.first + records.len() as u64));
        }
        for (expected, (_, payload)) in (self.first..).zip(records) {
            match split_index(payload) {
                Some((index, body)) if index == expected => each(index, body)?,
                _ => return Err(damaged(expected)),
            }
        }
        Ok(())
    }
}

fn damaged(index: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the raft log's record of entry {index} reads back damaged"),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A file holding the records of entries `first..first + count` and their positions.
    fn segment(dir: &std::path::Path, first: u64, count: u64) -> (Arc<File>, Vec<u32>, u64) {
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        for index in first..first + count {
            offsets.push(bytes.len() as u32);
            record::put_parts(
                &mut bytes,
                &index.to_be_bytes(),
                format!("entry {index}").as_bytes(),
            );
        }
        let mut file = File::create_new(dir.join(format!("{first}.seg"))).unwrap();
        file.write_all(&bytes).unwrap();
        let file = File::open(dir.join(format!("{first}.seg"))).unwrap();
        (Arc::new(file), offsets, bytes.len() as u64)
    }

    fn read_all(positions: &Positions, range: Range<u64>) -> Option<Vec<String>> {
        let mut read = Vec::new();
        for span in positions.spans(range)? {
            span.read(|index, body| {
                read.push(format!("{index}:{}", String::from_utf8_lossy(body)));
                Ok(())
            })
            .unwrap();
        }
        Some(read)
    }

    #[test]
    fn spans_cross_segments_and_stop_at_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut positions = Positions::default();
        for (first, count) in [(1, 4), (5, 3)] {
            let (file, offsets, end) = segment(dir.path(), first, count);
            positions.start_segment(first, file);
            positions.extend(&offsets, end);
        }
        assert_eq!(positions.last_index(), Some(7));
        let expected: Vec<String> = (3..=6).map(|i| format!("{i}:entry {i}")).collect();
        assert_eq!(read_all(&positions, 3..7), Some(expected));
        assert_eq!(
            read_all(&positions, 6..9),
            None,
            "entry 8 was never written"
        );

        positions.truncate_from(4);
        assert_eq!(positions.last_index(), Some(3));
        assert_eq!(positions.offset(4), None);
        assert_eq!(read_all(&positions, 1..5), None);
        assert_eq!(read_all(&positions, 1..4).unwrap().len(), 3);
    }

    #[test]
    fn a_changed_byte_is_reported_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let (_, offsets, end) = segment(dir.path(), 1, 3);
        let path = dir.path().join("1.seg");
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(b"X", u64::from(offsets[1]) + 20).unwrap();
        let mut positions = Positions::default();
        positions.start_segment(1, Arc::new(File::open(&path).unwrap()));
        positions.extend(&offsets, end);
        let error = positions.spans(1..4).unwrap()[0]
            .read(|_, _| Ok(()))
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
    }
}
