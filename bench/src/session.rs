//! A client session on one TCP connection (in plain text or over TLS), spoken with `zk-proto`: the connect
//! handshake (a new session, or an existing one resumed with its id and password), writing request frames,
//! reading whole reply frames, and a plain one-at-a-time call for setup and closing. Pipelining is the
//! caller's business (see [`crate::driver`]); this layer only moves frames.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zk_proto::frame::{DEFAULT_MAX_BUFFER, record_frame};
use zk_proto::{
    ConnectRequest, ConnectResponse, DecodeError, ErrorCode, FrameError, OpCode, Record,
    ReplyHeader, RequestHeader, Writer, split_frame, xid,
};

/// Session timeout asked for, ms (within Apache's default bounds of 2 and 20 ticks of 2 s).
const SESSION_TIMEOUT_MS: i32 = 30_000;

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The connection failed.
    #[error("connection to {addr}: {source}")]
    Io {
        /// The server.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server closed the connection.
    #[error("{0} closed the connection")]
    Closed(SocketAddr),
    /// The server refused the session (timeout 0 in the connect response).
    #[error("{0} refused the session")]
    Refused(SocketAddr),
    /// Nothing came from the server for a whole session timeout while a reply was awaited (its
    /// session would have expired): a stalled server fails the row instead of hanging it.
    #[error("{0} sent nothing for {SESSION_TIMEOUT_MS} ms while a reply was awaited")]
    Silent(SocketAddr),
    /// A frame could not be split off the stream.
    #[error("bad frame from {addr}: {source}")]
    Frame {
        /// The server.
        addr: SocketAddr,
        /// The framing error.
        source: FrameError,
    },
    /// A frame did not decode as the expected record.
    #[error("bad reply from {addr}: {source}")]
    Decode {
        /// The server.
        addr: SocketAddr,
        /// The decoding error.
        source: DecodeError,
    },
    /// A reply answered another request than the oldest outstanding one.
    #[error("{addr} answered xid {got}, expected {expected:?}")]
    OutOfOrder {
        /// The server.
        addr: SocketAddr,
        /// The xid expected next (`None`: no request is outstanding).
        expected: Option<i32>,
        /// The xid received.
        got: i32,
    },
    /// A request failed.
    #[error("{addr} answered {op:?} with error {code}{}", name.map(|n| format!(" ({n:?})")).unwrap_or_default())]
    Reply {
        /// The server.
        addr: SocketAddr,
        /// The request's op code.
        op: OpCode,
        /// The error code.
        code: i32,
        /// Its name, when known.
        name: Option<ErrorCode>,
    },
    /// A successful reply did not carry what the request asked for.
    #[error("{addr} gave a wrong {op:?} reply: {why}")]
    WrongReply {
        /// The server.
        addr: SocketAddr,
        /// The request's op code.
        op: OpCode,
        /// What was wrong.
        why: String,
    },
}

/// Bytes of a reply header (`xid`, `zxid`, `err`) before the body.
pub const REPLY_HEADER_LEN: usize = 16;

/// Appends one request frame (`{xid, type}` header and `body`) to `out`.
pub fn encode_request(out: &mut BytesMut, xid: i32, op: OpCode, body: &impl Record) {
    let mut w = Writer::framed();
    RequestHeader {
        xid,
        op_type: op.code(),
    }
    .write(&mut w);
    body.write(&mut w);
    out.extend_from_slice(&w.into_frame());
}

/// Where a session connects: a member's address, in plain text or over TLS.
#[derive(Clone)]
pub struct Endpoint {
    /// The address.
    pub addr: SocketAddr,
    /// TLS on the connection, when set (the server's certificate is checked for the address's IP).
    pub tls: Option<TlsConnector>,
}

impl Endpoint {
    /// `addr` in plain text.
    pub fn plain(addr: SocketAddr) -> Self {
        Endpoint { addr, tls: None }
    }

    /// The name the server's certificate is checked against.
    pub fn server_name(&self) -> ServerName<'static> {
        ServerName::IpAddress(self.addr.ip().into())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls.is_some() { "tls" } else { "tcp" };
        write!(f, "{scheme}://{}", self.addr)
    }
}

/// The byte stream under a session: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// What identifies a session to any member: its id and password, as the server gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The session id.
    pub id: i64,
    /// The session password.
    pub passwd: Vec<u8>,
}

