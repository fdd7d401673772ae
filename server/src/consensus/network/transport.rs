//! How peer connections are opened and accepted: plain TCP, or mutual TLS when `sslQuorum` (and
//! the `ssl.quorum.*` stores) ask for it (see `tls::QuorumTls`). With `portUnification` the
//! accepting side takes both, told apart by the first byte: a TLS handshake record starts with
//! 0x16, which as the first byte of a plain frame's length would announce a frame of hundreds of
//! megabytes. Then, with quorum SASL (`quorum.auth.*`, see `sasl::quorum`), the opening member
//! authenticates to the accepting one, inside TLS when the members speak TLS.
//!
//! A member whose handshake fails (a certificate from another authority, none at all, a plain-text
//! member on a TLS-only port, wrong quorum SASL credentials or none where they are required) is
//! refused: its connection is closed before a request is read, so it can neither join, nor vote,
//! nor replicate. Both sides log the failed handshake with the peer and the reason, at most once
//! per [`REFUSAL_LOG_EVERY`] for the same peer and reason, since such a member keeps trying.
//!
//! A member whose host does not resolve is dialed at the address its join request came from, if
//! one came (`observed`).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::client::CallError;
use super::observed::{JoinedFrom, Reach};
use crate::sasl::QuorumSasl;
use crate::sasl::quorum::Admission;
use crate::tls::QuorumTls;

/// How long opening a TCP connection to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The first byte of a TLS record carrying a handshake message.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// How often the same refusal is logged as a warning at most.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// What a refused TLS handshake usually means.
const TLS_HINT: &str = "a member without a certificate of the quorum trust store, or not speaking \
                        TLS, cannot join or vote";

/// What a refused quorum SASL exchange usually means.
const SASL_HINT: &str = "a member without the quorum SASL credentials (JAAS sections of \
                         quorum.auth.learner/server.saslLoginContext) cannot join or vote";

/// The host of the quorum address `addr` (`host:port`).
fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(host, _)| host)
}

/// A byte stream to or from a peer, plain or TLS.
pub(crate) trait PeerIo: AsyncRead + AsyncWrite + Unpin + Send + Sync {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> PeerIo for T {}

/// A connection to or from a peer.
pub(crate) type PeerStream = Box<dyn PeerIo>;

/// Opens and accepts peer connections as this member's quorum security says.
#[derive(Clone, Default)]
pub(crate) struct Transport {
    tls: Option<Arc<QuorumTls>>,
    sasl: Option<Arc<QuorumSasl>>,
    refusals: Arc<Mutex<HashMap<(String, String), Instant>>>,
    joined_from: Arc<JoinedFrom>,
    reach: Arc<Reach>,
}

impl Transport {
    /// Plain TCP without `tls`; no authentication without `sasl`.
    pub(crate) fn new(tls: Option<Arc<QuorumTls>>, sasl: Option<Arc<QuorumSasl>>) -> Transport {
        Transport {
            tls,
            sasl,
            refusals: Arc::default(),
            joined_from: Arc::default(),
            reach: Arc::default(),
        }
    }

    /// Whether this member's latest attempt to connect to member `id` failed.
    pub(crate) fn unreachable(&self, id: u64) -> bool {
        self.reach.failed(id)
    }

    /// Records that member `id` asked to join from `ip`: it is dialed there while its host does
    /// not resolve.
    pub(crate) fn note_join(&self, id: u64, ip: IpAddr) {
        self.joined_from.note(id, ip);
    }

    /// Opens a connection to member `target` at its quorum address `addr` (or, while its host does
    /// not resolve, at the address it joined from), with the TLS handshake when this member
    /// connects securely. A refused handshake makes the member unreachable. The outcome is noted
    /// (see [`Transport::unreachable`]).
    pub(crate) async fn connect(
        &self,
        target: u64,
        addr: Option<&str>,
    ) -> Result<PeerStream, CallError> {
        let connected = self.open(target, addr).await;
        self.reach.note(target, connected.is_ok());
        connected
    }

