//! The connect handshake (with the optional trailing `readOnly` byte) and the auth packet.

use crate::jute::{DecodeError, Reader, Record, Writer, record};

/// The first frame a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    /// Protocol version (0).
    pub protocol_version: i32,
    /// The last zxid the client has seen; a server behind it refuses the client.
    pub last_zxid_seen: i64,
    /// Requested session timeout, ms.
    pub timeout: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// The session password (16 bytes) when resuming.
    pub passwd: Vec<u8>,
    /// `Some` when the client sent the readOnly byte; old clients omit it and must get a reply without it.
    pub read_only: Option<bool>,
}

/// The server's reply to a [`ConnectRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    /// Protocol version (0).
    pub protocol_version: i32,
    /// Negotiated timeout, ms; 0 with session id 0 refuses the session.
    pub timeout: i32,
    /// The session id.
    pub session_id: i64,
    /// The session password.
    pub passwd: Vec<u8>,
    /// Written only when `Some` (mirrors the request).
    pub read_only: Option<bool>,
}

/// Reads the optional trailing boolean: absent when the input is exhausted.
fn read_trailing_bool(r: &mut Reader<'_>) -> Result<Option<bool>, DecodeError> {
    if r.remaining() == 0 {
        Ok(None)
    } else {
        r.bool().map(Some)
    }
}

impl Record for ConnectRequest {
    fn write(&self, w: &mut Writer) {
        w.int(self.protocol_version);
        w.long(self.last_zxid_seen);
        w.int(self.timeout);
        w.long(self.session_id);
        w.buffer(&self.passwd);
        if let Some(ro) = self.read_only {
            w.bool(ro);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: r.int()?,
            last_zxid_seen: r.long()?,
            timeout: r.int()?,
            session_id: r.long()?,
            passwd: r.buffer()?,
            read_only: read_trailing_bool(r)?,
        })
    }
}

impl Record for ConnectResponse {
    fn write(&self, w: &mut Writer) {
        w.int(self.protocol_version);
        w.int(self.timeout);
        w.long(self.session_id);
        w.buffer(&self.passwd);
        if let Some(ro) = self.read_only {
            w.bool(ro);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: r.int()?,
            timeout: r.int()?,
            session_id: r.long()?,
            passwd: r.buffer()?,
            read_only: read_trailing_bool(r)?,
        })
    }
}

record! {
    /// addauth (op 100, xid -4).
    pub struct AuthPacket {
        /// Unused (0).
        auth_type: i32,
        /// The scheme, e.g. `digest`.
        scheme: String,
        /// Scheme-specific credentials, e.g. `user:password`.
        auth: Option<Vec<u8>>,
    }
}

record! {
    /// A SASL token (op 102): the client's in a request (Apache's `GetSASLRequest`/`SetSASLRequest`),
    /// the server's challenge in a reply (`SetSASLResponse`); absent when there is none.
    pub struct SaslToken {
        /// The mechanism's bytes.
        token: Option<Vec<u8>>,
    }
}
