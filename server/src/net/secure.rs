//! The TLS side of the client listener: the handshake on `secureClientPort` (and on `clientPort`
//! with `client.portUnification`, where a first byte of 0x16 — a TLS handshake record — means TLS),
//! and the identities a verified client certificate brings (Apache's `X509AuthenticationProvider`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};
use zk_proto::Id;

use super::stream::ClientStream;
use crate::acl;
use crate::tls::ReloadingServerConfig;

/// The first byte of a TLS record carrying a handshake message.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// How a listener's connections start.
#[derive(Clone)]
pub enum ListenerMode {
    /// Plain TCP (`clientPort`).
    Plain,
    /// TLS only (`secureClientPort`).
    Secure(Arc<SecureSide>),
    /// Either, told apart by the first byte (`clientPort` with `client.portUnification=true`).
    Unified(Arc<SecureSide>),
}

/// What TLS connections need: the configuration in force and the x509 super user.
pub struct SecureSide {
    /// The rustls configuration, reloaded when the stores change.
    pub config: ReloadingServerConfig,
    /// `zookeeper.X509AuthenticationProvider.superUser`.
    pub super_user: Option<String>,
    /// Longest time a handshake may take.
    pub handshake_timeout: Duration,
}

/// Turns an accepted socket into a client stream: the TLS handshake where the mode asks for it.
/// Returns the stream and the identities of a verified client certificate, or `None` when the
/// connection is refused (logged).
pub async fn open(
    mode: &ListenerMode,
    socket: TcpStream,
    remote: SocketAddr,
) -> Option<(ClientStream, Vec<Id>)> {
    let side = match mode {
        ListenerMode::Plain => return Some((ClientStream::Plain(socket), Vec::new())),
        ListenerMode::Secure(side) => side,
        ListenerMode::Unified(side) => {
            let mut first = [0u8; 1];
            match socket.peek(&mut first).await {
                Ok(1) if first[0] == TLS_HANDSHAKE_RECORD => side,
                Ok(_) => return Some((ClientStream::Plain(socket), Vec::new())),
                Err(_) => return None,
            }
        }
    };
    let acceptor = TlsAcceptor::from(side.config.get());
    let stream = match tokio::time::timeout(side.handshake_timeout, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            warn!(client = %remote, error = %e, "TLS handshake refused; closing");
            return None;
        }
        Err(_) => {
            warn!(client = %remote, "no TLS handshake in time; closing");
            return None;
        }
    };
    let ids = match stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    {
        Some(leaf) => match crate::tls::subject_name(leaf.as_ref()) {
            Some(name) => acl::x509_ids(name, side.super_user.as_deref()),
            None => {
                warn!(client = %remote, "client certificate subject unreadable; closing");
                return None;
            }
        },
        None => Vec::new(),
    };
    debug!(client = %remote, ids = ?ids, "TLS handshake done");
    Some((ClientStream::Tls(Box::new(stream)), ids))
}
