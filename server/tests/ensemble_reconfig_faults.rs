//! The leader killed (SIGKILL) at each point of a reconfig, with real member processes on a network of
//! their own (see the `zk-robustness` crate), under client load: before the request reaches it, at
//! several moments while the change is under way, and right after the reply. After each round every
//! voter must have applied the same config, and it must be the old one or the new one, never a mix; a
//! reconfig the client saw succeed must be in it. Member 4 is added and removed this way, then the
//! load's history must show no lost write and every member the same data.
//!
//! Needs root: the members run in network namespaces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zk_robustness::ensemble::Ensemble;
use zk_robustness::verify;
use zk_robustness::workload::{Workload, WorkloadSpec};
use zookeeper_client::EnsembleUpdate;

/// Short ticks: elections within a second.
const SETTINGS: &str = "tickTime=500\ninitLimit=10\nsyncLimit=5\n";
/// How long the load runs between rounds.
const SETTLE: Duration = Duration::from_secs(1);
/// How long a leader may take to be named.
const LIMIT: Duration = Duration::from_secs(30);
/// The member added and removed.
const CHANGING: usize = 4;
/// The members that stay.
const STAYING: [usize; 3] = [1, 2, 3];

/// Where the linearizability checker is built and keeps its reports.
fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("linearizability-checker")
}

/// When the leader is killed.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// Before the request is sent.
    BeforeRequest,
    /// This long after the request is sent, while it is under way.
    AfterSend(Duration),
    /// Right after the reply.
    AfterReply,
}

const POINTS: [KillPoint; 5] = [
    KillPoint::BeforeRequest,
    KillPoint::AfterSend(Duration::ZERO),
    KillPoint::AfterSend(Duration::from_millis(5)),
    KillPoint::AfterSend(Duration::from_millis(30)),
    KillPoint::AfterReply,
];

/// Adds (`add`) or removes member 4 through a follower while the leader is killed at `point`, restarts
/// the leader, and checks the voters agree on a whole config. Returns whether member 4 is a voter now.
async fn change_with_leader_killed(ensemble: &mut Ensemble, add: bool, point: KillPoint) -> bool {
    let mut voters = STAYING.to_vec();
    if !add {
        voters.push(CHANGING);
    }
    let leader = ensemble.leader_among(&voters, LIMIT).await.unwrap();
    let via = *STAYING.iter().find(|&&m| m != leader).unwrap();
    let admin = ensemble.admin_on(via).await.unwrap();
    let joining = ensemble.joining_spec(CHANGING);
    let leaving = CHANGING.to_string();
    let update = || {
        let (joinings, leavings) = if add {
            (vec![joining.as_str()], vec![])
        } else {
            (vec![], vec![leaving.as_str()])
        };
        admin.update_ensemble(
            EnsembleUpdate::Incremental {
                joinings: joinings.into_iter(),
                leavings: leavings.into_iter(),
            },
            None,
        )
    };
    let result = match point {
        KillPoint::BeforeRequest => {
            ensemble.kill(leader).await.unwrap();
            update().await
        }
        KillPoint::AfterSend(delay) => {
            let kill = async {
                tokio::time::sleep(delay).await;
                ensemble.kill(leader).await.unwrap();
            };
            tokio::join!(update(), kill).0
        }
        KillPoint::AfterReply => {
            let result = update().await;
            ensemble.kill(leader).await.unwrap();
            result
        }
    };
    ensemble.restart(leader).await.unwrap();
    let mut everyone = STAYING.to_vec();
    if ensemble
        .committed_config()
        .await
        .unwrap()
        .voters()
        .contains(&CHANGING)
    {
        everyone.push(CHANGING);
    }
    let agreed = ensemble.agreed_config(&everyone).await.unwrap();
    let voters_now = agreed.voters();
    let applied = voters_now.contains(&CHANGING) == add;
    let mut expected_voters = STAYING.to_vec();
    if voters_now.contains(&CHANGING) {
        expected_voters.push(CHANGING);
    }
    assert_eq!(
        voters_now, expected_voters,
        "voters after {point:?}: {agreed:?}"
    );
    if result.is_ok() {
        assert!(
            applied,
            "the reconfig succeeded but is not in the config: {agreed:?}"
        );
    }
    println!(
        "{} member {CHANGING}, leader {leader} killed {point:?}: reply {}, {}",
        if add { "add" } else { "remove" },
        match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("error ({e})"),
        },
        if applied { "applied" } else { "not applied" }
    );
    voters_now.contains(&CHANGING)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconfig_is_all_or_nothing_whenever_the_leader_dies() {
    zk_robustness::init_test_tracing();
    let mut ensemble =
        Ensemble::start_growable(Path::new(env!("CARGO_BIN_EXE_zk-server")), 4, SETTINGS)
            .await
            .expect("start member 1");
    let spec = WorkloadSpec {
        clients: 4,
        registers: 3,
        seed: 6,
    };
    let load = Workload::start(&ensemble.connect_string(), &spec)
        .await
        .expect("start the load");
    ensemble.join(2).await.unwrap();
    ensemble.join(3).await.unwrap();

    for point in POINTS {
        tokio::time::sleep(SETTLE).await;
        if !ensemble.is_running(CHANGING) {
            ensemble.start_joiner(CHANGING).await.unwrap();
        }
        if change_with_leader_killed(&mut ensemble, true, point).await {
            ensemble.leave(CHANGING).await.unwrap();
        }
    }
    for point in POINTS {
        tokio::time::sleep(SETTLE).await;
        if !ensemble.is_running(CHANGING) {
            ensemble.join(CHANGING).await.unwrap();
        }
        if change_with_leader_killed(&mut ensemble, false, point).await {
            ensemble.leave(CHANGING).await.unwrap();
        } else {
            // A removed member stays up as a non-voting member; the operator deletes it.
            ensemble.kill(CHANGING).await.unwrap();
        }
    }
    tokio::time::sleep(SETTLE).await;
    let report = load.stop().await;

    verify::assert_no_problems(&ensemble, &STAYING, &report, spec.registers, &checker_dir()).await;
    let (answered, unknown) = report.history().outcome_counts();
    println!("{answered} operations answered, {unknown} unknown");
    ensemble.stop().await;
}
