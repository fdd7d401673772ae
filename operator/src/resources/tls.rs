//! The certificates of `spec.tls`: the operator's own authority (Secret `<name>-ca`, kept for the ensemble's
//! life), the members' certificate (Secret `<name>-tls`, which the members mount) and the zoo.cfg settings that
//! point the servers at it.
//!
//! The members' Secret is always the operator's: it holds the certificate issued by the operator's authority, or
//! a copy of the user's Secret (`spec.tls.secretName`), plus `keystore.pem` — key and certificate in one file, the
//! PEM key store Apache's `ssl.keyStore.location` reads. A mounted Secret is updated in place, and zk-server
//! reloads changed store files, so a renewal or a rotation restarts no zk-server member (Apache members are
//! restarted: see `controller::tls`).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use super::meta::{
    SECURE_CLIENT_PORT, client_service_name, headless_service_name, observers_service_name,
    owned_meta, selector_labels, short_sha1,
};
use crate::types::{ServerFlavour, TlsSpec, ZkEnsemble};

/// Where members mount the members' Secret.
pub const TLS_MOUNT: &str = "/tls";
/// Key of the certificate (chain) in a TLS Secret.
pub const CERT_KEY: &str = "tls.crt";
/// Key of the private key in a TLS Secret.
pub const PRIVATE_KEY_KEY: &str = "tls.key";
/// Key of the authority's certificate in the members' Secret.
pub const CA_KEY: &str = "ca.crt";
/// Key of the PEM key store (private key, then certificate) in the members' Secret.
pub const KEY_STORE_KEY: &str = "keystore.pem";
/// Annotation of the members' Secret: start of the certificate's validity (RFC 3339).
pub const NOT_BEFORE_ANNOTATION: &str = "zookeeper.zkops.dev/not-before";
/// Annotation of the members' Secret: end of the certificate's validity (RFC 3339).
pub const NOT_AFTER_ANNOTATION: &str = "zookeeper.zkops.dev/not-after";
/// Annotation of the members' Secret: fingerprint of the names and authority the certificate was issued for.
pub const ISSUED_FOR_ANNOTATION: &str = "zookeeper.zkops.dev/issued-for";

/// Lifetime of the operator's authority.
const CA_LIFETIME: SignedDuration = SignedDuration::from_hours(10 * 365 * 24);
/// Lifetime of a member certificate the operator issues.
const MEMBER_LIFETIME: SignedDuration = SignedDuration::from_hours(90 * 24);
/// A certificate starts this long before it is issued, for clocks a little behind.
const BACKDATE: SignedDuration = SignedDuration::from_hours(1);

/// A failure to issue a certificate or to use a key.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused the parameters or the key.
    #[error("issuing a certificate: {0}")]
    Issue(#[from] rcgen::Error),
    /// A certificate or key does not make a TLS configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The TLS settings of `zk` when it asks for TLS of any kind.
pub fn tls_spec(zk: &ZkEnsemble) -> Option<&TlsSpec> {
    zk.spec.tls.as_ref().filter(|t| t.client || t.quorum)
}

/// Name of the Secret holding the operator's authority.
pub fn ca_secret_name(zk: &ZkEnsemble) -> String {
    format!("{}-ca", zk.name_any())
}

/// Name of the Secret the members mount.
pub fn member_secret_name(zk: &ZkEnsemble) -> String {
    format!("{}-tls", zk.name_any())
}

/// The names the members' certificate carries: every member through the headless Service (the host of its
/// `server.N` line) and the client Services, each in its short and qualified forms.
pub fn member_dns_names(zk: &ZkEnsemble, cluster_domain: &str) -> Vec<String> {
    let namespace = zk.namespace().unwrap_or_default();
    let qualified = |service: String| {
        vec![
            service.clone(),
            format!("{service}.{namespace}"),
            format!("{service}.{namespace}.svc"),
            format!("{service}.{namespace}.svc.{cluster_domain}"),
        ]
    };
    let headless = headless_service_name(zk);
    let mut names = vec![
        format!("*.{headless}.{namespace}.svc.{cluster_domain}"),
        format!("*.{headless}.{namespace}.svc"),
    ];
    names.extend(qualified(headless));
    names.extend(qualified(client_service_name(zk)));
    names.extend(qualified(observers_service_name(zk)));
    names
}

/// The operator's authority: a fresh key and its self-signed certificate, as a `kubernetes.io/tls` Secret
/// (the layout of a cert-manager CA issuer's Secret, so one can issue client certificates from it).
pub fn issue_ca(zk: &ZkEnsemble, now: Timestamp) -> Result<Secret, TlsError> {
    let key = KeyPair::generate()?;
    let mut params = ca_params(zk);
    set_validity(&mut params, now - BACKDATE, now + CA_LIFETIME);
    let cert = params.self_signed(&key)?;
    Ok(tls_secret(
        zk,
        ca_secret_name(zk),
        BTreeMap::from([
            (CERT_KEY, cert.pem()),
            (PRIVATE_KEY_KEY, key.serialize_pem()),
        ]),
        BTreeMap::new(),
    ))
}

/// PEM texts of a certificate, its key and the authority that vouches for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsMaterial {
    /// The certificate chain.
    pub cert: String,
    /// The private key.
    pub key: String,
    /// The authority's certificate(s).
    pub ca: String,
}

