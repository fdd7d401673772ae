//! Framing: every message is an int32 big-endian length followed by that many payload bytes. Splitting a
//! frame off a read buffer tells "not enough bytes yet" (`Ok(None)`) apart from a frame over the limit and
//! from a malformed (negative) length.

use bytes::{Buf, Bytes, BytesMut};

use crate::jute::{Record, Writer};
use crate::records::{ReplyHeader, WatcherEvent};

/// Length of the frame-length prefix.
pub const LENGTH_PREFIX: usize = 4;

/// Apache's default `jute.maxbuffer` (0xfffff): the largest payload accepted by default.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Why a frame cannot be read; the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The announced payload is larger than the limit (`jute.maxbuffer`).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The announced length is negative.
    #[error("malformed frame length {0}")]
    Malformed(i32),
}

/// The payload length announced at the start of `buf`: `Ok(None)` when fewer than 4 bytes are buffered.
pub fn peek_length(buf: &[u8], max: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.get(..LENGTH_PREFIX) else {
        return Ok(None);
    };
    let len = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let len = usize::try_from(len).map_err(|_| FrameError::Malformed(len))?;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(Some(len))
}

/// Takes the first whole frame's payload off `buf`; `Ok(None)` when the frame is not complete yet (the
/// buffer is left untouched).
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, FrameError> {
    let Some(len) = peek_length(buf, max)? else {
        return Ok(None);
    };
    if buf.len() < LENGTH_PREFIX + len {
        return Ok(None);
    }
    buf.advance(LENGTH_PREFIX);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Bytes of an encoded [`ReplyHeader`]: xid, zxid, err.
const REPLY_HEADER_LEN: usize = 16;

/// A whole reply frame: header, then `body` (already encoded; pass an empty slice on error).
pub fn reply_frame(header: &ReplyHeader, body: &[u8]) -> BytesMut {
    let mut w = Writer::framed_with_capacity(REPLY_HEADER_LEN + body.len());
    header.write(&mut w);
    w.raw(body);
    w.into_frame()
}

/// A whole notification frame (xid -1) carrying `event`, stamped with `zxid`.
pub fn notification_frame(zxid: i64, event: &WatcherEvent) -> BytesMut {
    let mut w = Writer::framed();
    ReplyHeader {
        xid: crate::xid::NOTIFICATION,
        zxid,
        err: 0,
    }
    .write(&mut w);
    event.write(&mut w);
    w.into_frame()
}

/// A whole frame holding one record (connect requests and responses).
pub fn record_frame(record: &impl Record) -> BytesMut {
    let mut w = Writer::framed();
    record.write(&mut w);
    w.into_frame()
}