/// An established session.
pub struct Session {
    addr: SocketAddr,
    stream: Box<dyn Stream>,
    buf: BytesMut,
    next_xid: i32,
    credentials: Credentials,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("addr", &self.addr)
            .field("id", &self.credentials.id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens a plain-text connection to `addr` and creates a new session on it.
    pub async fn connect(addr: SocketAddr) -> Result<Self, SessionError> {
        Self::open(&Endpoint::plain(addr)).await
    }

    /// Opens a connection to `endpoint` (with its TLS handshake, if any) and creates a new session on it.
    pub async fn open(endpoint: &Endpoint) -> Result<Self, SessionError> {
        Self::handshake(endpoint, 0, vec![0; 16]).await
    }

    /// Opens a connection to `addr` and resumes the session of `credentials` on it, as a client does after
    /// losing its connection. A session that has expired is [`SessionError::Refused`]. The last zxid seen
    /// is sent as 0, so no member refuses the client for being behind it.
    pub async fn resume(addr: SocketAddr, credentials: &Credentials) -> Result<Self, SessionError> {
        Self::handshake(
            &Endpoint::plain(addr),
            credentials.id,
            credentials.passwd.clone(),
        )
        .await
    }

    /// Connects to `endpoint` and sends a connect request for `session_id` (0: a new session) with
    /// `passwd`.
    async fn handshake(
        endpoint: &Endpoint,
        session_id: i64,
        passwd: Vec<u8>,
    ) -> Result<Self, SessionError> {
        let addr = endpoint.addr;
        let io = |source| SessionError::Io { addr, source };
        let tcp = TcpStream::connect(addr).await.map_err(io)?;
        tcp.set_nodelay(true).map_err(io)?;
        let stream: Box<dyn Stream> = match &endpoint.tls {
            None => Box::new(tcp),
            Some(connector) => Box::new(
                connector
                    .connect(endpoint.server_name(), tcp)
                    .await
                    .map_err(io)?,
            ),
        };
        let mut session = Session {
            addr,
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            next_xid: 1,
            credentials: Credentials {
                id: 0,
                passwd: Vec::new(),
            },
        };
        let request = ConnectRequest {
            timeout: SESSION_TIMEOUT_MS,
            session_id,
            passwd,
            read_only: Some(false),
            ..ConnectRequest::default()
        };
        session.write(&record_frame(&request)).await?;
        let frame = session.read_frame().await?;
        let response = ConnectResponse::from_bytes(&frame)
            .map_err(|source| SessionError::Decode { addr, source })?;
        if response.timeout <= 0 {
            return Err(SessionError::Refused(addr));
        }
        session.credentials = Credentials {
            id: response.session_id,
            passwd: response.passwd,
        };
        Ok(session)
    }

    /// The session's id and password, to resume it on another connection.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The server this session is connected to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A fresh xid for the next request.
    pub fn next_xid(&mut self) -> i32 {
        let xid = self.next_xid;
        self.next_xid += 1;
        xid
    }

    /// Writes already-encoded frames.
    pub async fn write(&mut self, frames: &[u8]) -> Result<(), SessionError> {
        let addr = self.addr;
        self.stream
            .write_all(frames)
            .await
            .map_err(|source| SessionError::Io { addr, source })?;
        // TLS buffers what it encrypts: flush it onto the connection.
        self.stream
            .flush()
            .await
            .map_err(|source| SessionError::Io { addr, source })
    }

    /// Reads until at least one whole frame is buffered, then moves every whole frame into `out`.
    pub async fn read_frames(&mut self, out: &mut Vec<Bytes>) -> Result<(), SessionError> {
        loop {
            while let Some(frame) = self.take_frame()? {
                out.push(frame);
            }
            if !out.is_empty() {
                return Ok(());
            }
            self.fill().await?;
        }
    }

    /// Reads the next whole frame (for one-at-a-time use: later frames stay buffered).
    async fn read_frame(&mut self) -> Result<Bytes, SessionError> {
        loop {
            if let Some(frame) = self.take_frame()? {
                return Ok(frame);
            }
            self.fill().await?;
        }
    }

    /// Splits the first whole frame off the read buffer, if there is one.
    fn take_frame(&mut self) -> Result<Option<Bytes>, SessionError> {
        split_frame(&mut self.buf, DEFAULT_MAX_BUFFER).map_err(|source| SessionError::Frame {
            addr: self.addr,
            source,
        })
    }

    /// Reads more bytes into the read buffer, waiting at most a session timeout.
    async fn fill(&mut self) -> Result<(), SessionError> {
        let addr = self.addr;
        let patience = Duration::from_millis(SESSION_TIMEOUT_MS as u64);
        match tokio::time::timeout(patience, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Err(SessionError::Silent(addr)),
            Ok(Ok(0)) => Err(SessionError::Closed(addr)),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(source)) => Err(SessionError::Io { addr, source }),
        }
    }