/// A member certificate for `names`, issued at `now` by the authority of `ca_cert` and `ca_key`; good for both
/// server and client use (members connect to each other).
pub fn issue_member_cert(
    zk: &ZkEnsemble,
    names: &[String],
    ca_cert: &str,
    ca_key: &str,
    now: Timestamp,
) -> Result<(TlsMaterial, Timestamp, Timestamp), TlsError> {
    let issuer = Issuer::new(ca_params(zk), KeyPair::from_pem(ca_key)?);
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("{}.{}", zk.name_any(), zk.namespace().unwrap_or_default()),
    );
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    let (not_before, not_after) = (now - BACKDATE, now + MEMBER_LIFETIME);
    set_validity(&mut params, not_before, not_after);
    let cert = params.signed_by(&key, &issuer)?;
    let material = TlsMaterial {
        cert: cert.pem(),
        key: key.serialize_pem(),
        ca: ca_cert.to_string(),
    };
    Ok((material, not_before, not_after))
}

/// Whether a certificate valid from `not_before` to `not_after` is due for renewal at `now`: when a third of
/// its lifetime or less is left.
pub fn needs_renewal(not_before: Timestamp, not_after: Timestamp, now: Timestamp) -> bool {
    let lifetime = not_after.duration_since(not_before);
    not_after.duration_since(now) <= lifetime / 3
}

/// Fingerprint of what a member certificate was issued for: its names and its authority. A change of either
/// (another cluster domain, a new authority) calls for a new certificate.
pub fn issued_for(names: &[String], ca_cert: &str) -> String {
    let names = names.join("\n");
    short_sha1([names.as_bytes(), b"\n", ca_cert.as_bytes()])
}

/// The members' Secret holding `material`, with `annotations` (validity and what it was issued for, for a
/// certificate the operator issued).
pub fn member_secret(
    zk: &ZkEnsemble,
    material: &TlsMaterial,
    annotations: BTreeMap<String, String>,
) -> Secret {
    tls_secret(
        zk,
        member_secret_name(zk),
        BTreeMap::from([
            (CERT_KEY, material.cert.clone()),
            (PRIVATE_KEY_KEY, material.key.clone()),
            (CA_KEY, material.ca.clone()),
            (KEY_STORE_KEY, key_store(material)),
        ]),
        annotations,
    )
}

/// The validity annotations of a member certificate issued now.
pub fn validity_annotations(
    not_before: Timestamp,
    not_after: Timestamp,
    issued_for: String,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NOT_BEFORE_ANNOTATION.to_string(), not_before.to_string()),
        (NOT_AFTER_ANNOTATION.to_string(), not_after.to_string()),
        (ISSUED_FOR_ANNOTATION.to_string(), issued_for),
    ])
}

/// Whether the members' Secret `existing` must be issued anew at `now` for `issued_for`: it is missing, was
/// issued for other names or another authority, has no readable validity, or is due for renewal.
pub fn needs_new_member_cert(existing: Option<&Secret>, issued_for: &str, now: Timestamp) -> bool {
    let Some(secret) = existing else {
        return true;
    };
    let annotations = secret.annotations();
    let time = |key: &str| {
        annotations
            .get(key)
            .and_then(|v| v.parse::<Timestamp>().ok())
    };
    match (
        annotations.get(ISSUED_FOR_ANNOTATION),
        time(NOT_BEFORE_ANNOTATION),
        time(NOT_AFTER_ANNOTATION),
    ) {
        (Some(issued), Some(not_before), Some(not_after)) => {
            issued != issued_for || needs_renewal(not_before, not_after, now)
        }
        _ => true,
    }
}

