//! The commands the replicated log carries and the outcome `apply` returns, with their binary encoding
//! (a tag byte, then jute fields). Everything `apply` needs is inside the command — including the
//! leader's clock — so every replica computes the same state.

use zk_proto::{DecodeError, Id, Reader, Writer};

/// One entry of the replicated log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A new session (the id and password are chosen by the proposer).
    CreateSession {
        /// Session id.
        session_id: i64,
        /// Negotiated timeout, ms.
        timeout_ms: i32,
        /// The 16-byte password.
        password: Vec<u8>,
    },
    /// End of a session (client close or expiry): its ephemerals are deleted.
    CloseSession {
        /// Session id.
        session_id: i64,
        /// The leader's wall clock at proposal, ms.
        time_ms: i64,
    },
    /// A client write request.
    Request {
        /// The requesting session.
        session_id: i64,
        /// The client's xid: the member the client is connected to answers it when it applies
        /// the entry (see `crate::pipeline`).
        xid: i32,
        /// The leader's wall clock at proposal, ms (becomes ctime/mtime).
        time_ms: i64,
        /// The session's authenticated identities on its connection.
        auth: Vec<Id>,
        /// The op code.
        op_code: i32,
        /// The request body (after the request header).
        body: Vec<u8>,
    },
    /// Deletion of containers and TTL nodes found expired by the leader; each is checked again on apply.
    DeleteExpired {
        /// The leader's wall clock at proposal, ms.
        time_ms: i64,
        /// Candidate paths.
        paths: Vec<String>,
    },
}

const CREATE_SESSION: u8 = 1;
const CLOSE_SESSION: u8 = 2;
const DELETE_EXPIRED: u8 = 4;
/// A request without its xid, as logs written before pipelining hold them.
const REQUEST_WITHOUT_XID: u8 = 3;
const REQUEST: u8 = 5;

/// Bytes of an encoded request besides its identities and body: tag, session, xid, time, count
/// of identities, op code, body length.
const REQUEST_FIXED_LEN: usize = 1 + 8 + 4 + 8 + 4 + 4 + 4;

/// Bytes of encoded identities (each a length-prefixed scheme and id).
fn auth_len(auth: &[Id]) -> usize {
    auth.iter()
        .map(|id| 8 + id.scheme.len() + id.id.len())
        .sum()
}

/// The xid given to requests of [`REQUEST_WITHOUT_XID`] entries: no pipeline waits for it.
const NO_XID: i32 = i32::MIN;

impl Command {
    /// The command as log-entry bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Command::CreateSession {
                session_id,
                timeout_ms,
                password,
            } => {
                w.raw(&[CREATE_SESSION]);
                w.long(*session_id);
                w.int(*timeout_ms);
                w.buffer(password);
            }
            Command::CloseSession {
                session_id,
                time_ms,
            } => {
                w.raw(&[CLOSE_SESSION]);
                w.long(*session_id);
                w.long(*time_ms);
            }
            Command::Request {
                session_id,
                xid,
                time_ms,
                auth,
                op_code,
                body,
            } => {
                return Command::encode_request(*session_id, *xid, *time_ms, auth, *op_code, body);
            }
            Command::DeleteExpired { time_ms, paths } => {
                w.raw(&[DELETE_EXPIRED]);
                w.long(*time_ms);
                w.strings(paths);
            }
        }
        w.into_bytes().into()
    }

    /// The log-entry bytes of a [`Command::Request`] with these fields, encoded from borrowed
    /// parts (a client's write is encoded once, straight from its frame).
    pub fn encode_request(
        session_id: i64,
        xid: i32,
        time_ms: i64,
        auth: &[Id],
        op_code: i32,
        body: &[u8],
    ) -> Vec<u8> {
        let mut w = Writer::with_capacity(REQUEST_FIXED_LEN + auth_len(auth) + body.len());
        w.raw(&[REQUEST]);
        w.long(session_id);
        w.int(xid);
        w.long(time_ms);
        w.vec(auth);
        w.int(op_code);
        w.buffer(body);
        w.into_bytes().into()
    }

    /// Decodes log-entry bytes.
    pub fn decode(bytes: &[u8]) -> Result<Command, DecodeError> {
        let (&tag, rest) = bytes.split_first().ok_or(DecodeError::UnexpectedEof {
            needed: 1,
            remaining: 0,
        })?;
        let r = &mut Reader::new(rest);
        Ok(match tag {
            CREATE_SESSION => Command::CreateSession {
                session_id: r.long()?,
                timeout_ms: r.int()?,
                password: r.buffer()?,
            },
            CLOSE_SESSION => Command::CloseSession {
                session_id: r.long()?,
                time_ms: r.long()?,
            },
            REQUEST | REQUEST_WITHOUT_XID => Command::Request {
                session_id: r.long()?,
                xid: if tag == REQUEST { r.int()? } else { NO_XID },
                time_ms: r.long()?,
                auth: r.vec()?,
                op_code: r.int()?,
                body: r.buffer()?,
            },
            DELETE_EXPIRED => Command::DeleteExpired {
                time_ms: r.long()?,
                paths: r.strings()?,
            },
            other => {
                return Err(DecodeError::InvalidValue {
                    field: "command tag",
                    value: other.into(),
                });
            }
        })
    }
}

