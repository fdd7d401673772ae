//! TLS between members (Apache's `sslQuorum` and the `ssl.quorum.*` properties): mutual TLS on the
//! quorum port. Each side presents the certificate of its quorum key store and checks the other's
//! against the quorum trust store (the accepting side as `ssl.quorum.clientAuth` says, by default
//! requiring one); the connecting side also checks the name it reached the other member by when
//! `ssl.quorum.hostnameVerification` is on (the default).
//!
//! With `portUnification` the quorum port takes plain-text members too, so that an ensemble can be
//! switched to TLS (or back) one member at a time; `sslQuorum` alone decides how this member
//! connects. With `sslQuorumReloadCertFiles` new connections use the stores as they are on disk.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use super::TlsError;
use super::client_config::client_config;
use super::reload::Reloading;
use super::server_config::server_config;
use super::settings::{QUORUM_PREFIX, TlsSettings};
use crate::config::QuorumTlsSwitches;

/// Longest time a TLS handshake with another member may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Both sides of a member's quorum TLS, built from the same stores.
struct QuorumConfigs {
    accepting: Arc<ServerConfig>,
    connecting: Arc<ClientConfig>,
}

fn quorum_configs(settings: &TlsSettings) -> Result<QuorumConfigs, TlsError> {
    Ok(QuorumConfigs {
        accepting: Arc::new(server_config(settings)?),
        connecting: Arc::new(client_config(settings)?),
    })
}

/// A member's TLS on the quorum port.
pub struct QuorumTls {
    configs: Reloading<QuorumConfigs>,
    connect_securely: bool,
    accept_plain: bool,
}

impl std::fmt::Debug for QuorumTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuorumTls")
            .field("connect_securely", &self.connect_securely)
            .field("accept_plain", &self.accept_plain)
            .finish_non_exhaustive()
    }
}

impl QuorumTls {
    /// The quorum TLS of `switches` with the `zookeeper.ssl.quorum.*` settings of `properties`, or
    /// `None` when neither `sslQuorum` nor `portUnification` asks for it. An error when the settings
    /// or stores do not make a configuration.
    pub fn new(
        properties: &[(String, String)],
        switches: QuorumTlsSwitches,
    ) -> Result<Option<QuorumTls>, TlsError> {
        if !switches.enabled() {
            return Ok(None);
        }
        let settings = TlsSettings::from_properties(properties, QUORUM_PREFIX)?;
        let configs = Reloading::build(settings, quorum_configs, switches.reload_cert_files)?;
        Ok(Some(QuorumTls {
            configs,
            connect_securely: switches.ssl_quorum,
            accept_plain: switches.port_unification,
        }))
    }

    /// Whether this member connects to others over TLS (`sslQuorum`).
    pub fn connects_securely(&self) -> bool {
        self.connect_securely
    }

    /// Whether the quorum port also takes plain-text members (`portUnification`).
    pub fn accepts_plain(&self) -> bool {
        self.accept_plain
    }

    /// The TLS handshake with the member reached at `host` over `tcp`.
    pub async fn connect(
        &self,
        tcp: TcpStream,
        host: &str,
    ) -> io::Result<client::TlsStream<TcpStream>> {
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let connector = TlsConnector::from(self.configs.get().connecting.clone());
        within_handshake_time(connector.connect(name, tcp)).await
    }

    /// The TLS handshake with a member that connected over `tcp`.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<server::TlsStream<TcpStream>> {
        let acceptor = TlsAcceptor::from(self.configs.get().accepting.clone());
        within_handshake_time(acceptor.accept(tcp)).await
    }
}

async fn within_handshake_time<T>(handshake: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no TLS handshake in time",
            ))
        })
}
