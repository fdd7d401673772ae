//! The quorum SASL exchange on a new peer connection (over TLS when the members speak TLS),
//! before any other message. The learner opens with [`MAGIC`], four bytes that no peer frame
//! starts with (read as a frame length they announce more than a peer frame may hold), so that a
//! server which does not require SASL can tell an authenticating learner from one that goes
//! straight to its requests. Then both sides send packets `i32 status | u32 length | token` (all
//! big-endian), with the statuses of Apache's `QuorumAuth`:
//!
//! 1. learner: in progress, the empty initial token;
//! 2. server: in progress, the DIGEST-MD5 challenge;
//! 3. learner: in progress, the digest response;
//! 4. server: success with `rspauth=...` (the learner checks it), or error.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::QuorumSasl;
use crate::sasl::digest_md5::{DigestError, DigestMd5Server, QUORUM, Step};
use crate::sasl::digest_md5_client::DigestMd5Client;

/// The first four bytes of an authenticating learner (Apache's quorum auth magic number, -29971).
pub const MAGIC: [u8; 4] = (-29971i32).to_be_bytes();

/// The exchange succeeded (Apache's `Status.SUCCESS`).
const SUCCESS: i32 = 0;
/// The exchange goes on (`Status.IN_PROGRESS`).
const IN_PROGRESS: i32 = 1;
/// The exchange failed (`Status.ERROR`).
const ERROR: i32 = -1;

/// The largest token accepted; DIGEST-MD5 tokens are a few hundred bytes.
const MAX_TOKEN: usize = 64 * 1024;

/// How long the whole exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an exchange failed.
#[derive(Debug, Error)]
pub enum QuorumAuthError {
    /// The connection failed during the exchange (a member that does not speak quorum SASL
    /// closes it on the learner's first bytes).
    #[error("connection lost during the quorum SASL exchange: {0}")]
    Io(#[from] io::Error),
    /// The exchange did not finish in time.
    #[error("no quorum SASL exchange within {EXCHANGE_TIMEOUT:?}")]
    Timeout,
    /// The credentials or a token were refused on this side.
    #[error("{0}")]
    Digest(#[from] DigestError),
    /// The server answered with an error: it refused this member's credentials.
    #[error(
        "the member refused this member's quorum SASL credentials (quorum.auth.learner.saslLoginContext)"
    )]
    Refused,
    /// The learner went straight to its requests while this member requires SASL.
    #[error("the member is not trying to authenticate and quorum.auth.serverRequireSasl=true")]
    NotTrying,
    /// A packet that does not belong in the exchange.
    #[error("quorum SASL protocol violation: {0}")]
    Protocol(String),
}

/// How the server side let a member in.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// It authenticated as this user.
    Authenticated(String),
    /// It did not try (let through: `quorum.auth.serverRequireSasl=false`).
    NotTried,
    /// Its exchange failed for this reason (let through: `quorum.auth.serverRequireSasl=false`;
    /// a learner that asked for SASL closes the connection itself).
    Failed(String),
}

impl QuorumSasl {
    /// The learner's side on a connection this member opened: the exchange, when
    /// `quorum.auth.learnerRequireSasl` asks for it. An error means the connection must be closed.
    pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
    ) -> Result<(), QuorumAuthError> {
        if !self.learner_require {
            return Ok(());
        }
        within_time(self.learn(stream)).await
    }

    async fn learn<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
    ) -> Result<(), QuorumAuthError> {
        let mut client =
            DigestMd5Client::new(QUORUM, &self.learner.username, &self.learner.password);
        stream.write_all(&MAGIC).await?;
        send(stream, IN_PROGRESS, &[]).await?;
        loop {
            let (status, token) = receive(stream).await?;
            match status {
                IN_PROGRESS => {
                    let response = client.respond(&token)?;
                    send(stream, IN_PROGRESS, &response).await?;
                }
                SUCCESS => return Ok(client.verify_server(&token)?),
                ERROR => return Err(QuorumAuthError::Refused),
                other => return Err(QuorumAuthError::Protocol(format!("status {other}"))),
            }
        }
    }

    /// The server's side on a connection another member opened: checks its credentials, or lets
    /// it through without (unless `quorum.auth.serverRequireSasl`). The stream to go on with, and
    /// how the member got in; an error means the connection must be closed.
    pub async fn admit<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
    ) -> Result<(Replayed<S>, Admission), QuorumAuthError> {
        let mut first = [0u8; 4];
        within_time(async { Ok(stream.read_exact(&mut first).await?) }).await?;
        if first != MAGIC {
            if self.server_require {
                return Err(QuorumAuthError::NotTrying);
            }
            return Ok((Replayed::new(first, stream), Admission::NotTried));
        }
        match within_time(self.serve(&mut stream)).await {
            Ok(user) => Ok((Replayed::plain(stream), Admission::Authenticated(user))),
            Err(e) if self.server_require => Err(e),
            Err(e) => Ok((Replayed::plain(stream), Admission::Failed(e.to_string()))),
        }
    }

    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
    ) -> Result<String, QuorumAuthError> {
        let mut server = DigestMd5Server::for_service(QUORUM);
        let password = |user: &str| self.server_users.get(user).cloned();
        loop {
            let (_, token) = receive(stream).await?;
            match server.step(&token, &password) {
                Ok(Step::Challenge(challenge)) => send(stream, IN_PROGRESS, &challenge).await?,
                Ok(Step::Done(rspauth, who)) => {
                    send(stream, SUCCESS, &rspauth).await?;
                    return Ok(who.username);
                }
                Err(e) => {
                    // Tell the learner, as Apache does; it may be gone already.
                    let _ = send(stream, ERROR, &[]).await;
                    return Err(e.into());
                }
            }
        }
    }
}

async fn within_time<T>(
    exchange: impl Future<Output = Result<T, QuorumAuthError>>,
) -> Result<T, QuorumAuthError> {
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .unwrap_or(Err(QuorumAuthError::Timeout))
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, status: i32, token: &[u8]) -> io::Result<()> {
    let len = u32::try_from(token.len()).expect("tokens are small");
    let mut packet = Vec::with_capacity(8 + token.len());
    packet.extend_from_slice(&status.to_be_bytes());
    packet.extend_from_slice(&len.to_be_bytes());
    packet.extend_from_slice(token);
    stream.write_all(&packet).await?;
    stream.flush().await
}

async fn receive<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(i32, Vec<u8>), QuorumAuthError> {
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).await?;
    let status = i32::from_be_bytes(header[..4].try_into().expect("4 bytes"));
    let len = u32::from_be_bytes(header[4..].try_into().expect("4 bytes")) as usize;
    if len > MAX_TOKEN {
        return Err(QuorumAuthError::Protocol(format!("a token of {len} bytes")));
    }
    let mut token = vec![0u8; len];
    stream.read_exact(&mut token).await?;
    Ok((status, token))
}

/// A stream that first gives back the bytes read from it to look for [`MAGIC`] (none when the
/// learner authenticated), then reads on; writes go straight through.
pub struct Replayed<S> {
    first: [u8; 4],
    at: usize,
    inner: S,
}

impl<S> Replayed<S> {
    fn new(first: [u8; 4], inner: S) -> Replayed<S> {
        Replayed {
            first,
            at: 0,
            inner,
        }
    }

    fn plain(inner: S) -> Replayed<S> {
        Replayed {
            first: [0; 4],
            at: 4,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replayed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.first.len() {
            let n = (this.first.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.first[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replayed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
