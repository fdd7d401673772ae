//! Failover, with real member processes on a network of their own (see the `zk-robustness` crate):
//! the leader of a 3- and of a 5-member ensemble is killed with SIGKILL, twice, while clients read, write
//! and compare-and-set registers and create znodes. A new leader must serve writes (the gap is printed),
//! no session may expire or lose its ephemeral znode, every member must hold every acknowledged create
//! and the same registers afterwards, and the whole history must be linearizable.
//!
//! Needs root: the members run in network namespaces.

use std::path::Path;
use std::time::Duration;

use zk_robustness::ensemble::Ensemble;
use zk_robustness::verify;
use zk_robustness::workload::{Workload, WorkloadSpec};

/// Apache's default timing: elections and session timeouts as a production ensemble has them.
const SETTINGS: &str = "tickTime=2000\ninitLimit=10\nsyncLimit=5\n";
/// How long the load runs between faults.
const SETTLE: Duration = Duration::from_secs(3);
/// How long a new leader may take.
const ELECTION_LIMIT: Duration = Duration::from_secs(30);

fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_zk-server"))
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Waits until member `id` reports `mode`.
async fn wait_mode(ensemble: &Ensemble, id: usize, mode: &str) {
    let deadline = tokio::time::Instant::now() + ELECTION_LIMIT;
    while ensemble.mode(id).await.as_deref() != Some(mode) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "member {id} never became {mode} (it says {:?})",
            ensemble.mode(id).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn kill_the_leader_twice(size: usize) {
    init_tracing();
    let mut ensemble = Ensemble::start(server_bin(), size, SETTINGS)
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
        let gap = workload
            .write_gap(killed_at, ELECTION_LIMIT)
            .await
            .expect("no write was acknowledged after the leader was killed");
        gaps.push(format!(
            "member {leader} killed: member {successor} leads after {elected:.2?}, first write \
             acknowledged after {gap:.2?}"
        ));
        ensemble.restart(leader).await.unwrap();
        wait_mode(&ensemble, leader, "follower").await;
    }
    tokio::time::sleep(SETTLE).await;
    let report = workload.stop().await;

    assert_eq!(report.expirations, 0, "sessions expired");
    assert!(
        report.lost_ephemerals.is_empty(),
        "ephemerals lost: {:?}",
        report.lost_ephemerals
    );
    let convergence = verify::converged(&ensemble, &ensemble.ids(), &report, spec.registers)
        .await
        .unwrap();
    assert!(convergence.holds(), "{convergence:?}");
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
    kill_the_leader_twice(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_survive_their_leader_killed_twice() {
    kill_the_leader_twice(5).await;
}
