//! The operator's client against Apache ZooKeeper 3.8 members (Debian's `zookeeper` package, on the ZooKeeper
//! image's class path) with the configuration the operator renders for `spec.tls {client, quorum,
//! plainClientPort: false}` and the members' Secret it issues, on loopback: `mntr` and a super-user session
//! over TLS reach a TLS-only member, a joiner replicates over mutual TLS and is added and removed by reconfig
//! over TLS, and a plain-text `mntr` on the TLS port gets no answer.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::apache::{ApacheMember, free_port, loopback_line};
use jiff::Timestamp;
use zk_operator::ensemble_config::{EnsembleConfig, ServerLine};
use zk_operator::planner::Role;
use zk_operator::resources::config_map::static_config;
use zk_operator::resources::meta::{member_host, server_line};
use zk_operator::resources::tls::{
    CA_KEY, CERT_KEY, KEY_STORE_KEY, PRIVATE_KEY_KEY, TLS_MOUNT, TlsMaterial, issue_ca,
    issue_member_cert, member_dns_names, member_secret, secret_text,
};
use zk_operator::types::ZkEnsemble;
use zk_operator::zk::{Endpoint, EnsembleClient, Transport, mntr};

const PASSWORD: &str = "tls-test-password";
const TIMEOUT: Duration = Duration::from_secs(10);
const DOMAIN: &str = "cluster.local";

/// An Apache ensemble with TLS for clients and between members, and no plain client port.
fn ensemble() -> ZkEnsemble {
    serde_yaml::from_str(
        "apiVersion: zookeeper.zkops.dev/v1alpha1\nkind: ZkEnsemble\nmetadata: { name: demo, namespace: apps }\n\
         spec:\n  flavour: Apache\n  tls:\n    client: true\n    quorum: true\n    plainClientPort: false\n",
    )
    .unwrap()
}

/// The members' Secret, issued by a new authority of the operator's, as a member pod mounts it: one file per
/// key, in a directory removed on drop.
struct MountedSecret {
    dir: PathBuf,
    material: TlsMaterial,
}

impl MountedSecret {
    fn issue(zk: &ZkEnsemble) -> Self {
        let now = Timestamp::now();
        let ca = issue_ca(zk, now).unwrap();
        let (material, ..) = issue_member_cert(
            zk,
            &member_dns_names(zk, DOMAIN),
            &secret_text(&ca, CERT_KEY).unwrap(),
            &secret_text(&ca, PRIVATE_KEY_KEY).unwrap(),
            now,
        )
        .unwrap();
        let secret = member_secret(zk, &material, Default::default());
        let dir = std::env::temp_dir().join(format!("zk-tls-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for key in [CERT_KEY, PRIVATE_KEY_KEY, CA_KEY, KEY_STORE_KEY] {
            std::fs::write(dir.join(key), secret_text(&secret, key).unwrap()).unwrap();
        }
        MountedSecret { dir, material }
    }

    fn transport(&self) -> Transport {
        let m = &self.material;
        Transport::tls(&m.ca, &m.cert, &m.key).unwrap()
    }
}

impl Drop for MountedSecret {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The static settings the operator renders for `zk`, moved from the pod's paths and ports to this machine's:
/// the Secret at `secret`, the TLS client port at `secure_port`, a short tick; the member adds its own data
/// directories and AdminServer port.
fn relocated(zk: &ZkEnsemble, secret: &Path, secure_port: u16) -> String {
    let mut text = String::new();
    for line in static_config(zk).lines() {
        let line = match line.split_once('=') {
            Some(("dataDir" | "dataLogDir" | "admin.serverPort", _)) => continue,
            Some(("secureClientPort", _)) => format!("secureClientPort={secure_port}"),
            Some(("tickTime", _)) => "tickTime=500".to_string(),
            _ => line.replace(TLS_MOUNT, &secret.display().to_string()),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The operator's `server.N` line for member `id` of `zk` has a client address on the pod's loopback interface
/// (Apache's reconfig needs one); here that is a line on this machine's loopback with fresh ports.
fn relocated_line(zk: &ZkEnsemble, id: u32) -> ServerLine {
    let line = server_line(zk, id, DOMAIN);
    let client_host = line
        .client_address
        .as_deref()
        .and_then(|address| address.rsplit_once(':'))
        .map(|(host, _)| host);
    assert_eq!(client_host, Some("127.0.0.1"), "{line:?}");
    loopback_line(id)
}

/// Member `id` of `zk`, TLS-only, started from `bootstrap` plus itself; the operator reaches it at its member
/// host name's certificate.
fn member(
    zk: &ZkEnsemble,
    secret: &MountedSecret,
    id: u32,
    bootstrap: &EnsembleConfig,
) -> ApacheMember {
    let secure_port = free_port();
    let client = Endpoint {
        address: format!("127.0.0.1:{secure_port}"),
        host: member_host(zk, id, DOMAIN),
    };
    ApacheMember::new(
        id,
        bootstrap,
        relocated_line(zk, id),
        &relocated(zk, &secret.dir, secure_port),
        PASSWORD,
        (client, secret.transport()),
    )
}

#[tokio::test]
#[ignore = "needs Debian's zookeeper and libservlet-api-java packages and a JRE; run with --ignored"]
async fn the_operator_reaches_and_grows_a_tls_only_apache_ensemble() {
    let zk = ensemble();
    let secret = MountedSecret::issue(&zk);
    let mut seed = member(&zk, &secret, 1, &EnsembleConfig::default());
    seed.start();
    seed.wait_synced(Role::Leader).await;
    assert_eq!(seed.probe().await, "HTTP/1.1 200 OK");
    let plain = mntr(&seed.client, &Transport::Plain, Duration::from_secs(2)).await;
    assert!(
        plain.as_ref().is_err() || plain.as_ref().is_ok_and(|state| !state.synced),
        "a plain-text mntr on the TLS port was answered: {plain:?}"
    );

    let client =
        EnsembleClient::connect(&[seed.client.clone()], &seed.transport, PASSWORD, TIMEOUT)
            .await
            .unwrap();
    let committed = client.committed_config().await.unwrap();
    assert_eq!(committed.participants().collect::<Vec<_>>(), vec![1]);

    // The joiner syncs with the leader over mutual TLS before it is a voter.
    let mut joiner = member(&zk, &secret, 2, &committed);
    joiner.start();
    joiner.wait_synced(Role::Follower).await;
    let grown = joiner.added(&client, committed.version, &[1, 2]).await;
    client.confirm_quorum_write("grown over TLS").await.unwrap();

    let shrunk = client.ensure_removed(2, grown.version).await.unwrap();
    assert_eq!(shrunk.participants().collect::<Vec<_>>(), vec![1]);
    client
        .confirm_quorum_write("shrunk over TLS")
        .await
        .unwrap();
    joiner.stop();
}
