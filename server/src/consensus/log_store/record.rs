//! Checksummed records, the unit of every file the log store writes.
//!
//! A record is `u32 length (big-endian) | u32 CRC-32 of the payload | payload`. A reader stops at
//! the first record that is short or whose checksum does not match: that is where a write was
//! torn by a crash, and everything from there on was never acknowledged. In a log segment, whose
//! records are never empty, a length of zero also ends the records: that is space allocated ahead
//! of the writes (see `segments`).

use std::io;

/// Bytes before the payload: length and checksum.
pub(crate) const HEADER_LEN: usize = 8;

/// Appends one record holding `payload` to `out`.
pub(crate) fn put(out: &mut Vec<u8>, payload: &[u8]) {
    put_parts(out, &[], payload);
}

/// Appends one record whose payload is `head` followed by `tail` to `out` (without copying them
/// into a payload first).
pub(crate) fn put_parts(out: &mut Vec<u8>, head: &[u8], tail: &[u8]) {
    out.extend_from_slice(&header(&[head, tail]));
    out.extend_from_slice(head);
    out.extend_from_slice(tail);
}

/// The header of a record whose payload is `parts` one after the other, for a writer that sends
/// a large payload from where it is rather than copying it behind its header.
pub(crate) fn header(parts: &[&[u8]]) -> [u8; HEADER_LEN] {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let len = u32::try_from(len).expect("a record is smaller than 4 GiB");
    let mut crc = crc32fast::Hasher::new();
    for part in parts {
        crc.update(part);
    }
    header_of(len, crc.finalize())
}

fn header_of(len: u32, crc: u32) -> [u8; HEADER_LEN] {
    let mut bytes = [0; HEADER_LEN];
    bytes[..4].copy_from_slice(&len.to_be_bytes());
    bytes[4..].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// Passes a record's payload through to a file as it is produced, counting its length and
/// checksum, for a payload too large to hold in memory at once (a snapshot of a large tree): the
/// record's header is known only at the end, and is then written where room was left for it.
pub(crate) struct PayloadWriter<W> {
    inner: W,
    len: u64,
    crc: crc32fast::Hasher,
}

impl<W: io::Write> PayloadWriter<W> {
    /// Writes the payload to `inner` (after the room left for its header).
    pub(crate) fn new(inner: W) -> PayloadWriter<W> {
        PayloadWriter {
            inner,
            len: 0,
            crc: crc32fast::Hasher::new(),
        }
    }

    /// Flushes the payload and returns its record's header; an error if it reached 4 GiB.
    pub(crate) fn finish(mut self) -> io::Result<[u8; HEADER_LEN]> {
        self.inner.flush()?;
        let len = u32::try_from(self.len).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a record of {} bytes: records end below 4 GiB", self.len),
            )
        })?;
        Ok(header_of(len, self.crc.finalize()))
    }
}

impl<W: io::Write> io::Write for PayloadWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.crc.update(&buf[..written]);
        self.len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Splits `bytes` into record payloads with their offsets. Returns the records and the length of
/// the valid prefix (where a torn or corrupt tail starts, or `bytes.len()`).
pub(crate) fn split(bytes: &[u8]) -> (Vec<(u64, &[u8])>, usize) {
    split_records(bytes, false)
}

/// [`split`] for a file of non-empty records that may end in zeros (space allocated ahead): the
/// valid prefix ends at the first length of zero.
pub(crate) fn split_before_zeros(bytes: &[u8]) -> (Vec<(u64, &[u8])>, usize) {
    split_records(bytes, true)
}

fn split_records(bytes: &[u8], zero_ends: bool) -> (Vec<(u64, &[u8])>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= HEADER_LEN {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        if zero_ends && len == 0 {
            break;
        }
        let crc = u32::from_be_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let start = at + HEADER_LEN;
        let Some(payload) = bytes.get(start..start + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        records.push((at as u64, payload));
        at = start + len;
    }
    (records, at)
}

/// Whether the damage `split` stopped at (`valid`) is a write torn at the end of the file rather
/// than corruption: no whole record (checksum matching, payload not empty) starts anywhere after
/// it. A torn write leaves at most the start of its last records (or zeros) behind; a damaged
/// record with good ones after it means bytes changed after they were written.
pub(crate) fn is_torn_tail(bytes: &[u8], valid: usize) -> bool {
    (valid + 1..bytes.len().saturating_sub(HEADER_LEN)).all(|at| {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_be_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let start = at + HEADER_LEN;
        len == 0
            || bytes
                .get(start..start + len)
                .is_none_or(|payload| crc32fast::hash(payload) != crc)
    })
}

/// Reads a file that holds exactly one record (the vote, the committed index, the purge mark).
/// Returns `None` when the file does not exist.
pub(crate) fn read_single(path: &std::path::Path) -> io::Result<Option<Vec<u8>>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let (records, valid) = split(&bytes);
    match records.as_slice() {
        [(_, payload)] if valid == bytes.len() => Ok(Some(payload.to_vec())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is corrupt", path.display()),
        )),
    }
}

