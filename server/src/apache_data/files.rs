//! Apache's data files: the `version-2` directory, file names carrying a zxid in hex
//! (`snapshot.<zxid>`, `log.<zxid>`), the jute file header, the Adler-32 checksum, and a reader
//! that names the file and the offset of whatever it cannot read.

use std::path::{Path, PathBuf};

use zk_proto::{DecodeError, Reader};

use super::ApacheDataError;

/// The directory Apache keeps its files in, below `dataDir` and `dataLogDir`.
pub const VERSION_DIR: &str = "version-2";
/// File name prefix of snapshots.
pub const SNAPSHOT_PREFIX: &str = "snapshot";
/// File name prefix of transaction logs.
pub const LOG_PREFIX: &str = "log";
/// The format version in every file header.
pub const FORMAT_VERSION: i32 = 2;

/// The files named `<prefix>.<hex zxid>` in `dir`, by zxid, oldest first (a missing directory
/// has none). Names with another suffix (compressed snapshots: `.gz`, `.snappy`) are listed too,
/// with the zxid of their second part, as Apache lists them.
pub fn list(dir: &Path, prefix: &str) -> Result<Vec<(i64, PathBuf)>, ApacheDataError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ApacheDataError::io(dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ApacheDataError::io(dir, e))?;
        let name = entry.file_name();
        let mut parts = name.to_str().unwrap_or_default().split('.');
        if parts.next() != Some(prefix) {
            continue;
        }
        if let Some(zxid) = parts.next().and_then(|z| u64::from_str_radix(z, 16).ok()) {
            files.push((zxid as i64, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// The name of the file with `prefix` for `zxid`, as Apache writes it (`Long.toHexString`).
pub fn name(prefix: &str, zxid: i64) -> String {
    format!("{prefix}.{zxid:x}")
}

/// The Adler-32 checksum of `bytes` (`java.util.zip.Adler32`), as Apache stores it: in a long.
pub fn adler32(bytes: &[u8]) -> i64 {
    const MOD: u32 = 65_521;
    // The largest run of bytes whose sums cannot overflow a u32 before the modulo.
    const RUN: usize = 5_552;
    let (mut a, mut b) = (1u32, 0u32);
    for run in bytes.chunks(RUN) {
        for &byte in run {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    i64::from((b << 16) | a)
}

fn corrupt(path: &Path, offset: usize, reason: String) -> ApacheDataError {
    ApacheDataError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    }
}

/// A jute reader over one whole file that reports errors with the file and the offset.
pub struct FileReader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    /// The fields not read yet.
    pub r: Reader<'a>,
}

impl<'a> FileReader<'a> {
    /// A reader at the start of `bytes`, the content of `path`.
    pub fn new(path: &'a Path, bytes: &'a [u8]) -> Self {
        FileReader {
            path,
            bytes,
            r: Reader::new(bytes),
        }
    }

    /// The offset of the next unread byte.
    pub fn offset(&self) -> usize {
        self.bytes.len() - self.r.remaining()
    }

    /// The bytes read so far.
    pub fn consumed(&self) -> &'a [u8] {
        &self.bytes[..self.offset()]
    }

    /// An error at `offset` of this file.
    pub fn error_at(&self, offset: usize, reason: impl Into<String>) -> ApacheDataError {
        corrupt(self.path, offset, reason.into())
    }

    /// An error at the current offset.
    pub fn error(&self, reason: impl Into<String>) -> ApacheDataError {
        self.error_at(self.offset(), reason)
    }

    /// Turns a decode error of the field that started at `offset` into an error naming it.
    pub fn decode_error(&self, offset: usize) -> impl Fn(DecodeError) -> ApacheDataError + use<'a> {
        let path = self.path;
        move |e| corrupt(path, offset, e.to_string())
    }

    /// Reads the file header and checks its magic (`ZKSN`, `ZKLG`) and format version.
    pub fn header(&mut self, magic: &[u8; 4]) -> Result<(), ApacheDataError> {
        let decode = |e: DecodeError| self.error_at(0, format!("no file header: {e}"));
        let mut r = self.r.clone();
        let (found, version) = (r.int().map_err(decode)?, r.int().map_err(decode)?);
        r.long().map_err(decode)?;
        if found != i32::from_be_bytes(*magic) {
            return Err(self.error_at(
                0,
                format!(
                    "bad magic {:?}, expected {:?}",
                    String::from_utf8_lossy(&found.to_be_bytes()),
                    String::from_utf8_lossy(magic)
                ),
            ));
        }
        if version != FORMAT_VERSION {
            return Err(self.error_at(4, format!("unsupported format version {version}")));
        }
        self.r = r;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_matches_known_values() {
        assert_eq!(adler32(b""), 1);
        // zlib's reference value for "Wikipedia".
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        // Long input: the sums are reduced often enough not to overflow.
        let long = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &long {
            a = (a + u64::from(byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&long), ((b << 16) | a) as i64);
    }

    #[test]
    fn files_are_listed_by_zxid_with_apache_names() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "log.10",
            "log.f",
            "snapshot.2",
            "log.x",
            "other",
            "log.100000001",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let logs: Vec<i64> = list(dir.path(), LOG_PREFIX)
            .unwrap()
            .into_iter()
            .map(|(z, _)| z)
            .collect();
        assert_eq!(logs, vec![0xf, 0x10, 0x1_0000_0001]);
        assert_eq!(name(LOG_PREFIX, 0x1_0000_0001), "log.100000001");
        assert!(
            list(&dir.path().join("missing"), LOG_PREFIX)
                .unwrap()
                .is_empty()
        );
    }
}