/// What `apply` returns to the proposer: the zxid of the entry, the error code (0 on success) and the
/// reply body (empty on error), ready to follow a reply header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The entry's zxid (goes into the reply header).
    pub zxid: i64,
    /// The error code.
    pub err: i32,
    /// The reply body.
    pub body: Vec<u8>,
}

impl Outcome {
    /// The outcome as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(16 + self.body.len());
        w.long(self.zxid);
        w.int(self.err);
        w.buffer(&self.body);
        w.into_bytes().into()
    }

    /// Decodes `apply`'s output.
    pub fn decode(bytes: &[u8]) -> Result<Outcome, DecodeError> {
        let r = &mut Reader::new(bytes);
        Ok(Outcome {
            zxid: r.long()?,
            err: r.int()?,
            body: r.buffer()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        let commands = [
            Command::CreateSession {
                session_id: 7,
                timeout_ms: 4000,
                password: vec![1; 16],
            },
            Command::CloseSession {
                session_id: 7,
                time_ms: 99,
            },
            Command::Request {
                session_id: 7,
                xid: 12,
                time_ms: 1,
                auth: vec![Id::new("ip", "127.0.0.1")],
                op_code: 1,
                body: vec![1, 2, 3],
            },
            Command::DeleteExpired {
                time_ms: 5,
                paths: vec!["/c".into()],
            },
        ];
        for c in commands {
            assert_eq!(Command::decode(&c.encode()).unwrap(), c);
        }
        // A request logged before requests carried their xid.
        let mut legacy = vec![REQUEST_WITHOUT_XID];
        legacy.extend_from_slice(&7i64.to_be_bytes());
        legacy.extend_from_slice(&1i64.to_be_bytes());
        legacy.extend_from_slice(&(-1i32).to_be_bytes());
        legacy.extend_from_slice(&2i32.to_be_bytes());
        legacy.extend_from_slice(&0i32.to_be_bytes());
        assert!(matches!(
            Command::decode(&legacy).unwrap(),
            Command::Request {
                session_id: 7,
                xid: NO_XID,
                op_code: 2,
                ..
            }
        ));
        assert!(Command::decode(&[9]).is_err());
        assert!(Command::decode(&[]).is_err());
    }

    #[test]
    fn outcomes_round_trip() {
        let o = Outcome {
            zxid: 0x1_0000_0002,
            err: -101,
            body: vec![],
        };
        assert_eq!(Outcome::decode(&o.encode()).unwrap(), o);
    }
}
