//! The binary encoding shared by the log, the snapshots and the peer protocol (postcard over serde).

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes a value; encoding our own types cannot fail except on a bug, reported as an I/O error.
pub(crate) fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// [`encode`] into a buffer with room for `capacity` bytes before it grows (for values whose
/// size is known roughly, encoded on a hot path).
pub(crate) fn encode_sized<T: Serialize>(value: &T, capacity: usize) -> io::Result<Vec<u8>> {
    postcard::to_extend(value, Vec::with_capacity(capacity))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Decodes a value written by [`encode`].
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
