//! Certificate checks: webpki's, and for X.509 version 1 certificates (which webpki refuses but
//! Java accepts, and which kazoo's test harness issues) a check of the same facts with x509-parser:
//! each certificate in its validity period and signed by the next, up to a trusted certificate.
//! Handshake signatures of a version 1 certificate are checked against its public key.
//!
//! [`ClientVerifier`] checks a client's certificate (client TLS, and a member connecting over the
//! quorum port); [`ServerVerifier`] a member's certificate as the member connecting to it sees it.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, RootCertStore,
    SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate, X509Version};

/// Longest chain followed for a version 1 certificate.
const MAX_CHAIN: usize = 6;

/// webpki's client certificate verifier, extended to version 1 certificates.
#[derive(Debug)]
pub struct ClientVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
    roots: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientVerifier {
    /// Wraps `webpki` (built from the same `roots`).
    pub fn new(
        webpki: Arc<dyn ClientCertVerifier>,
        roots: Vec<CertificateDer<'static>>,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> ClientVerifier {
        ClientVerifier {
            webpki,
            roots,
            algorithms,
        }
    }
}

/// The certificate parsed, if it is a version 1 certificate.
fn version_one<'a>(cert: &'a CertificateDer<'_>) -> Option<X509Certificate<'a>> {
    parse(cert).filter(|parsed| parsed.version() == X509Version::V1)
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.webpki.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.webpki.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        match version_one(end_entity) {
            None => self
                .webpki
                .verify_client_cert(end_entity, intermediates, now),
            Some(leaf) => {
                verify_chain(&leaf, intermediates, &self.roots, now)?;
                Ok(ClientCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A member's certificate as seen by the member connecting to it: webpki's server certificate check
/// (or the version 1 chain check) against the quorum trust store, and, with hostname verification,
/// the name the member was reached by (a subject alternative name, or for a version 1 certificate
/// its common name).
#[derive(Debug)]
pub struct ServerVerifier {
    roots: Arc<RootCertStore>,
    root_certificates: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
    check_name: bool,
}

impl ServerVerifier {
    /// A verifier trusting `root_certificates` (also in `roots`); `check_name` for hostname
    /// verification.
    pub fn new(
        roots: Arc<RootCertStore>,
        root_certificates: Vec<CertificateDer<'static>>,
        algorithms: WebPkiSupportedAlgorithms,
        check_name: bool,
    ) -> ServerVerifier {
        ServerVerifier {
            roots,
            root_certificates,
            algorithms,
            check_name,
        }
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match version_one(end_entity) {
            Some(leaf) => {
                verify_chain(&leaf, intermediates, &self.root_certificates, now)?;
                let named = |name: &str| {
                    leaf.subject()
                        .iter_common_name()
                        .any(|cn| cn.as_str().is_ok_and(|cn| cn.eq_ignore_ascii_case(name)))
                };
                if self.check_name && !named(&server_name.to_str()) {
                    return Err(Error::InvalidCertificate(CertificateError::NotValidForName));
                }
            }
            None => {
                let cert = ParsedCertificate::try_from(end_entity)?;
                verify_server_cert_signed_by_trust_anchor(
                    &cert,
                    &self.roots,
                    intermediates,
                    now,
                    self.algorithms.all,
                )?;
                if self.check_name {
                    verify_server_name(&cert, server_name)?;
                }
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TLS 1.2 handshake signature by the key of `cert`.
fn tls12_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    let Some(spki) = version_one_key(cert) else {
        return rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms);
    };
    // Any algorithm the scheme maps to.
    let key = webpki::RawPublicKeyEntity::try_from(&spki)
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let candidates = algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, algs)| *algs)
        .unwrap_or_default();
    candidates
        .iter()
        .find(|alg| {
            key.verify_signature(**alg, message, dss.signature())
                .is_ok()
        })
        .map(|_| HandshakeSignatureValid::assertion())
        .ok_or(Error::InvalidCertificate(CertificateError::BadSignature))
}

/// A TLS 1.3 handshake signature by the key of `cert`.
fn tls13_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    match version_one_key(cert) {
        None => rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms),
        Some(spki) => {
            rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, algorithms)
        }
    }
}

/// The public key of a version 1 certificate (the others go to webpki).
fn version_one_key(cert: &CertificateDer<'_>) -> Option<SubjectPublicKeyInfoDer<'static>> {
    version_one(cert).map(|parsed| SubjectPublicKeyInfoDer::from(parsed.public_key().raw.to_vec()))
}

/// Follows `leaf` through `intermediates` to a certificate of `roots`, checking validity periods,
/// signatures and that every issuer is an authority (or a version 1 trusted certificate).
fn verify_chain(
    leaf: &X509Certificate<'_>,
    intermediates: &[CertificateDer<'_>],
    roots: &[CertificateDer<'static>],
    now: UnixTime,
) -> Result<(), Error> {
    let time = i64::try_from(now.as_secs())
        .ok()
        .and_then(|secs| ASN1Time::from_timestamp(secs).ok())
        .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let trusted: Vec<X509Certificate<'_>> = roots.iter().filter_map(|d| parse(d)).collect();
    let pool: Vec<X509Certificate<'_>> = intermediates.iter().filter_map(|d| parse(d)).collect();
    let mut current = leaf.clone();
    for _ in 0..MAX_CHAIN {
        if !current.validity().is_valid_at(time) {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        let signed_by = |issuer: &&X509Certificate<'_>| {
            issuer.subject() == current.issuer()
                && (issuer.version() == X509Version::V1 || issuer.is_ca())
                && current.verify_signature(Some(issuer.public_key())).is_ok()
        };
        if let Some(root) = trusted.iter().find(signed_by) {
            return match root.validity().is_valid_at(time) {
                true => Ok(()),
                false => Err(Error::InvalidCertificate(CertificateError::Expired)),
            };
        }
        match pool.iter().find(signed_by) {
            Some(next) => current = next.clone(),
            None => break,
        }
    }
    Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> Option<X509Certificate<'a>> {
    X509Certificate::from_der(der.as_ref()).ok().map(|(_, c)| c)
}
