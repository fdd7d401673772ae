//! The quorum SASL exchange on a new peer connection (over TLS when the members speak TLS),
//! before any other message. The learner opens with [`MAGIC`], four bytes that no peer frame
//! starts with (read as a frame length they announce more than a peer frame may hold), so that a
//! server which does not require SASL can tell an authenticating learner from one that goes
//! straight to its requests. Then both sides send packets `i32 status | u32 length | token` (all
//! big-endian), with the statuses of Apache's `QuorumAuth`. With DIGEST-MD5:
//!
//! 1. learner: in progress, the empty initial token;
//! 2. server: in progress, the DIGEST-MD5 challenge;
//! 3. learner: in progress, the digest response;
//! 4. server: success with `rspauth=...` (the learner checks it), or error.
//!
//! With Kerberos (GSSAPI):
//!
//! 1. learner: in progress, the initial context token (the Kerberos AP-REQ);
//! 2. server: in progress, the context's last token (the AP-REP: the server's proof);
//! 3. learner: in progress, empty (the context is established);
//! 4. server: in progress, the wrapped security-layer offer;
//! 5. learner: in progress, the wrapped choice of no security layer;
//! 6. server: success with an empty token, or error.
//!
//! Each side runs the mechanism of its own JAAS section; members whose sections name different
//! mechanisms fail the exchange.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::task::JoinHandle;

use super::{LearnerLogin, QuorumSasl};
use crate::sasl::digest_md5::{DigestError, DigestMd5Server, QUORUM, Step};
use crate::sasl::digest_md5_client::DigestMd5Client;
use crate::sasl::gssapi::{GssapiError, GssapiServer, GssapiStep};
use crate::sasl::gssapi_client::GssapiClient;
use crate::sasl::krb5_login::KerberosLoginError;
use crate::sasl::{KerberosInitiator, KerberosLogin, SaslLogin};

/// The first four bytes of an authenticating learner (Apache's quorum auth magic number, -29971).
pub const MAGIC: [u8; 4] = (-29971i32).to_be_bytes();

/// The exchange succeeded (Apache's `Status.SUCCESS`).
const SUCCESS: i32 = 0;
/// The exchange goes on (`Status.IN_PROGRESS`).
const IN_PROGRESS: i32 = 1;
/// The exchange failed (`Status.ERROR`).
const ERROR: i32 = -1;

