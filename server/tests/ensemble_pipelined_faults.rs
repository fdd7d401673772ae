//! Per-session FIFO of pipelined writes under faults, with real member processes on a network of their
//! own (see the `zk-robustness` crate): 8 sessions each keep up to 32 sequential creates in flight, each
//! holding the session's submission number, while the leader of a 3-member ensemble is killed (SIGKILL)
//! and restarted, or cut off from its peers and healed. Afterwards every member, read directly after
//! `sync`, must hold every acknowledged write exactly once, each session's writes in submission order,
//! nothing a session sent on a connection after a write that connection lost, nothing never sent — and
//! the same children as every other member.
//!
//! Needs root: the members run in network namespaces.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use zk_robustness::ensemble::Ensemble;
use zk_robustness::fifo::check::{Committed, check};
use zk_robustness::fifo::history::OutcomeCounts;
use zk_robustness::fifo::load::{FifoLoad, FifoReport, FifoSpec};
use zk_robustness::fifo::survey::committed_on;

/// Short ticks: a new leader within a second or two, an isolated member gives up after 2.5 s.
const SETTINGS: &str = "tickTime=500\ninitLimit=10\nsyncLimit=5\n";
/// How long the load runs before the fault and after recovery.
const SETTLE: Duration = Duration::from_secs(3);
/// How long a new leader, or a member's change of mode, may take.
const LIMIT: Duration = Duration::from_secs(30);
/// How long the old leader may take to follow again. Under this load the killed leader's own log lags
/// tens of thousands of entries behind what its followers committed (the quorum needs no leader fsync),
/// so after its restart it first fetches that tail, or the new leader's snapshot, while the load goes on:
/// 10–20 s on two cores with nothing else running.
const REJOIN: Duration = Duration::from_secs(90);
/// The two tests run one after the other: each starts three members and sixteen busy sessions, and two
/// such runs at once on a small machine measure the machine rather than the server.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// How long the leader stays down or cut off.
const OUTAGE: Duration = Duration::from_secs(4);
const SPEC: FifoSpec = FifoSpec {
    sessions: 8,
    window: 32,
};

/// What is done to the leader.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL, restart after [`OUTAGE`].
    Kill,
    /// Cut off from its peers for [`OUTAGE`], then healed.
    Isolate,
}

/// Runs the load on a new 3-member ensemble through `fault` and returns the ensemble, the load's report
/// and when the fault began (on the load's clock).
async fn run_through(fault: Fault) -> (Ensemble, FifoReport, u64) {
    zk_robustness::init_test_tracing();
    let mut ensemble = Ensemble::start(Path::new(env!("CARGO_BIN_EXE_zk-server")), 3, SETTINGS)
        .await
        .expect("start the ensemble");
    let members: Vec<SocketAddr> = ensemble
        .ids()
        .into_iter()
        .map(|id| ensemble.client_addr(id))
        .collect();
    let load = FifoLoad::start(&members, &SPEC)
        .await
        .expect("start the load");
    tokio::time::sleep(SETTLE).await;
    let leader = ensemble.leader(LIMIT).await.unwrap();
    let rest: Vec<usize> = ensemble
        .ids()
        .into_iter()
        .filter(|&id| id != leader)
        .collect();
    let fault_at = load.now();
    match fault {
        Fault::Kill => ensemble.kill(leader).await.unwrap(),
        Fault::Isolate => ensemble.isolate(leader).unwrap(),
    }
    let successor = ensemble.leader_among(&rest, LIMIT).await.unwrap();
    tokio::time::sleep(OUTAGE.saturating_sub(Duration::from_nanos(load.now() - fault_at))).await;
    match fault {
        Fault::Kill => ensemble.restart(leader).await.unwrap(),
        Fault::Isolate => ensemble.heal(leader).unwrap(),
    }
    ensemble
        .wait_mode(leader, Some("follower"), REJOIN)
        .await
        .expect("the old leader did not rejoin");
    println!("{fault:?}: member {leader} led, member {successor} leads after it");
    tokio::time::sleep(SETTLE).await;
    (ensemble, load.stop().await, fault_at)
}

