//! From [`TlsSettings`] to a `rustls::ClientConfig` for a member connecting to another: its own key
//! store's certificate presented to the other member (mutual TLS), the other's certificate checked
//! against the trust store and, with `hostnameVerification`, against the name it was reached by.
//! Protocols and cipher suites as on the accepting side.

use std::sync::Arc;

use rustls::ClientConfig;

use super::TlsError;
use super::server_config::{
    FixedCertificate, certified_key, own_identity, protocol_versions, provider, trusted,
};
use super::settings::TlsSettings;
use super::verifier::ServerVerifier;

/// Builds the connecting side of `settings`: both its key store and its trust store are required.
pub fn client_config(settings: &TlsSettings) -> Result<ClientConfig, TlsError> {
    let identity = own_identity(settings)?;
    let provider = Arc::new(provider(settings)?);
    let (store, roots) = trusted(settings)?;
    let verifier = ServerVerifier::new(
        store,
        roots,
        provider.signature_verification_algorithms,
        settings.hostname_verification,
    );
    let key = Arc::new(certified_key(&provider, identity)?);
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(settings)?)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(FixedCertificate(key))))
}