    /// Decodes a reply header, checking that it answers `expected_xid` (the oldest outstanding request);
    /// notifications and ping replies give `None`.
    pub fn reply_header(
        &self,
        frame: &[u8],
        expected_xid: Option<i32>,
    ) -> Result<Option<ReplyHeader>, SessionError> {
        let header = ReplyHeader::from_bytes(frame).map_err(|source| SessionError::Decode {
            addr: self.addr,
            source,
        })?;
        if header.xid == xid::NOTIFICATION || header.xid == xid::PING {
            return Ok(None);
        }
        if Some(header.xid) != expected_xid {
            return Err(SessionError::OutOfOrder {
                addr: self.addr,
                expected: expected_xid,
                got: header.xid,
            });
        }
        Ok(Some(header))
    }

    /// The error for a failed reply to `op`.
    pub fn reply_error(&self, op: OpCode, code: i32) -> SessionError {
        SessionError::Reply {
            addr: self.addr,
            op,
            code,
            name: ErrorCode::from_i32(code),
        }
    }

    /// Sends one request and waits for its reply; returns the reply's error code (0 on success).
    pub async fn call(&mut self, op: OpCode, body: &impl Record) -> Result<i32, SessionError> {
        Ok(self.exchange(op, body).await?.0)
    }

    /// Sends one request and waits for its reply; returns the reply's error code and, on success, the
    /// reply's body decoded as `R`.
    pub async fn request<R: Record>(
        &mut self,
        op: OpCode,
        body: &impl Record,
    ) -> Result<Result<R, i32>, SessionError> {
        let (code, frame) = self.exchange(op, body).await?;
        if code != 0 {
            return Ok(Err(code));
        }
        R::from_bytes(&frame[REPLY_HEADER_LEN..])
            .map(Ok)
            .map_err(|source| SessionError::Decode {
                addr: self.addr,
                source,
            })
    }

    /// Sends one request, waits for its reply, and returns its error code and whole frame.
    async fn exchange(
        &mut self,
        op: OpCode,
        body: &impl Record,
    ) -> Result<(i32, Bytes), SessionError> {
        let xid = self.next_xid();
        let mut out = BytesMut::new();
        encode_request(&mut out, xid, op, body);
        self.write(&out).await?;
        loop {
            let frame = self.read_frame().await?;
            if let Some(header) = self.reply_header(&frame, Some(xid))? {
                return Ok((header.err, frame));
            }
        }
    }

    /// Creates a persistent node with empty data and an open ACL; an existing node is fine.
    pub async fn ensure_node(&mut self, path: &str) -> Result<(), SessionError> {
        let request = zk_proto::CreateRequest {
            path: path.to_owned(),
            data: Some(Vec::new()),
            acl: crate::workload::open_acl(),
            flags: 0,
        };
        match self.call(OpCode::Create, &request).await? {
            0 => Ok(()),
            code if code == ErrorCode::NodeExists.code() => Ok(()),
            code => Err(self.reply_error(OpCode::Create, code)),
        }
    }

    /// Closes the session (closeSession, then waits for its reply).
    pub async fn close(mut self) -> Result<(), SessionError> {
        match self.call(OpCode::CloseSession, &EmptyBody).await? {
            0 => Ok(()),
            code => Err(self.reply_error(OpCode::CloseSession, code)),
        }
    }
}

/// The empty body of closeSession.
struct EmptyBody;

impl Record for EmptyBody {
    fn write(&self, _w: &mut Writer) {}

    fn read(_r: &mut zk_proto::Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EmptyBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_answers_fails_the_session_after_its_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts the connection and reads nothing, as a stalled server.
        let server = tokio::spawn(async move { listener.accept().await.unwrap() });
        let started = tokio::time::Instant::now();
        let Err(refused) = Session::connect(addr).await else {
            panic!("a session with a server that never answered");
        };
        assert!(
            matches!(refused, SessionError::Silent(a) if a == addr),
            "{refused}"
        );
        assert!(started.elapsed() >= Duration::from_millis(SESSION_TIMEOUT_MS as u64));
        server.abort();
    }
}