/// What of `material` the members of `zk` read only at start, so that a change of it must restart them: the
/// certificate and its authority for Apache members (Apache ZooKeeper 3.8.0 builds its client port's TLS
/// context once; `client.certReload` came with 3.8.1), nothing for zk-server members, which reload changed
/// store files.
pub fn read_at_start(zk: &ZkEnsemble, material: &TlsMaterial) -> Option<String> {
    match zk.spec.flavour {
        ServerFlavour::Apache => Some(format!("{}\n{}", material.cert, material.ca)),
        ServerFlavour::Native => None,
    }
}

/// Checks that the certificate of the Secret `secret` suits the members of `zk`: Apache's PEM key store reads a
/// PKCS#8 private key only (`-----BEGIN PRIVATE KEY-----`, cert-manager's `privateKey.encoding: PKCS8`).
pub fn check_key_form(
    zk: &ZkEnsemble,
    material: &TlsMaterial,
    secret: &str,
) -> Result<(), TlsError> {
    if zk.spec.flavour == ServerFlavour::Apache && !material.key.contains(PKCS8_KEY_HEADER) {
        return Err(TlsError::Config(format!(
            "the private key of Secret {secret} is not PKCS#8 ({PKCS8_KEY_HEADER}), the only form Apache \
             ZooKeeper's PEM key store reads (cert-manager: privateKey.encoding PKCS8)"
        )));
    }
    Ok(())
}

/// The first line of an unencrypted PKCS#8 private key in PEM.
const PKCS8_KEY_HEADER: &str = "-----BEGIN PRIVATE KEY-----";

/// The value of `key` in `secret`, as text.
pub fn secret_text(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| String::from_utf8_lossy(&v.0).into_owned())
}

/// Apache ZooKeeper's client connection factory that speaks TLS (its default, NIO, does not).
const NETTY_CONNECTION_FACTORY: &str = "org.apache.zookeeper.server.NettyServerCnxnFactory";

/// The zoo.cfg settings of `spec.tls`: the secure client port and the client stores with `spec.tls.client`,
/// mutual TLS between members with `spec.tls.quorum`, every store the members' Secret as mounted.
///
/// Apache members also get Netty's connection factory (Apache serves TLS clients only through it) and, between
/// members, `ssl.quorum.hostnameVerification=false`: an Apache member accepting a connection checks the
/// connecting member's certificate against the reverse DNS name of its address, and in Kubernetes a pod
/// address's PTR record names whichever Service lists the pod first (for the client Service, a name like
/// `10-244-0-5.<name>-client…` that does not resolve back), so the check would refuse members at random. The
/// members still authenticate each other by the ensemble's authority.
pub fn tls_config_lines(zk: &ZkEnsemble) -> Vec<String> {
    let Some(tls) = tls_spec(zk) else {
        return Vec::new();
    };
    let store = |prefix: &str| {
        vec![
            format!("{prefix}.keyStore.location={TLS_MOUNT}/{KEY_STORE_KEY}"),
            format!("{prefix}.keyStore.type=PEM"),
            format!("{prefix}.trustStore.location={TLS_MOUNT}/{CA_KEY}"),
            format!("{prefix}.trustStore.type=PEM"),
        ]
    };
    let apache = zk.spec.flavour == ServerFlavour::Apache;
    let mut lines = Vec::new();
    if tls.client {
        if apache {
            lines.push(format!("serverCnxnFactory={NETTY_CONNECTION_FACTORY}"));
        }
        lines.push(format!("secureClientPort={SECURE_CLIENT_PORT}"));
        lines.extend(store("ssl"));
        lines.push(format!("ssl.clientAuth={}", tls.client_auth.as_str()));
    }
    if tls.quorum {
        lines.push("sslQuorum=true".to_string());
        lines.extend(store("ssl.quorum"));
        lines.push("sslQuorumReloadCertFiles=true".to_string());
        if apache {
            lines.push("ssl.quorum.hostnameVerification=false".to_string());
        }
    }
    lines
}

