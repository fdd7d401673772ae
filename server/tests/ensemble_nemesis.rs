//! Faults one after another on a 5-member ensemble, with real member processes on a network of their own
//! (see the `zk-robustness` crate), while clients read, write and compare-and-set registers: a member
//! (the leader or another, chosen by a seeded random generator) is killed with SIGKILL and restarted, or
//! cut off from its peers and healed, round after round. No client may see an error other than a lost
//! connection, no session may expire, every member must hold every acknowledged write and the same data
//! at the end, and the whole history must be linearizable.
//!
//! Needs root: the members run in network namespaces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zk_robustness::ensemble::Ensemble;
use zk_robustness::verify;
use zk_robustness::workload::{Workload, WorkloadSpec};

/// Short ticks, so that faults are noticed within seconds.
const SETTINGS: &str = "tickTime=500\ninitLimit=10\nsyncLimit=5\n";
/// How many faults.
const ROUNDS: usize = 8;
/// How long a fault lasts.
const FAULT: Duration = Duration::from_secs(3);
/// How long the load runs between faults.
const SETTLE: Duration = Duration::from_secs(1);
/// How long a member may take to come back, or a leader to be named.
const LIMIT: Duration = Duration::from_secs(30);

/// What is done to the chosen member.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL, then a restart.
    Kill,
    /// Cut off from its peers, then healed.
    Isolate,
}

/// Where the linearizability checker is built and keeps its reports.
fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("linearizability-checker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_under_kills_and_partitions_stay_linearizable() {
    zk_robustness::init_test_tracing();
    let mut ensemble = Ensemble::start(Path::new(env!("CARGO_BIN_EXE_zk-server")), 5, SETTINGS)
        .await
        .expect("start the ensemble");
    let spec = WorkloadSpec {
        clients: 8,
        registers: 4,
        seed: 5,
    };
    let load = Workload::start(&ensemble.connect_string(), &spec)
        .await
        .expect("start the load");
    let mut rng = StdRng::seed_from_u64(5);
    let mut faults = Vec::new();
    for _ in 0..ROUNDS {
        tokio::time::sleep(SETTLE).await;
        let leader = ensemble.leader(LIMIT).await.unwrap();
        let target = if rng.random_bool(0.5) {
            leader
        } else {
            rng.random_range(1..=5)
        };
        let fault = if rng.random_bool(0.5) {
            Fault::Kill
        } else {
            Fault::Isolate
        };
        match fault {
            Fault::Kill => ensemble.kill(target).await.unwrap(),
            Fault::Isolate => ensemble.isolate(target).unwrap(),
        }
        tokio::time::sleep(FAULT).await;
        match fault {
            Fault::Kill => ensemble.restart(target).await.unwrap(),
            Fault::Isolate => ensemble.heal(target).unwrap(),
        }
        let others: Vec<usize> = ensemble
            .ids()
            .into_iter()
            .filter(|&id| id != target)
            .collect();
        ensemble.leader_among(&others, LIMIT).await.ok();
        ensemble.wait_in_quorum(target, LIMIT).await.unwrap();
        faults.push(format!(
            "{fault:?} {target}{}",
            if target == leader { " (leader)" } else { "" }
        ));
    }
    tokio::time::sleep(SETTLE).await;
    let report = load.stop().await;

    verify::assert_no_problems(
        &ensemble,
        &ensemble.ids(),
        &report,
        spec.registers,
        &checker_dir(),
    )
    .await;
    let (answered, unknown) = report.history().outcome_counts();
    println!(
        "faults: {}; {answered} operations answered, {unknown} unknown",
        faults.join(", ")
    );
    ensemble.stop().await;
}
