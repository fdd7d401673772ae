//! A network partition, with real member processes on a network of their own (see the `zk-robustness`
//! crate): the leader of a 3-member ensemble is cut off from its peers (its clients still reach it) while
//! clients read, write and compare-and-set registers. The majority must elect a new leader and keep
//! serving; the isolated member must acknowledge no write and stop serving (its clients reconnect
//! elsewhere, no session expires); once healed it must rejoin and hold what the others hold, and the
//! whole history must be linearizable.
//!
//! A follower whose own link refuses its connections to a leader that still runs (what it sees when a
//! leader's process is gone) must not depose that leader: its campaign is refused by the member that
//! still hears the leader, the leader keeps its epoch, and nothing is lost.
//!
//! Needs root: the members run in network namespaces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zk_robustness::ensemble::Ensemble;
use zk_robustness::verify;
use zk_robustness::workload::{self, Workload, WorkloadSpec};
use zookeeper_client::{Acls, CreateMode};

/// Short ticks, so that the isolated member notices within seconds (`syncLimit` ticks: 2.5 s).
const SETTINGS: &str = "tickTime=500\ninitLimit=10\nsyncLimit=5\n";
/// How long the load runs between steps.
const SETTLE: Duration = Duration::from_secs(3);
/// How long a new leader, or a member's change of mode, may take.
const LIMIT: Duration = Duration::from_secs(30);
/// How long the leader stays cut off.
const PARTITION: Duration = Duration::from_secs(6);
/// How long a follower's connections to its live leader are refused: several election timeouts.
const RESET: Duration = Duration::from_secs(4);
/// A znode outside the registers, written through the isolated member only.
const PROBE: &str = "/probe";

/// Where the linearizability checker is built and keeps its reports.
fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("linearizability-checker")
}

/// Three members under a load of 6 clients on 3 registers (operation mix `seed`), run for
/// [`SETTLE`]; and the member that leads then.
async fn under_load(seed: u64) -> (Ensemble, WorkloadSpec, Workload, usize) {
    zk_robustness::init_test_tracing();
    let ensemble = Ensemble::start(Path::new(env!("CARGO_BIN_EXE_zk-server")), 3, SETTINGS)
        .await
        .expect("start the ensemble");
    let spec = WorkloadSpec {
        clients: 6,
        registers: 3,
        seed,
    };
    let load = Workload::start(&ensemble.connect_string(), &spec)
        .await
        .expect("start the load");
    tokio::time::sleep(SETTLE).await;
    let leader = ensemble.leader(LIMIT).await.unwrap();
    (ensemble, spec, load, leader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_leader_stops_acknowledging_and_rejoins_after_healing() {
    let (ensemble, spec, load, leader) = under_load(7).await;
    // A client that knows only the leader.
    let lonely = workload::connect(&ensemble.client_addr(leader).to_string())
        .await
        .unwrap();
    lonely
        .create(
            PROBE,
            b"0",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap();

    ensemble.isolate(leader).unwrap();
    let cut_at = load.now();
    let probe = tokio::spawn(async move {
        let result = lonely.set_data(PROBE, b"1", None).await;
        (result, lonely)
    });
    let rest: Vec<usize> = ensemble
        .ids()
        .into_iter()
        .filter(|&id| id != leader)
        .collect();
    let successor = ensemble.leader_among(&rest, LIMIT).await.unwrap();
    let gap = load
        .write_gap(cut_at, LIMIT)
        .await
        .expect("the majority acknowledged no write after the partition");
    ensemble
        .wait_mode(leader, None, LIMIT)
        .await
        .expect("the isolated leader kept serving");
    tokio::time::sleep(PARTITION.saturating_sub(Duration::from_nanos(load.now() - cut_at))).await;
    if probe.is_finished() {
        let (result, _) = probe.await.unwrap();
        assert!(
            result.is_err(),
            "the isolated member acknowledged a write: {result:?}"
        );
    }

    ensemble.heal(leader).unwrap();
    ensemble
        .wait_mode(leader, Some("follower"), LIMIT)
        .await
        .expect("the healed member did not rejoin");
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
        "member {leader} isolated: member {successor} leads, first write acknowledged after \
         {gap:.2?}; {answered} operations answered, {unknown} unknown"
    );
    ensemble.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_refused_by_its_live_leader_deposes_nobody() {
    let (ensemble, spec, load, leader) = under_load(11).await;
    let epoch = ensemble.zxid(leader).await.expect("the leader's zxid") >> 32;
    let follower = ensemble.ids().into_iter().find(|&id| id != leader).unwrap();

    ensemble.reset_quorum_link(follower, leader).unwrap();
    let reset_at = std::time::Instant::now();
    while reset_at.elapsed() < RESET {
        for id in ensemble.ids() {
            let mode = ensemble.mode(id).await;
            if id == leader {
                assert_eq!(mode.as_deref(), Some("leader"), "member {id} was deposed");
            } else {
                assert_ne!(mode.as_deref(), Some("leader"), "member {id} took over");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensemble.heal(follower).unwrap();
    let after = ensemble.zxid(leader).await.expect("the leader's zxid") >> 32;
    assert_eq!(after, epoch, "the leader's epoch changed");
    // The follower did take the refusals for its leader's death, and campaigned.
    let log = std::fs::read_to_string(ensemble.member_dir(follower).join("server.log")).unwrap();
    assert!(
        log.contains("refuses connections"),
        "member {follower} never saw its leader refuse a connection"
    );
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
        "member {follower} refused by leader {leader} for {RESET:?}: leader kept epoch {epoch}; \
         {answered} operations answered, {unknown} unknown"
    );
    ensemble.stop().await;
}