/// Checks every member's state against the report of a run through `fault`, and that they all hold the
/// same; prints the counts.
async fn assert_fifo(fault: Fault, ensemble: Ensemble, report: FifoReport, fault_at: u64) {
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    let mut states: Vec<(usize, Committed)> = Vec::new();
    for id in ensemble.ids() {
        let state = committed_on(ensemble.client_addr(id), SPEC.sessions)
            .await
            .expect("read a member's state");
        let violations = check(&report.histories, &state);
        assert!(
            violations.is_empty(),
            "member {id}:\n{}",
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        states.push((id, state));
    }
    let (first, reference) = &states[0];
    for (id, state) in &states[1..] {
        assert!(
            state == reference,
            "member {id} holds other children than member {first}"
        );
    }
    refuses_a_reordered_copy(&report, reference);

    let counts = OutcomeCounts::of(&report.histories);
    let present: BTreeSet<(u32, Vec<u8>)> = reference
        .iter()
        .flat_map(|(&session, children)| children.values().map(move |d| (session, d.clone())))
        .collect();
    let writes = report
        .histories
        .iter()
        .flat_map(|h| h.writes.iter().map(move |w| (h.session, w)));
    let lost = writes
        .clone()
        .filter(|(session, w)| {
            !w.acknowledged()
                && !present.contains(&(*session, w.submission.to_string().into_bytes()))
        })
        .count();
    let after_fault = writes
        .clone()
        .filter(|(_, w)| w.acknowledged() && w.invoked > fault_at)
        .count();
    // Connections left with unanswered writes, and those of them where some of these committed and
    // later ones were lost: where a gap on one connection would show.
    let mut unanswered: BTreeMap<(u32, u32), (usize, usize)> = BTreeMap::new();
    for (session, w) in writes.clone().filter(|(_, w)| !w.acknowledged()) {
        let (committed, lost) = unanswered.entry((session, w.attempt)).or_default();
        if present.contains(&(session, w.submission.to_string().into_bytes())) {
            *committed += 1;
        } else {
            *lost += 1;
        }
    }
    let split = unanswered
        .values()
        .filter(|(c, l)| *c > 0 && *l > 0)
        .count();
    let attempts: u32 = report
        .histories
        .iter()
        .map(|h| h.writes.last().map_or(0, |w| w.attempt + 1))
        .sum();
    println!(
        "{fault:?}: {} acknowledged ({after_fault} sent after the fault), {} failed, {} unknown ({} committed, \
         {lost} lost); {attempts} connections, {} left with unanswered writes, {split} of them with \
         some committed and the later ones lost",
        counts.acknowledged,
        counts.failed,
        counts.unknown,
        counts.unknown + counts.failed - lost,
        unanswered.len()
    );
    assert!(after_fault > 0, "no write acknowledged after the fault");
    ensemble.stop().await;
}

/// The check is no rubber stamp: the state just found FIFO, with the data of a session's two first
/// children swapped, is refused.
fn refuses_a_reordered_copy(report: &FifoReport, state: &Committed) {
    let mut corrupted = state.clone();
    let children = corrupted
        .values_mut()
        .find(|children| children.len() >= 2)
        .expect("a session with two writes");
    let mut sequences = children.keys().copied();
    let (a, b) = (sequences.next().unwrap(), sequences.next().unwrap());
    let first = children[&a].clone();
    let second = children.insert(b, first).unwrap();
    children.insert(a, second);
    assert!(!check(&report.histories, &corrupted).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_writes_stay_in_order_when_the_leader_is_killed() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (ensemble, report, fault_at) = run_through(Fault::Kill).await;
    assert_fifo(Fault::Kill, ensemble, report, fault_at).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_writes_stay_in_order_when_the_leader_is_isolated() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (ensemble, report, fault_at) = run_through(Fault::Isolate).await;
    assert_fifo(Fault::Isolate, ensemble, report, fault_at).await;
}
