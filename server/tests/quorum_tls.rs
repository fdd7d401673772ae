//! TLS between members (`sslQuorum=true`, `ssl.quorum.*`), with PEM stores made with rcgen: three
//! members form an ensemble over mutual TLS, replicate writes and elect a new leader when theirs
//! stops; a member whose certificate another authority issued, and a member that speaks plain text,
//! are refused — they never sync, their votes never reach the ensemble (its term does not move),
//! and a reconfig that adds one of them leaves it unsynced while the ensemble keeps serving. With
//! quorum SASL required as well, the exchange runs inside TLS: a member with a trusted certificate
//! and a wrong quorum password is kept out, one with the right password syncs.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    QUORUM_SASL_REQUIRED, TestServer, add_member, assert_kept_out, assert_never_synced, authority,
    founded_and_campaigned, leader_of, quorum_jaas, start_ensemble_with,
    start_ensemble_with_properties, start_joiner, wait_until_synced,
};
use rcgen::{CertificateParams, CertifiedIssuer, KeyPair};
use zookeeper_client::{Acls, Client, CreateMode};

/// Held by each test for its whole run: the ensembles pick free ports ahead of binding them, and
/// another ensemble's many peer connections in the same process could take one meanwhile.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Writes a PEM key store for member `id` (a certificate for 127.0.0.1 issued by `ca`, and its
/// key) and returns its path.
fn key_store(dir: &Path, ca: &CertifiedIssuer<'static, KeyPair>, id: u64) -> String {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("member {id}"));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    let path = dir.join(format!("member-{id}.pem"));
    std::fs::write(&path, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    path.display().to_string()
}

/// The zoo.cfg lines of the quorum stores `key_store` and `trust_store`.
fn store_lines(key_store: &str, trust_store: &str) -> String {
    format!(
        "ssl.quorum.keyStore.location={key_store}\nssl.quorum.trustStore.location={trust_store}\n"
    )
}

/// The zoo.cfg lines of quorum TLS with `key_store` and the trust store `trust_store`.
fn tls_lines(key_store: &str, trust_store: &str) -> String {
    format!("sslQuorum=true\n{}", store_lines(key_store, trust_store))
}

/// Writes the CA's certificate as a PEM trust store and returns its path.
fn trust_store(dir: &Path, ca: &CertifiedIssuer<'static, KeyPair>, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, ca.pem()).unwrap();
    path.display().to_string()
}

/// Starts three members with stores of one CA under `stores` and `lines(key store, trust store)`
/// in each zoo.cfg; also returns the CA.
async fn ensemble_with_stores(
    stores: &Path,
    extra: &str,
    lines: fn(&str, &str) -> String,
) -> (Vec<TestServer>, CertifiedIssuer<'static, KeyPair>) {
    let ca = authority("quorum ca");
    let trust = trust_store(stores, &ca, "ca.pem");
    let keys: Vec<String> = (1..=3).map(|id| key_store(stores, &ca, id)).collect();
    let members = start_ensemble_with(3, extra, |id| lines(&keys[id as usize - 1], &trust)).await;
    (members, ca)
}

/// Starts three members over quorum TLS, their stores under `stores`.
async fn tls_ensemble(stores: &Path, extra: &str) -> Vec<TestServer> {
    ensemble_with_stores(stores, extra, tls_lines).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_ensemble_replicates_and_elects_a_new_leader_when_its_leader_stops() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let stores = tempfile::tempdir().unwrap();
    let mut members = tls_ensemble(stores.path(), "").await;
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let follower = (leader + 1) % 3;
    let client = Client::connect(&members[follower].connect_string())
        .await
        .unwrap();
    client
        .create(
            "/over-tls",
            b"replicated",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();
    // A write through a follower is forwarded to the leader and replicated to every member.
    for member in &members {
        let reader = Client::connect(&member.connect_string()).await.unwrap();
        reader.sync("/").await.unwrap();
        let (data, _) = reader.get_data("/over-tls").await.unwrap();
        assert_eq!(data, b"replicated");
    }
    drop(client);

    let stopped = members.remove(leader);
    let term_before = stopped.server.context().consensus.term();
    stopped.server.shutdown().await;
    let survivors: Vec<&TestServer> = members.iter().collect();
    let successor = leader_of(&survivors).await;
    assert!(survivors[successor].server.context().consensus.term() > term_before);
    let client = Client::connect(&survivors[1 - successor].connect_string())
        .await
        .unwrap();
    client
        .create(
            "/after-failover",
            b"",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();
    let reader = Client::connect(&survivors[successor].connect_string())
        .await
        .unwrap();
    reader.sync("/").await.unwrap();
    assert!(
        reader
            .check_stat("/after-failover")
            .await
            .unwrap()
            .is_some()
    );
    for member in members {
        member.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_a_trusted_certificate_cannot_join_or_vote() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let stores = tempfile::tempdir().unwrap();
    let members = tls_ensemble(stores.path(), "reconfigEnabled=true\nskipACL=yes\n").await;
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let term = members[leader].server.context().consensus.term();
    let client = Client::connect(&members[leader].connect_string())
        .await
        .unwrap();
    client
        .create(
            "/before",
            b"",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();

    // Member 4: a certificate of another authority, which it also trusts.
    let other = authority("other ca");
    let other_trust = trust_store(stores.path(), &other, "other-ca.pem");
    let foreign_key = key_store(stores.path(), &other, 4);
    let (foreign, foreign_line) = start_joiner(
        &members,
        4,
        &tls_lines(&foreign_key, &other_trust),
        Vec::new(),
    )
    .await;
    // Member 5: no TLS at all.
    let (plain, _) = start_joiner(&members, 5, "", Vec::new()).await;

    founded_and_campaigned(&[&foreign, &plain]).await;
    for refused in [&foreign, &plain] {
        assert_eq!(
            refused.server.context().consensus.members().len(),
            4,
            "a joiner of the ensemble"
        );
        assert_kept_out(refused, &members, term);
    }
    assert_eq!(leader_of(&members.iter().collect::<Vec<_>>()).await, leader);

    // Added by a reconfig, the foreign member is still refused: it never syncs, and the
    // ensemble keeps serving writes.
    let added = add_member(&client, &foreign_line).await;
    client
        .create(
            "/after",
            b"",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = format!("the reconfig adding it ({added:?})");
    assert_never_synced(&foreign, 4, &members, &after).await;
    for server in [foreign, plain].into_iter().chain(members) {
        server.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_unification_lets_plain_and_tls_members_meet_during_a_switch() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let stores = tempfile::tempdir().unwrap();
    // First step of a switch: every member accepts both, and still connects in plain text.
    let (members, ca) = ensemble_with_stores(stores.path(), "", |key, trust| {
        format!("portUnification=true\n{}", store_lines(key, trust))
    })
    .await;
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let client = Client::connect(&members[leader].connect_string())
        .await
        .unwrap();
    client
        .create(
            "/switching",
            b"",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();
    // A member of the second step connects over TLS and still accepts plain text: it joins and syncs.
    let trust = stores.path().join("ca.pem").display().to_string();
    let own = format!(
        "portUnification=true\n{}",
        tls_lines(&key_store(stores.path(), &ca, 4), &trust)
    );
    let (joiner, _) = start_joiner(&members, 4, &own, Vec::new()).await;
    wait_until_synced(&joiner).await;
    let reader = Client::connect(&joiner.connect_string()).await.unwrap();
    reader.sync("/").await.unwrap();
    assert!(reader.check_stat("/switching").await.unwrap().is_some());
    for server in std::iter::once(joiner).chain(members) {
        server.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_sasl_runs_inside_tls() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let stores = tempfile::tempdir().unwrap();
    let ca = authority("quorum ca");
    let trust = trust_store(stores.path(), &ca, "ca.pem");
    let keys: Vec<String> = (1..=5)
        .map(|id| key_store(stores.path(), &ca, id))
        .collect();
    let right = quorum_jaas(stores.path(), "right.conf", "secret");
    let members = start_ensemble_with_properties(
        3,
        QUORUM_SASL_REQUIRED,
        |id| tls_lines(&keys[id as usize - 1], &trust),
        right.clone(),
    )
    .await;
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let term = members[leader].server.context().consensus.term();
    let client = Client::connect(&members[(leader + 1) % 3].connect_string())
        .await
        .unwrap();
    client
        .create(
            "/tls-and-sasl",
            b"",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();
    // A trusted certificate with a wrong quorum password is refused; with the right one, it syncs.
    let own = |id: usize| format!("{QUORUM_SASL_REQUIRED}{}", tls_lines(&keys[id - 1], &trust));
    let wrong = quorum_jaas(stores.path(), "wrong.conf", "wrong");
    let (intruder, _) = start_joiner(&members, 4, &own(4), wrong).await;
    founded_and_campaigned(&[&intruder]).await;
    assert_kept_out(&intruder, &members, term);
    let (newcomer, _) = start_joiner(&members, 5, &own(5), right).await;
    wait_until_synced(&newcomer).await;
    assert_eq!(intruder.server.context().consensus.last_applied_zxid(), 0);
    for server in [intruder, newcomer].into_iter().chain(members) {
        server.server.shutdown().await;
    }
}
