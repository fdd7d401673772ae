//! Growing and shrinking an ensemble by reconfig under client load, with real member processes on a
//! network of their own (see the `zk-robustness` crate): 1→3→5, then 5→3→1, one member per step, the
//! leader among those removed. No client may see an error other than a lost connection, no session may
//! expire, and the member left at the end must hold every acknowledged write.
//!
//! Needs root: the members run in network namespaces.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zk_robustness::ensemble::Ensemble;
use zk_robustness::verify;
use zk_robustness::workload::{Workload, WorkloadSpec};

/// Short ticks: a joiner's catch-up window is `syncLimit` ticks.
const SETTINGS: &str = "tickTime=500\ninitLimit=10\nsyncLimit=5\n";
/// How long the load runs between steps.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a leader may take to be named.
const LIMIT: Duration = Duration::from_secs(30);

/// Where the linearizability checker is built and keeps its reports.
fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("linearizability-checker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_to_five_and_back_to_one_under_load() {
    zk_robustness::init_test_tracing();
    let mut ensemble =
        Ensemble::start_growable(Path::new(env!("CARGO_BIN_EXE_zk-server")), 5, SETTINGS)
            .await
            .expect("start member 1");
    let spec = WorkloadSpec {
        clients: 6,
        registers: 3,
        seed: 15,
    };
    let load = Workload::start(&ensemble.connect_string(), &spec)
        .await
        .expect("start the load");
    let mut steps = Vec::new();
    for id in 2..=5 {
        tokio::time::sleep(SETTLE).await;
        let start = Instant::now();
        ensemble.join(id).await.unwrap();
        steps.push(format!("+{id} {:.1?}", start.elapsed()));
    }
    assert_eq!(ensemble.committed_config().await.unwrap().voters().len(), 5);
    let mut members: Vec<usize> = (1..=5).collect();
    while members.len() > 1 {
        tokio::time::sleep(SETTLE).await;
        // The leader goes second (5→4): removing it hands leadership over.
        let leader = ensemble.leader_among(&members, LIMIT).await.unwrap();
        let leaving = if members.len() == 4 {
            leader
        } else {
            *members.iter().rev().find(|&&m| m != leader).unwrap()
        };
        let start = Instant::now();
        ensemble.leave(leaving).await.unwrap();
        steps.push(format!("-{leaving} {:.1?}", start.elapsed()));
        members.retain(|&m| m != leaving);
    }
    assert_eq!(ensemble.committed_config().await.unwrap().voters(), members);
    tokio::time::sleep(SETTLE).await;
    let report = load.stop().await;

    verify::assert_no_problems(&ensemble, &members, &report, spec.registers, &checker_dir()).await;
    let (answered, unknown) = report.history().outcome_counts();
    println!(
        "steps: {}; member {} left; {answered} operations answered, {unknown} unknown, {} creates \
         acknowledged",
        steps.join(", "),
        members[0],
        report.created.len()
    );
    ensemble.stop().await;
}
