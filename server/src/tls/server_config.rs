//! From [`TlsSettings`] to a `rustls::ServerConfig`: the key store's certificate, the protocols of
//! `enabledProtocols`/`protocol`, the cipher suites of `ciphersuites` (Java names, which are the IANA
//! names rustls uses) and `clientAuth` with the trust store. The parts are shared with the
//! connecting side between members (`client_config`).

use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::CertificateDer;
use tracing::warn;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::TlsError;
use super::settings::{ClientAuth, TlsSettings};
use super::store::{Identity, load_identity, load_trust};
use super::verifier::ClientVerifier;

/// The TLS 1.2 suites of Apache's default list (Java 9+) that rustls implements.
const DEFAULT_TLS12_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
];

/// The protocol versions named, in rustls' terms (SSLv3, TLSv1 and TLSv1.1 are not offered).
pub(super) fn protocol_versions(
    settings: &TlsSettings,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let mut versions = Vec::new();
    for name in &settings.protocols {
        match name.as_str() {
            "TLSv1.3" => versions.push(&rustls::version::TLS13),
            "TLSv1.2" | "TLS" => versions.push(&rustls::version::TLS12),
            other => warn!(protocol = other, "TLS protocol not supported; ignored"),
        }
    }
    if versions.is_empty() {
        return Err(TlsError::Setting(format!(
            "none of the protocols {:?} is supported (TLSv1.2, TLSv1.3)",
            settings.protocols
        )));
    }
    Ok(versions)
}

/// ring's provider, its cipher suites narrowed to those `ciphersuites` names (by default Apache's
/// list); TLS 1.3 suites stay all enabled unless some are named.
pub(super) fn provider(settings: &TlsSettings) -> Result<CryptoProvider, TlsError> {
    let mut provider = rustls::crypto::ring::default_provider();
    let named = |suite: &rustls::SupportedCipherSuite| {
        let name = suite.suite().as_str().unwrap_or_default();
        settings.cipher_suites.iter().any(|n| n == name)
    };
    let any_tls13_named = provider
        .cipher_suites
        .iter()
        .any(|s| s.tls13().is_some() && named(s));
    provider.cipher_suites.retain(|suite| {
        let name = suite.suite().as_str().unwrap_or_default();
        match (suite.tls13().is_some(), settings.cipher_suites.is_empty()) {
            (true, true) => true,
            (true, false) => !any_tls13_named || named(suite),
            (false, true) => DEFAULT_TLS12_SUITES.contains(&name),
            (false, false) => named(suite),
        }
    });
    if provider.cipher_suites.is_empty() {
        return Err(TlsError::Setting(format!(
            "none of the cipher suites {:?} is supported",
            settings.cipher_suites
        )));
    }
    Ok(provider)
}

/// Builds the server side of `settings`: its key store is required, its trust store too unless
/// `clientAuth=none`.
pub fn server_config(settings: &TlsSettings) -> Result<ServerConfig, TlsError> {
    let identity = own_identity(settings)?;
    let provider = Arc::new(provider(settings)?);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(settings)?)?;
    let builder = match settings.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let (store, roots) = trusted(settings)?;
            let webpki = WebPkiClientVerifier::builder_with_provider(store, provider.clone());
            let webpki = match auth {
                ClientAuth::Want => webpki.allow_unauthenticated(),
                _ => webpki,
            }
            .build()
            .map_err(|e| TlsError::Setting(format!("client certificate verifier: {e}")))?;
            let algorithms = provider.signature_verification_algorithms;
            builder
                .with_client_cert_verifier(Arc::new(ClientVerifier::new(webpki, roots, algorithms)))
        }
    };
    Ok(
        builder.with_cert_resolver(Arc::new(FixedCertificate(Arc::new(certified_key(
            &provider, identity,
        )?)))),
    )
}

/// The key store's certificate chain and key (a key store is required).
pub(super) fn own_identity(settings: &TlsSettings) -> Result<Identity, TlsError> {
    let key_store = settings
        .key_store
        .as_ref()
        .ok_or_else(|| TlsError::Setting("keyStore.location is not set".into()))?;
    load_identity(key_store)
}

/// The trust store's certificates, also as a root store (which keeps those webpki can use).
pub(super) fn trusted(
    settings: &TlsSettings,
) -> Result<(Arc<RootCertStore>, Vec<CertificateDer<'static>>), TlsError> {
    let trust_store = settings
        .trust_store
        .as_ref()
        .ok_or_else(|| TlsError::Setting("trustStore.location is not set".into()))?;
    let roots = load_trust(trust_store)?;
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(roots.iter().cloned());
    if added == 0 {
        return Err(TlsError::Store(format!(
            "{}: no usable certificate",
            trust_store.location.display()
        )));
    }
    Ok((Arc::new(store), roots))
}

/// The key store's certificate and signing key. Unlike rustls' own single-certificate set-up this
/// accepts X.509 version 1 certificates (as Java does), comparing the key with the certificate's
/// public key itself.
pub(super) fn certified_key(
    provider: &CryptoProvider,
    identity: Identity,
) -> Result<CertifiedKey, TlsError> {
    let key = provider.key_provider.load_private_key(identity.key)?;
    let (_, leaf) = X509Certificate::from_der(identity.chain[0].as_ref())
        .map_err(|e| TlsError::Store(format!("key store certificate: {e}")))?;
    if let Some(public) = key.public_key()
        && public.as_ref() != leaf.public_key().raw
    {
        return Err(TlsError::Store(
            "the key store's private key does not belong to its certificate".into(),
        ));
    }
    Ok(CertifiedKey::new(identity.chain, key))
}

/// Always the same certificate, whatever the peer asks for.
#[derive(Debug)]
pub(super) struct FixedCertificate(pub(super) Arc<CertifiedKey>);

impl ResolvesClientCert for FixedCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl ResolvesServerCert for FixedCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}
