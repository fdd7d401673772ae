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
    let len = u32::try_from(head.len() + tail.len()).expect("a record is smaller than 4 GiB");
    let mut crc = crc32fast::Hasher::new();
    crc.update(head);
    crc.update(tail);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(head);
    out.extend_from_slice(tail);
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
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        if durable {
            file.sync_data()?;
        }
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