/// Replaces a single-record file atomically: write a temporary file, optionally fsync it, rename
/// it over the old one, and (with `durable`) fsync the directory.
pub(crate) fn write_single(
    path: &std::path::Path,
    payload: &[u8],
    durable: bool,
) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    put(&mut bytes, payload);
    let tmp = path.with_extension("tmp");
    let written = (|| {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        if durable {
            file.sync_data()?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        // A full volume gets its space back, and a retry starts afresh.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)?;
    if durable {
        sync_dir(path.parent().expect("a file has a directory"))?;
    }
    Ok(())
}

/// Makes a directory's entries (created, renamed, removed files) durable.
pub(crate) fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_written_through_has_the_header_of_the_same_payload_in_memory() {
        use std::io::Write;
        let mut out = Vec::new();
        let mut payload = PayloadWriter::new(&mut out);
        payload.write_all(b"part one, ").unwrap();
        payload.write_all(b"part two").unwrap();
        let head = payload.finish().unwrap();
        assert_eq!(out, b"part one, part two");
        assert_eq!(head, header(&[b"part one, part two"]));
        let mut record = head.to_vec();
        record.extend_from_slice(&out);
        assert_eq!(split(&record).0, [(0, &b"part one, part two"[..])]);
    }

    #[test]
    fn split_stops_at_a_torn_or_corrupt_tail() {
        let mut bytes = Vec::new();
        put(&mut bytes, b"one");
        put(&mut bytes, b"two");
        let whole = bytes.len();
        put(&mut bytes, b"three");

        let (records, valid) = split(&bytes);
        assert_eq!(
            records.iter().map(|r| r.1).collect::<Vec<_>>(),
            [&b"one"[..], b"two", b"three"]
        );
        assert_eq!(valid, bytes.len());

        let (records, valid) = split(&bytes[..bytes.len() - 1]);
        assert_eq!(records.len(), 2);
        assert_eq!(valid, whole);

        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let (records, valid) = split(&bytes);
        assert_eq!(records.len(), 2);
        assert_eq!(valid, whole);
    }

    #[test]
    fn a_damaged_record_is_a_torn_tail_only_when_no_whole_record_follows() {
        let mut bytes = Vec::new();
        put(&mut bytes, b"one");
        let first_end = bytes.len();
        put(&mut bytes, b"two");
        put(&mut bytes, b"three");

        // Cut short, or followed by zeros (preallocated space): torn.
        let cut = &bytes[..bytes.len() - 2];
        assert!(is_torn_tail(cut, split(cut).1));
        let mut zeros = bytes.clone();
        zeros[first_end + HEADER_LEN] ^= 0xff;
        zeros.truncate(first_end + HEADER_LEN + 3);
        zeros.resize(zeros.len() + 64, 0);
        assert!(is_torn_tail(&zeros, split(&zeros).1));

        // A damaged record (or its length) with a whole one after it: corruption.
        let mut flipped = bytes.clone();
        flipped[first_end + HEADER_LEN] ^= 0xff;
        assert_eq!(split(&flipped).1, first_end);
        assert!(!is_torn_tail(&flipped, first_end));
        let mut long = bytes.clone();
        long[first_end] = 0x7f;
        assert!(!is_torn_tail(&long, split(&long).1));
    }

    #[test]
    fn single_record_files_round_trip_and_detect_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vote");
        assert_eq!(read_single(&path).unwrap(), None);
        write_single(&path, b"v1", true).unwrap();
        write_single(&path, b"v2", false).unwrap();
        assert_eq!(read_single(&path).unwrap().as_deref(), Some(&b"v2"[..]));
        std::fs::write(&path, b"garbage!garbage").unwrap();
        assert!(read_single(&path).is_err());
    }
}
