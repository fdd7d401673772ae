//! Client TLS on `secureClientPort`: PEM stores made with rcgen, the certificate served, a rotation of
//! the key store picked up by new connections without a restart (and a broken one ignored), and
//! `clientAuth=want` serving a client without a certificate while refusing one from another CA.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::authority;
use rcgen::{CertificateParams, CertifiedIssuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zk_proto::ConnectRequest;
use zk_proto::frame::record_frame;

/// A leaf certificate for `localhost` named `cn`, issued by `ca`: (certificate PEM, key PEM).
fn leaf(ca: &CertifiedIssuer<'static, KeyPair>, cn: &str) -> (String, String) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write_key_store(path: &Path, (cert, key): &(String, String)) {
    // Written aside and renamed, as a rotation does, so a reader never sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{cert}{key}")).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn connector(ca_pem: &str, client: Option<&(String, String)>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> =
                rustls::pki_types::pem::PemObject::pem_slice_iter(cert.as_bytes())
                    .map(Result::unwrap)
                    .collect();
            let key: PrivateKeyDer<'static> =
                rustls::pki_types::pem::PemObject::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

/// Connects over TLS, opens a session, and returns the server certificate's subject common name; an
/// error when the handshake or the session fails.
async fn session_over_tls(port: u16, connector: &TlsConnector) -> Result<String, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 30_000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    tls.write_all(&record_frame(&request))
        .await
        .map_err(|e| e.to_string())?;
    let mut len = [0u8; 4];
    tls.read_exact(&mut len).await.map_err(|e| e.to_string())?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    tls.read_exact(&mut body).await.map_err(|e| e.to_string())?;
    let served = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let (_, parsed) = x509_parser::parse_x509_certificate(served.as_ref()).unwrap();
    let cn = parsed
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok(cn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_key_store_is_served_to_new_connections_without_restart() {
    let stores = tempfile::tempdir().unwrap();
    let ca = authority("test ca");
    let ca_pem = ca.pem();
    let key_store = stores.path().join("server.pem");
    write_key_store(&key_store, &leaf(&ca, "first"));
    std::fs::write(stores.path().join("ca.pem"), &ca_pem).unwrap();
    let client = leaf(&ca, "client");
    let port = common::free_port();
    let server = common::start(&format!(
        "secureClientPort={port}\nssl.keyStore.location={}\nssl.trustStore.location={}/ca.pem\n",
        key_store.display(),
        stores.path().display()
    ))
    .await;
    let tls = connector(&ca_pem, Some(&client));
    assert_eq!(session_over_tls(port, &tls).await.unwrap(), "first");

    write_key_store(&key_store, &leaf(&ca, "second"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let served = session_over_tls(port, &tls).await.unwrap();
        if served == "second" {
            break;
        }
        assert_eq!(served, "first");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rotated certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A key store that no longer loads leaves the last good one in force.
    std::fs::write(&key_store, "not a PEM file").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(session_over_tls(port, &tls).await.unwrap(), "second");
    assert!(
        common::four_letter_word(server.addr(), "srvr")
            .await
            .starts_with("Zookeeper version:")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_auth_want_serves_clients_without_certificates_but_not_strangers() {
    let stores = tempfile::tempdir().unwrap();
    let ca = authority("test ca");
    let stranger_ca = authority("other ca");
    write_key_store(&stores.path().join("server.pem"), &leaf(&ca, "server"));
    std::fs::write(stores.path().join("ca.pem"), ca.pem()).unwrap();
    let port = common::free_port();
    let _server = common::start(&format!(
        "secureClientPort={port}\nssl.clientAuth=want\nssl.keyStore.location={0}/server.pem\n\
         ssl.trustStore.location={0}/ca.pem\n",
        stores.path().display()
    ))
    .await;
    assert!(
        session_over_tls(port, &connector(&ca.pem(), None))
            .await
            .is_ok()
    );
    let stranger = leaf(&stranger_ca, "stranger");
    assert!(
        session_over_tls(port, &connector(&ca.pem(), Some(&stranger)))
            .await
            .is_err()
    );
    assert!(
        session_over_tls(port, &connector(&ca.pem(), None))
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_client_port_serves_clients_on_the_tls_port_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = authority("test ca");
    write_key_store(&dir.path().join("server.pem"), &leaf(&ca, "server"));
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let port = common::free_port();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=200\ndataDir={0}/data\nadmin.enableServer=false\nsecureClientPort={port}\n\
             ssl.keyStore.location={0}/server.pem\nssl.trustStore.location={0}/ca.pem\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let config = zk_server::config::load_with_properties(&cfg, Vec::new()).unwrap();
    assert_eq!(config.client_address, None);
    let server = zk_server::server::Server::start(config).await.unwrap();
    assert_eq!(server.client_address().port(), port);
    assert_eq!(
        server.context().client_port(),
        0,
        "no plain client port is reported"
    );
    let client = leaf(&ca, "client");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while session_over_tls(port, &connector(&ca.pem(), Some(&client)))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no session over TLS"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.shutdown().await;
}
