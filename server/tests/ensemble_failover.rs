//! Failover, with real member processes on a network of their own (see the `zk-robustness` crate):
//! the leader of a 3- and of a 5-member ensemble is killed with SIGKILL, twice, while clients read, write
//! and compare-and-set registers and create znodes. A new leader must be elected at once, well within an
//! election timeout (the followers see the dead leader's quorum port refuse them), and serve writes (the
//! gap is printed),
//! no session may expire or lose its ephemeral znode, every member must hold every acknowledged create
//! and the same registers afterwards, and the whole history must be linearizable.
//!
//! The three-member case runs again with the members talking over mutual TLS (`sslQuorum=true`).
//!
//! Needs root: the members run in network namespaces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zk_robustness::checker::{Checker, Outcome};
use zk_robustness::ensemble::Ensemble;
use zk_robustness::history::{History, Output};
use zk_robustness::verify;
use zk_robustness::workload::{Workload, WorkloadSpec};

/// Apache's default timing: elections and session timeouts as a production ensemble has them.
const SETTINGS: &str = "tickTime=2000\ninitLimit=10\nsyncLimit=5\n";
/// How long the load runs between faults.
const SETTLE: Duration = Duration::from_secs(3);
/// How long a new leader may take to be reported.
const ELECTION_LIMIT: Duration = Duration::from_secs(30);
/// How long the election after a SIGKILL may take: a tick (2 s) is the longest election timeout, so
/// waiting for it and the leader lease (about 3 s) is out of bounds; electing at once takes a fraction
/// of a second, and the rest is margin for a loaded machine.
const ELECTED_WITHIN: Duration = Duration::from_secs(2);

/// Where the linearizability checker is built and keeps its reports.
fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("linearizability-checker")
}

fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_zk-server"))
}

/// The checker is no rubber stamp: the history just found linearizable, with one read of a written
/// register made to report the version before the value it read, is refused.
async fn refuses_a_corrupted_copy(mut history: History) {
    let read = history
        .operations
        .iter_mut()
        .find(|op| matches!(op.output, Output::Read { version, .. } if version > 0))
        .expect("a read of a written register");
    if let Output::Read { version, .. } = &mut read.output {
        *version -= 1;
    }
    let verdict = Checker::build(checker_dir())
        .await
        .unwrap()
        .check(&history)
        .await
        .unwrap();
    assert_eq!(verdict.outcome, Outcome::Violation, "{verdict}");
    // The violation is the one made here: its report need not outlive the test.
    if let Some(dir) = verdict
        .report
        .and_then(|r| r.history.parent().map(Path::to_path_buf))
    {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Quorum TLS settings for every member, with PEM stores written under `dir`: one certificate (from a
/// CA made here) that all members present; the members are reached by addresses only known once the
/// network exists, so host names are not checked.
fn quorum_tls_settings(dir: &Path) -> String {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["member".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let key_store = dir.join("member.pem");
    let trust_store = dir.join("ca.pem");
    std::fs::write(&key_store, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    std::fs::write(&trust_store, ca.pem()).unwrap();
    format!(
        "sslQuorum=true\nssl.quorum.keyStore.location={}\nssl.quorum.trustStore.location={}\n\
         ssl.quorum.hostnameVerification=false\n",
        key_store.display(),
        trust_store.display()
    )
}

async fn kill_the_leader_twice(size: usize, extra: &str) {
    zk_robustness::init_test_tracing();
    let settings = format!("{SETTINGS}{extra}");
    let mut ensemble = Ensemble::start(server_bin(), size, &settings)
        .await
        .expect("start the ensemble");
    let spec = WorkloadSpec {
        clients: 6,
        registers: 3,
        seed: size as u64,
    };
    let workload = Workload::start(&ensemble.connect_string(), &spec)
        .await
        .expect("start the load");
    let mut gaps = Vec::new();
    for _ in 0..2 {
        tokio::time::sleep(SETTLE).await;
        let leader = ensemble.leader(ELECTION_LIMIT).await.unwrap();
        let killed_at = workload.now();
        ensemble.kill(leader).await.unwrap();
        let rest: Vec<usize> = ensemble
            .ids()
            .into_iter()
            .filter(|&id| id != leader)
            .collect();
        let successor = ensemble.leader_among(&rest, ELECTION_LIMIT).await.unwrap();
        let elected = Duration::from_nanos(workload.now() - killed_at);
        assert!(
            elected < ELECTED_WITHIN,
            "member {successor} was elected {elected:.2?} after member {leader} was killed"
        );
        let gap = workload
            .write_gap(killed_at, ELECTION_LIMIT)
            .await
            .expect("no write was acknowledged after the leader was killed");
        gaps.push(format!(
            "member {leader} killed: member {successor} leads after {elected:.2?}, first write \
             acknowledged after {gap:.2?}"
        ));
        ensemble.restart(leader).await.unwrap();
        ensemble
            .wait_mode(leader, Some("follower"), ELECTION_LIMIT)
            .await
            .unwrap();
    }
    tokio::time::sleep(SETTLE).await;
    let report = workload.stop().await;

    verify::assert_no_problems(
        &ensemble,
        &ensemble.ids(),
        &report,
        spec.registers,
        &checker_dir(),
    )
    .await;
    refuses_a_corrupted_copy(report.history()).await;
    let history = report.history();
    let (answered, unknown) = history.outcome_counts();
    assert!(answered > 100, "too few operations answered: {answered}");
    println!(
        "{size} members: {}; {answered} operations answered, {unknown} unknown, {} creates \
         acknowledged",
        gaps.join("; "),
        report.created.len()
    );
    ensemble.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_survive_their_leader_killed_twice() {
    kill_the_leader_twice(3, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_over_quorum_tls_survive_their_leader_killed_twice() {
    let stores = tempfile::tempdir().unwrap();
    kill_the_leader_twice(3, &quorum_tls_settings(stores.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_survive_their_leader_killed_twice() {
    kill_the_leader_twice(5, "").await;
}
