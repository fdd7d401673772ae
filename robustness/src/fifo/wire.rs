//! One connection of a pipelined session, spoken directly in the client protocol (`zk-proto`): the
//! handshake that creates or resumes the session, creates written one after another without waiting,
//! and their replies read in order.
//!
//! The `zookeeper-client` crate pipelines too (an operation's request is queued when the operation is
//! called, before its future is awaited), but requests still queued when a connection drops are sent on
//! the next one, and the caller cannot tell which connection a request went out on. The FIFO check needs
//! exactly that, so the load owns its connections: a request written here went out on this connection.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_proto::frame::{DEFAULT_MAX_BUFFER, record_frame};
use zk_proto::{
    Acl, ConnectRequest, ConnectResponse, CreateMode, CreateRequest, CreateResponse, Id, OpCode,
    Reader, Record, ReplyHeader, RequestHeader, Writer, perms, split_frame, xid,
};

/// Why a connection could not be opened or used; the session's outstanding writes are then unknown.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed or was closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The member did not answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The member sent something that is not a frame or record of the protocol.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// The member refused to resume the session: it expired.
    #[error("session expired")]
    Expired,
}

/// A session's identity, to resume it on another connection.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The session id.
    pub id: i64,
    /// The session password.
    pub passwd: Vec<u8>,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The request's xid.
    pub xid: i32,
    /// The `ErrorCode` (0: success).
    pub err: i32,
    /// The created path, on success.
    pub path: Option<String>,
}

/// An open connection with the session established on it.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buf: BytesMut,
    next_xid: i32,
    limit: Duration,
    last_zxid: i64,
}

impl Connection {
    /// Connects to `addr` and creates a session (`resume: None`, asking for `timeout`) or resumes one;
    /// `last_zxid` is the last zxid the session saw (a member behind it refuses it). Every step, and every
    /// later reply, must come within `limit`.
    pub async fn open(
        addr: SocketAddr,
        resume: Option<&Credentials>,
        timeout: Duration,
        last_zxid: i64,
        limit: Duration,
    ) -> Result<(Self, Credentials), WireError> {
        let stream = within(limit, TcpStream::connect(addr)).await??;
        stream.set_nodelay(true)?;
        let mut connection = Connection {
            stream,
            buf: BytesMut::new(),
            next_xid: 1,
            limit,
            last_zxid,
        };
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: last_zxid,
            timeout: i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX),
            session_id: resume.map_or(0, |c| c.id),
            passwd: resume.map_or_else(|| vec![0; 16], |c| c.passwd.clone()),
            read_only: Some(false),
        };
        connection.stream.write_all(&record_frame(&request)).await?;
        let frame = connection.frame().await?;
        let response = ConnectResponse::read(&mut Reader::new(&frame))
            .map_err(|e| WireError::Malformed(e.to_string()))?;
        if response.timeout <= 0 || response.session_id == 0 {
            return Err(WireError::Expired);
        }
        let credentials = Credentials {
            id: response.session_id,
            passwd: response.passwd,
        };
        Ok((connection, credentials))
    }

    /// Writes a request creating a znode `path` (for a sequential `mode`, the prefix of its name) holding
    /// `data`, without waiting for its reply; returns its xid.
    pub async fn send_create(
        &mut self,
        path: &str,
        data: &[u8],
        mode: CreateMode,
    ) -> Result<i32, WireError> {
        let xid = self.next_xid;
        self.next_xid += 1;
        let mut w = Writer::framed();
        RequestHeader {
            xid,
            op_type: OpCode::Create.code(),
        }
        .write(&mut w);
        CreateRequest {
            path: path.to_owned(),
            data: Some(data.to_vec()),
            acl: vec![Acl {
                perms: perms::ALL,
                id: Id::new("world", "anyone"),
            }],
            flags: mode.code(),
        }
        .write(&mut w);
        self.stream.write_all(&w.into_frame()).await?;
        Ok(xid)
    }

    /// The next reply to a request (ping replies and notifications are skipped).
    pub async fn reply(&mut self) -> Result<Reply, WireError> {
        loop {
            let frame = self.frame().await?;
            let mut r = Reader::new(&frame);
            let header =
                ReplyHeader::read(&mut r).map_err(|e| WireError::Malformed(e.to_string()))?;
            if header.xid == xid::PING || header.xid == xid::NOTIFICATION {
                continue;
            }
            self.last_zxid = self.last_zxid.max(header.zxid);
            let path = if header.err == 0 {
                let created = CreateResponse::read(&mut r)
                    .map_err(|e| WireError::Malformed(e.to_string()))?;
                Some(created.path)
            } else {
                None
            };
            return Ok(Reply {
                xid: header.xid,
                err: header.err,
                path,
            });
        }
    }

    /// The highest zxid seen on this connection (or before it, as given to [`Connection::open`]).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The next whole frame's payload.
    async fn frame(&mut self) -> Result<Bytes, WireError> {
        loop {
            if let Some(frame) = split_frame(&mut self.buf, DEFAULT_MAX_BUFFER)
                .map_err(|e| WireError::Malformed(e.to_string()))?
            {
                return Ok(frame);
            }
            let read = within(self.limit, self.stream.read_buf(&mut self.buf)).await??;
            if read == 0 {
                return Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }
}

/// `future`, or [`WireError::Timeout`] after `limit`.
async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Result<T, WireError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| WireError::Timeout(limit))
}
