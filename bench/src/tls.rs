//! TLS for the rows' sessions (`--tls`): an authority, a server certificate and a client certificate made
//! for the run (nothing is kept), the `zoo.cfg` settings with which both flavours serve TLS on
//! `secureClientPort` from them, and the client side the rows' sessions connect with.
//!
//! Both flavours read the same settings: Apache's Netty connection factory (Apache serves TLS only through
//! it), PEM key and trust stores, and Apache's default `ssl.clientAuth=need`, so every session presents the
//! client certificate. The plain `clientPort` stays open for the harness's own set-up and probes.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsConnector;

use crate::session::Endpoint;

/// A member's `secureClientPort` is this far above its `clientPort`.
pub const SECURE_PORT_OFFSET: u16 = 300;

/// Why the run's TLS material could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused a certificate's parameters.
    #[error("making a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused what was made.
    #[error("client TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// A PEM text did not parse back.
    #[error("reading back a PEM text: {0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The run's certificates, written as PEM files into a directory, and the client side made from them.
#[derive(Clone)]
pub struct RunTls {
    key_store: PathBuf,
    trust_store: PathBuf,
    connector: TlsConnector,
}

impl fmt::Debug for RunTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunTls")
            .field("key_store", &self.key_store)
            .field("trust_store", &self.trust_store)
            .finish_non_exhaustive()
    }
}

impl RunTls {
    /// Makes an authority, a server certificate for `127.0.0.1` and `localhost` and a client certificate,
    /// writes the server's key store (key and certificate in one PEM file) and the trust store (the
    /// authority) into `dir`, and the client configuration trusting that authority.
    pub fn create(dir: &Path) -> Result<Self, TlsError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "zk-bench CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate()?;
        let mut server_params = CertificateParams::new(vec!["localhost".to_owned()])?;
        server_params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = server_params.signed_by(&server_key, &issuer)?;

        let client_key = KeyPair::generate()?;
        let mut client_params = CertificateParams::new(Vec::new())?;
        client_params
            .distinguished_name
            .push(DnType::CommonName, "zk-bench");
        let client_cert = client_params.signed_by(&client_key, &issuer)?;

        let key_store = dir.join("server.pem");
        let trust_store = dir.join("ca.pem");
        write(
            &key_store,
            &format!("{}{}", server_key.serialize_pem(), server_cert.pem()),
        )?;
        write(&trust_store, &ca_cert.pem())?;

        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone())?;
        let chain = vec![CertificateDer::from_pem_slice(
            client_cert.pem().as_bytes(),
        )?];
        let key = PrivateKeyDer::from_pem_slice(client_key.serialize_pem().as_bytes())?;
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)?;
        Ok(RunTls {
            key_store,
            trust_store,
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// The `zoo.cfg` lines (without `secureClientPort`, which is each member's own) that make a member
    /// serve TLS with the run's certificates.
    pub fn server_settings(&self) -> String {
        format!(
            "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
             ssl.keyStore.location={}\nssl.keyStore.type=PEM\n\
             ssl.trustStore.location={}\nssl.trustStore.type=PEM\n",
            self.key_store.display(),
            self.trust_store.display()
        )
    }

    /// The TLS endpoint of the member whose plain client address is `plain`.
    pub fn endpoint(&self, plain: SocketAddr) -> Endpoint {
        let mut addr = plain;
        addr.set_port(plain.port() + SECURE_PORT_OFFSET);
        Endpoint {
            addr,
            tls: Some(self.connector.clone()),
        }
    }
}

/// Writes `text` to `path`.
fn write(path: &Path, text: &str) -> Result<(), TlsError> {
    std::fs::write(path, text).map_err(|source| TlsError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_written_stores_and_endpoints_use_the_secure_port() {
        let dir = tempfile::tempdir().unwrap();
        let tls = RunTls::create(dir.path()).unwrap();
        let settings = tls.server_settings();
        let store = std::fs::read_to_string(dir.path().join("server.pem")).unwrap();
        assert!(store.contains("PRIVATE KEY") && store.contains("BEGIN CERTIFICATE"));
        assert!(settings.contains(&format!(
            "ssl.keyStore.location={}\n",
            dir.path().join("server.pem").display()
        )));
        assert!(settings.contains("ssl.trustStore.type=PEM\n"));
        let endpoint = tls.endpoint("127.0.0.1:22181".parse().unwrap());
        assert_eq!(format!("{endpoint:?}"), "tls://127.0.0.1:22481");
    }
}