/// The authority's parameters; the same for every call, so the authority's key and these sign certificates
/// whose issuer and authority key identifier match the authority's certificate.
fn ca_params(zk: &ZkEnsemble) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        format!(
            "zk-operator CA {}/{}",
            zk.namespace().unwrap_or_default(),
            zk.name_any()
        ),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn set_validity(params: &mut CertificateParams, not_before: Timestamp, not_after: Timestamp) {
    let at = |t: Timestamp| {
        time::OffsetDateTime::from_unix_timestamp(t.as_second())
            .expect("a timestamp of jiff's range is one of time's")
    };
    params.not_before = at(not_before);
    params.not_after = at(not_after);
}

/// The PEM key store: the private key, then the certificate chain.
fn key_store(material: &TlsMaterial) -> String {
    let mut text = material.key.trim_end().to_string();
    text.push('\n');
    text.push_str(material.cert.trim_end());
    text.push('\n');
    text
}

fn tls_secret(
    zk: &ZkEnsemble,
    name: String,
    data: BTreeMap<&str, String>,
    annotations: BTreeMap<String, String>,
) -> Secret {
    let mut metadata = owned_meta(zk, name, selector_labels(zk));
    if !annotations.is_empty() {
        metadata.annotations = Some(annotations);
    }
    Secret {
        metadata,
        type_: Some("kubernetes.io/tls".to_string()),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::resources::meta::member_host;
    use crate::types::ZkEnsembleSpec;
    use crate::zk::{Endpoint, Transport, mntr};

    const DOMAIN: &str = "cluster.local";

    fn demo() -> ZkEnsemble {
        let spec: ZkEnsembleSpec = serde_yaml::from_str("tls: {client: true}").unwrap();
        let mut zk = ZkEnsemble::new("demo", spec);
        zk.metadata.namespace = Some("apps".into());
        zk.metadata.uid = Some("0a1b".into());
        zk
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_names_cover_every_member_and_the_client_services() {
        let names = member_dns_names(&demo(), DOMAIN);
        for name in [
            "*.demo-headless.apps.svc.cluster.local",
            "demo-client.apps.svc.cluster.local",
            "demo-client",
            "demo-observers.apps",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
        }
        assert_ne!(
            issued_for(&names, "ca"),
            issued_for(&member_dns_names(&demo(), "example.org"), "ca"),
            "another cluster domain calls for another certificate"
        );
        assert_ne!(issued_for(&names, "ca"), issued_for(&names, "other ca"));
    }

    #[test]
    fn a_certificate_is_renewed_when_a_third_of_its_life_is_left() {
        let (from, to) = (at("2026-01-01T00:00:00Z"), at("2026-04-01T00:00:00Z"));
        // 90 days: renewed from 60 days on.
        assert!(!needs_renewal(from, to, at("2026-02-01T00:00:00Z")));
        assert!(!needs_renewal(from, to, at("2026-03-01T23:00:00Z")));
        assert!(needs_renewal(from, to, at("2026-03-02T00:00:00Z")));
        assert!(needs_renewal(from, to, at("2026-05-01T00:00:00Z")));
    }

    #[test]
    fn a_missing_unreadable_stale_or_ageing_secret_is_issued_anew() {
        let zk = demo();
        let now = at("2026-02-01T00:00:00Z");
        let material = TlsMaterial {
            cert: "c".into(),
            key: "k".into(),
            ca: "a".into(),
        };
        let secret = |from: &str, to: &str, issued: &str| {
            member_secret(
                &zk,
                &material,
                validity_annotations(at(from), at(to), issued.to_string()),
            )
        };
        let fresh = secret("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z", "names");
        assert!(!needs_new_member_cert(Some(&fresh), "names", now));
        assert!(needs_new_member_cert(Some(&fresh), "other names", now));
        assert!(needs_new_member_cert(None, "names", now));
        let ageing = secret("2025-11-01T00:00:00Z", "2026-02-20T00:00:00Z", "names");
        assert!(needs_new_member_cert(Some(&ageing), "names", now));
        let copied = member_secret(&zk, &material, BTreeMap::new());
        assert!(needs_new_member_cert(Some(&copied), "names", now));
        let store = secret_text(&copied, KEY_STORE_KEY).unwrap();
        assert_eq!(store, "k\nc\n", "key, then certificate");
    }

    #[test]
    fn a_new_certificate_restarts_apache_members_only() {
        let material = |cert: &str| TlsMaterial {
            cert: cert.into(),
            key: "k".into(),
            ca: "a".into(),
        };
        let native = demo();
        assert_eq!(read_at_start(&native, &material("c")), None);
        let mut apache = demo();
        apache.spec.flavour = ServerFlavour::Apache;
        let (first, renewed) = (
            read_at_start(&apache, &material("c")),
            read_at_start(&apache, &material("renewed c")),
        );
        assert!(first.is_some());
        assert_ne!(first, renewed, "a renewal restarts Apache members");
        let other_ca = TlsMaterial {
            ca: "other a".into(),
            ..material("c")
        };
        assert_ne!(first, read_at_start(&apache, &other_ca));
    }

    #[test]
    fn apache_members_need_a_pkcs8_key() {
        let zk = demo();
        let now = Timestamp::now();
        let ca = issue_ca(&zk, now).unwrap();
        let (issued, ..) = issue_member_cert(
            &zk,
            &member_dns_names(&zk, DOMAIN),
            &secret_text(&ca, CERT_KEY).unwrap(),
            &secret_text(&ca, PRIVATE_KEY_KEY).unwrap(),
            now,
        )
        .unwrap();
        let sec1 = TlsMaterial {
            key: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".into(),
            ..issued.clone()
        };
        let mut apache = demo();
        apache.spec.flavour = ServerFlavour::Apache;
        check_key_form(&apache, &issued, "mine").unwrap();
        let refused = check_key_form(&apache, &sec1, "mine")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("Secret mine") && refused.contains("PKCS#8"),
            "{refused}"
        );
        check_key_form(&zk, &sec1, "mine").unwrap();
    }

    /// A member server with the issued certificate, requiring a client certificate of the authority, that
    /// answers `mntr` once per connection.
    async fn member(material: &TlsMaterial) -> std::net::SocketAddr {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(material.ca.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        let chain = CertificateDer::pem_slice_iter(material.cert.as_bytes())
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_slice(material.key.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut command = [0u8; 4];
                    if tls.read_exact(&mut command).await.is_ok() && &command == b"mntr" {
                        let reply =
                            b"zk_server_state\tleader\nzk_peer_state\tleading - broadcast\n";
                        let _ = tls.write_all(reply).await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn the_issued_certificate_serves_members_and_admits_the_operator() {
        let zk = demo();
        let now = Timestamp::now();
        let ca = issue_ca(&zk, now).unwrap();
        let (ca_cert, ca_key) = (
            secret_text(&ca, CERT_KEY).unwrap(),
            secret_text(&ca, PRIVATE_KEY_KEY).unwrap(),
        );
        let names = member_dns_names(&zk, DOMAIN);
        // Two certificates from the stored authority, as at the first issue and at a renewal.
        let (first, ..) = issue_member_cert(&zk, &names, &ca_cert, &ca_key, now).unwrap();
        let (renewed, _, not_after) =
            issue_member_cert(&zk, &names, &ca_cert, &ca_key, now).unwrap();
        assert_ne!(first.cert, renewed.cert);
        assert_eq!(not_after.duration_since(now), MEMBER_LIFETIME);

        let address = member(&first).await.to_string();
        let operator = Transport::tls(&renewed.ca, &renewed.cert, &renewed.key).unwrap();
        let timeout = Duration::from_secs(5);
        let as_member = Endpoint {
            address: address.clone(),
            host: member_host(&zk, 3, DOMAIN),
        };
        let state = mntr(&as_member, &operator, timeout).await.unwrap();
        assert!(state.synced, "the leader answered over TLS");

        let wrong_name = Endpoint {
            address: address.clone(),
            host: "demo-3.elsewhere.apps.svc.cluster.local".into(),
        };
        assert!(mntr(&wrong_name, &operator, timeout).await.is_err());

        let other_ca = issue_ca(&zk, now).unwrap();
        let (stranger, ..) = issue_member_cert(
            &zk,
            &names,
            &secret_text(&other_ca, CERT_KEY).unwrap(),
            &secret_text(&other_ca, PRIVATE_KEY_KEY).unwrap(),
            now,
        )
        .unwrap();
        let stranger = Transport::tls(&first.ca, &stranger.cert, &stranger.key).unwrap();
        // Over TLS 1.3 the client may finish its side of the handshake before the member refuses it: the
        // refusal then shows as a failed or empty reply.
        let refused = mntr(&as_member, &stranger, timeout).await;
        assert!(
            refused.is_err() || refused.is_ok_and(|s| !s.synced),
            "a client certificate of another authority is refused"
        );
    }
}