/// The largest token accepted; DIGEST-MD5 tokens are a few hundred bytes, Kerberos ones a few
/// kilobytes.
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
    /// A GSSAPI (Kerberos) token was refused on this side, or could not be made.
    #[error("{0}")]
    Gssapi(#[from] GssapiError),
    /// This member's Kerberos learner login cannot be used (quorum.auth.learner.saslLoginContext).
    #[error("the learner login: {0}")]
    Login(#[from] KerberosLoginError),
    /// The learner authenticated but may not connect (Apache's authorization check).
    #[error("{0}")]
    Unauthorized(String),
    /// The server declared success before the exchange was complete on this side.
    #[error("the member declared success before it was authenticated")]
    EarlySuccess,
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
    /// The learner's side on a connection this member opened to the member at `host`: the
    /// exchange, when `quorum.auth.learnerRequireSasl` asks for it. An error means the connection
    /// must be closed.
    pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        host: &str,
    ) -> Result<(), QuorumAuthError> {
        if !self.learner_require {
            return Ok(());
        }
        within_time(self.learn(stream, host)).await
    }

    async fn learn<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        host: &str,
    ) -> Result<(), QuorumAuthError> {
        let mut exchange = match self.learner.as_ref() {
            LearnerLogin::Digest { username, password } => {
                LearnerExchange::Digest(DigestMd5Client::new(QUORUM, username, password))
            }
            LearnerLogin::Kerberos(login) => {
                LearnerExchange::Kerberos(kerberos_start(login, self.service_principal_for(host)))
            }
        };
        let initial = exchange.initial().await?;
        stream.write_all(&MAGIC).await?;
        send(stream, IN_PROGRESS, &initial).await?;
        loop {
            let (status, token) = receive(stream).await?;
            match status {
                IN_PROGRESS => {
                    let response = exchange.respond(&token)?;
                    send(stream, IN_PROGRESS, &response).await?;
                }
                SUCCESS => return exchange.succeed(&token),
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
        let mut exchange = ServerExchange::new(&self.server);
        loop {
            let (_, token) = receive(stream).await?;
            let step = exchange.step(&token).and_then(|step| match step {
                ServerStep::Done { name, .. } if !self.is_authorized(&name) => {
                    Err(QuorumAuthError::Unauthorized(format!(
                        "{name} is not authorized to connect: its host is not one of the \
                         ensemble's quorum hosts"
                    )))
                }
                step => Ok(step),
            });
            match step {
                Ok(ServerStep::Challenge(challenge)) => {
                    send(stream, IN_PROGRESS, &challenge).await?;
                }
                Ok(ServerStep::Done { last, name }) => {
                    send(stream, SUCCESS, &last).await?;
                    return Ok(name);
                }
                Err(e) => {
                    // Tell the learner, as Apache does; it may be gone already.
                    let _ = send(stream, ERROR, &[]).await;
                    return Err(e);
                }
            }
        }
    }
}

/// The learner's side of one exchange, with the mechanism of its login.
enum LearnerExchange {
    Digest(DigestMd5Client),
    Kerberos(KerberosLearner),
}

/// A Kerberos learner's exchange: being started (see [`kerberos_start`]), or started.
enum KerberosLearner {
    Starting(JoinHandle<Result<(GssapiClient, Vec<u8>), QuorumAuthError>>),
    Running(GssapiClient),
}

/// Starts a Kerberos learner's exchange with `service`: its credentials and the first token, which
/// may take exchanges with the KDC (initial tickets, a service ticket), on a thread that may
/// block. Once started it runs to the end even when the connection is given up meanwhile, so
/// that the tickets it fetched are in the learner's cache for the next connection.
fn kerberos_start(login: &KerberosInitiator, service: String) -> KerberosLearner {
    let login = login.clone();
    KerberosLearner::Starting(tokio::task::spawn_blocking(move || {
        let mut client = GssapiClient::new(login.credentials()?, &service)?;
        let initial = client.initial()?;
        Ok((client, initial))
    }))
}

impl LearnerExchange {
    /// The first token.
    async fn initial(&mut self) -> Result<Vec<u8>, QuorumAuthError> {
        let LearnerExchange::Kerberos(KerberosLearner::Starting(start)) = self else {
            return Ok(Vec::new());
        };
        let (client, initial) = start.await.map_err(io::Error::other)??;
        *self = LearnerExchange::Kerberos(KerberosLearner::Running(client));
        Ok(initial)
    }

    /// The answer to a token of the server.
    fn respond(&mut self, token: &[u8]) -> Result<Vec<u8>, QuorumAuthError> {
        match self {
            LearnerExchange::Digest(client) => Ok(client.respond(token)?),
            LearnerExchange::Kerberos(KerberosLearner::Running(client)) => {
                Ok(client.respond(token)?)
            }
            LearnerExchange::Kerberos(KerberosLearner::Starting(_)) => Err(
                QuorumAuthError::Protocol("a token before the first one was sent".into()),
            ),
        }
    }

    /// Checks the server's success and its last token.
    fn succeed(&mut self, token: &[u8]) -> Result<(), QuorumAuthError> {
        match self {
            LearnerExchange::Digest(client) => Ok(client.verify_server(token)?),
            LearnerExchange::Kerberos(KerberosLearner::Running(client))
                if client.is_complete() && token.is_empty() =>
            {
                Ok(())
            }
            LearnerExchange::Kerberos(_) => Err(QuorumAuthError::EarlySuccess),
        }
    }
}

/// What one learner token leads to on the server's side.
enum ServerStep {
    /// The token to send back; more learner tokens follow.
    Challenge(Vec<u8>),
    /// The learner authenticated as `name`; `last` goes with the success.
    Done { last: Vec<u8>, name: String },
}

/// The server's side of one exchange, with the mechanism of its login.
enum ServerExchange<'a> {
    Digest(
        DigestMd5Server,
        &'a std::collections::BTreeMap<String, String>,
    ),
    Kerberos(GssapiServer, &'a KerberosLogin),
}

impl<'a> ServerExchange<'a> {
    fn new(login: &'a SaslLogin) -> ServerExchange<'a> {
        match login {
            SaslLogin::Digest(users) => {
                ServerExchange::Digest(DigestMd5Server::for_service(QUORUM), users)
            }
            SaslLogin::Kerberos(login) => ServerExchange::Kerberos(GssapiServer::default(), login),
        }
    }

    fn step(&mut self, token: &[u8]) -> Result<ServerStep, QuorumAuthError> {
        match self {
            ServerExchange::Digest(server, users) => {
                let password = |user: &str| users.get(user).cloned();
                Ok(match server.step(token, &password)? {
                    Step::Challenge(challenge) => ServerStep::Challenge(challenge),
                    Step::Done(rspauth, who) => ServerStep::Done {
                        last: rspauth,
                        name: who.username,
                    },
                })
            }
            ServerExchange::Kerberos(server, login) => Ok(match server.step(login, token)? {
                GssapiStep::Challenge(challenge) => ServerStep::Challenge(challenge),
                // Apache authorizes a learner whose authorization id is its principal (the
                // default when it asks for none).
                GssapiStep::Done { principal, authzid } => match authzid {
                    Some(other) if other != principal => {
                        return Err(QuorumAuthError::Unauthorized(format!(
                            "{principal} asks to act as {other}"
                        )));
                    }
                    _ => ServerStep::Done {
                        last: Vec::new(),
                        name: principal,
                    },
                },
            }),
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
