//! How the operator reaches a member's client port: in plain text, or over TLS when the ensemble has no plain
//! client port. Over TLS the operator checks the member's certificate against the ensemble's authority and the
//! member's DNS name (it connects to the pod's address, so it names the host it expects), and presents the
//! members' certificate as its own, so `ssl.clientAuth=need` admits it.
//!
//! The ZooKeeper client crate speaks plain TCP only here (its TLS feature brings a second crypto library), so a
//! session goes through a [`Tunnel`]: a listener on the loopback interface of the operator's pod whose
//! connections are carried over TLS to one member.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tracing::debug;

use super::ZkError;

/// A stream to a member's client port, plain or TLS.
pub trait MemberStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> MemberStream for T {}

/// A member's client port: the socket address to connect to and the DNS name its certificate must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `ip:port` of the member's pod.
    pub address: String,
    /// The member's stable DNS name.
    pub host: String,
}

/// How client-port connections are made.
#[derive(Clone, Default)]
pub enum Transport {
    /// Plain TCP.
    #[default]
    Plain,
    /// TLS with the ensemble's authority and the members' certificate.
    Tls(Arc<TlsConnector>),
}

impl Transport {
    /// A TLS transport trusting `ca_pem` and presenting `cert_pem` with `key_pem`.
    pub fn tls(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Transport, ZkError> {
        let invalid = |what: &str, error: &dyn std::fmt::Display| {
            ZkError::TlsSetup(format!("{what}: {error}"))
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(cert.map_err(|e| invalid("authority certificate", &e))?)
                .map_err(|e| invalid("authority certificate", &e))?;
        }
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("certificate", &e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| invalid("private key", &e))?;
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| invalid("protocol versions", &e))?
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)
                .map_err(|e| invalid("client certificate", &e))?;
        Ok(Transport::Tls(Arc::new(TlsConnector::from(Arc::new(
            config,
        )))))
    }

    /// Connects to `endpoint`.
    pub async fn connect(&self, endpoint: &Endpoint) -> std::io::Result<Box<dyn MemberStream>> {
        let socket = TcpStream::connect(&endpoint.address).await?;
        match self {
            Transport::Plain => Ok(Box::new(socket)),
            Transport::Tls(connector) => {
                let name = ServerName::try_from(endpoint.host.clone())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                Ok(Box::new(connector.connect(name, socket).await?))
            }
        }
    }

    /// Addresses a ZooKeeper session can use to reach `endpoints`: theirs in plain text, else one tunnel each,
    /// which the caller keeps while the session lives.
    pub async fn session_addresses(
        &self,
        endpoints: &[Endpoint],
    ) -> Result<(Vec<String>, Vec<Tunnel>), ZkError> {
        if matches!(self, Transport::Plain) {
            return Ok((
                endpoints.iter().map(|e| e.address.clone()).collect(),
                Vec::new(),
            ));
        }
        let mut tunnels = Vec::new();
        for endpoint in endpoints {
            tunnels.push(Tunnel::open(self.clone(), endpoint.clone()).await?);
        }
        Ok((
            tunnels.iter().map(|t| t.local.to_string()).collect(),
            tunnels,
        ))
    }
}

/// A loopback listener whose connections are carried to one member by a transport; closed when dropped.
pub struct Tunnel {
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl Tunnel {
    async fn open(transport: Transport, endpoint: Endpoint) -> Result<Tunnel, ZkError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let local = listener.local_addr()?;
        let acceptor = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (transport, endpoint) = (transport.clone(), endpoint.clone());
                // Each carried connection ends when either side closes it.
                tokio::spawn(async move {
                    match transport.connect(&endpoint).await {
                        Ok(mut outbound) => {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                        Err(error) => {
                            debug!(member = %endpoint.host, %error, "TLS connection failed")
                        }
                    }
                });
            }
        });
        Ok(Tunnel { local, acceptor })
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}