    /// [`Transport::connect`] without noting the outcome.
    async fn open(&self, target: u64, addr: Option<&str>) -> Result<PeerStream, CallError> {
        let unreachable = |source| CallError::Unreachable { target, source };
        let addr = addr.ok_or_else(|| {
            unreachable(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no quorum address in the server spec",
            ))
        })?;
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, self.open_tcp(target, addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("connecting to {addr}")))
            .and_then(|r| r)
            .map_err(unreachable)?;
        tcp.set_nodelay(true)
            .map_err(|source| CallError::Network { target, source })?;
        let mut stream: PeerStream = match &self.tls {
            Some(tls) if tls.connects_securely() => match tls.connect(tcp, host_of(addr)).await {
                Ok(stream) => Box::new(stream),
                Err(e) => {
                    let what = "cannot connect to a member: TLS handshake failed";
                    self.log_refusal(addr.to_string(), e.to_string(), what, TLS_HINT);
                    return Err(unreachable(io::Error::new(
                        e.kind(),
                        format!("TLS handshake with {addr} failed: {e}"),
                    )));
                }
            },
            _ => Box::new(tcp),
        };
        if let Some(sasl) = &self.sasl
            && let Err(e) = sasl.authenticate(&mut stream, host_of(addr)).await
        {
            let what = "cannot connect to a member: quorum SASL authentication failed";
            self.log_refusal(addr.to_string(), e.to_string(), what, SASL_HINT);
            return Err(unreachable(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("quorum SASL authentication with {addr} failed: {e}"),
            )));
        }
        Ok(stream)
    }

    /// A TCP connection to `addr`, or to where member `target` joined from when the host of `addr`
    /// does not resolve.
    async fn open_tcp(&self, target: u64, addr: &str) -> io::Result<TcpStream> {
        let resolved = match tokio::net::lookup_host(addr).await {
            Ok(resolved) => resolved.collect::<Vec<_>>(),
            Err(e) => match self.joined_from.fallback(target, addr) {
                Some(joined_from) => {
                    tracing::debug!(
                        member = target,
                        %addr,
                        %joined_from,
                        error = %e,
                        "the member's host does not resolve: dialing it where it joined from"
                    );
                    vec![joined_from]
                }
                None => return Err(e),
            },
        };
        TcpStream::connect(&resolved[..]).await
    }

    /// Turns a connection accepted from `remote` into a peer stream: the TLS handshake unless this
    /// member takes plain-text peers (and this one speaks plain text), then the quorum SASL
    /// exchange when it is on. `None` when refused.
    pub(crate) async fn accept(&self, tcp: TcpStream, remote: SocketAddr) -> Option<PeerStream> {
        let stream = self.accept_tls(tcp, remote).await?;
        let Some(sasl) = &self.sasl else {
            return Some(stream);
        };
        let peer = remote.ip().to_string();
        match sasl.admit(stream).await {
            Ok((stream, admission)) => {
                match admission {
                    Admission::Authenticated(user) => {
                        tracing::debug!(%remote, %user, "member authenticated (quorum SASL)");
                    }
                    Admission::NotTried => {
                        tracing::debug!(%remote, "member let in without quorum SASL");
                    }
                    Admission::Failed(reason) => self.log_refusal(
                        peer,
                        reason,
                        "a member's quorum SASL authentication failed; its connection is kept \
                         (quorum.auth.serverRequireSasl=false)",
                        "a member that requires quorum SASL gives such a connection up itself",
                    ),
                }
                Some(Box::new(stream))
            }
            Err(e) => {
                let what = "peer connection refused: quorum SASL authentication failed";
                self.log_refusal(peer, e.to_string(), what, SASL_HINT);
                None
            }
        }
    }

    /// The TLS side of [`Transport::accept`].
    async fn accept_tls(&self, tcp: TcpStream, remote: SocketAddr) -> Option<PeerStream> {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(peer = %remote, error = %e, "peer connection lost");
            return None;
        }
        let Some(tls) = &self.tls else {
            return Some(Box::new(tcp));
        };
        if tls.accepts_plain() {
            let mut first = [0u8; 1];
            match tcp.peek(&mut first).await {
                Ok(1) if first[0] == TLS_HANDSHAKE_RECORD => {}
                Ok(1) => return Some(Box::new(tcp)),
                _ => return None,
            }
        }
        match tls.accept(tcp).await {
            Ok(stream) => Some(Box::new(stream)),
            Err(e) => {
                self.log_refusal(
                    remote.ip().to_string(),
                    e.to_string(),
                    "peer connection refused: TLS handshake failed",
                    TLS_HINT,
                );
                None
            }
        }
    }

    /// Logs a failed handshake with `peer` for `reason` as a warning (with what it usually means,
    /// `hint`), or at debug level when the same was logged within [`REFUSAL_LOG_EVERY`].
    fn log_refusal(&self, peer: String, reason: String, what: &'static str, hint: &'static str) {
        let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        refusals.retain(|_, at| now.duration_since(*at) < REFUSAL_LOG_EVERY);
        let key = (peer, reason);
        if refusals.contains_key(&key) {
            tracing::debug!(peer = %key.0, reason = %key.1, what);
            return;
        }
        tracing::warn!(peer = %key.0, reason = %key.1, "{what} ({hint})");
        refusals.insert(key, now);
    }
}
