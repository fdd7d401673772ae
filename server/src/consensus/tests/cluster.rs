//! Three members in one process on loopback (quorum ports 27101..=27103, 27201..=27203 and
//! 27301..=27303, 28701..=28703, 28801..=28803): election, forwarding, failover, catch-up by
//! snapshot, a member with another ensemble's data, a seeded member that starts after the empty
//! ones.

use std::sync::Arc;
use std::time::Duration;

use super::machine::TestMachine;
use super::{start, voters};
use crate::consensus::{Consensus, Member, Role};

struct Node {
    consensus: Consensus,
    machine: Arc<TestMachine>,
}

async fn start_all(root: &std::path::Path, members: &[Member], snap_count: u64) -> Vec<Node> {
    let mut nodes = Vec::new();
    for member in members {
        let (consensus, machine) = start(root, member.id, members, snap_count).await;
        nodes.push(Node { consensus, machine });
    }
    nodes
}

/// Takes member `id` out of `nodes`.
fn take(nodes: &mut Vec<Node>, id: u64) -> Node {
    nodes.remove(
        nodes
            .iter()
            .position(|n| n.consensus.my_id() == id)
            .unwrap(),
    )
}

async fn shutdown_all(nodes: &[Node]) {
    for node in nodes {
        node.consensus.shutdown().await;
    }
}

/// Waits until every running member names the same leader, and returns its id. (Voters that
/// cannot reach every other voter on their first start wait out a grace period of five seconds
/// before they found the ensemble.)
async fn agreed_leader(nodes: &[&Node]) -> u64 {
    for _ in 0..750 {
        let leaders: Vec<Option<u64>> = nodes.iter().map(|n| n.consensus.leader_id()).collect();
        if let Some(Some(leader)) = leaders.first()
            && leaders.iter().all(|l| l == &Some(*leader))
            && nodes.iter().any(|n| n.consensus.role() == Role::Leader)
        {
            return *leader;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no agreed leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_any_member_are_replicated_to_all() {
    let dir = tempfile::tempdir().unwrap();
    let members = voters(3, 27100);
    let nodes = start_all(dir.path(), &members, 1000).await;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;
    let roles: Vec<Role> = nodes.iter().map(|n| n.consensus.role()).collect();
    assert_eq!(roles.iter().filter(|r| **r == Role::Leader).count(), 1);
    assert_eq!(roles.iter().filter(|r| **r == Role::Follower).count(), 2);

    let mut written = Vec::new();
    for i in 0..30u8 {
        let node = &nodes[i as usize % 3];
        let reply = node.consensus.propose(vec![i]).await.unwrap();
        assert_eq!(&reply[8..], &[i]);
        // Applied on the proposing member before `propose` returns.
        assert!(
            node.consensus.last_applied_zxid()
                >= i64::from_be_bytes(reply[..8].try_into().unwrap())
        );
        written.push(vec![i]);
    }
    for node in &nodes {
        node.consensus.sync().await.unwrap();
        assert_eq!(
            node.machine.commands(),
            written,
            "member {}",
            node.consensus.my_id()
        );
        assert_eq!(node.consensus.leader_id(), Some(leader));
    }
    shutdown_all(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_takes_over_without_losing_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let members = voters(3, 27200);
    let mut nodes = start_all(dir.path(), &members, 1000).await;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;

    let mut written = Vec::new();
    for i in 0..10u8 {
        nodes[i as usize % 3]
            .consensus
            .propose(vec![i])
            .await
            .unwrap();
        written.push(vec![i]);
    }
    let old = take(&mut nodes, leader);
    old.consensus.shutdown().await;

    let survivors: Vec<&Node> = nodes.iter().collect();
    let stopped_at = std::time::Instant::now();
    let new_leader = agreed_leader(&survivors).await;
    assert_ne!(new_leader, leader);
    for i in 10..20u8 {
        nodes[i as usize % 2]
            .consensus
            .propose(vec![i])
            .await
            .unwrap();
        written.push(vec![i]);
    }
    tracing::info!(gap = ?stopped_at.elapsed(), "failover and ten writes");
    for node in &nodes {
        node.consensus.sync().await.unwrap();
        assert_eq!(node.machine.commands(), written);
    }

    // The old leader comes back as a follower and catches up.
    let (consensus, machine) = start(dir.path(), leader, &members, 1000).await;
    consensus.sync().await.unwrap();
    assert_eq!(machine.commands(), written);
    assert_eq!(consensus.leader_id(), Some(new_leader));
    consensus.shutdown().await;
    shutdown_all(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_member_catches_up_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let members = voters(3, 27300);
    let mut nodes = start_all(dir.path(), &members, 5).await;
    let leader = agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;
    let lagging_id = members
        .iter()
        .map(|m| m.id)
        .find(|id| *id != leader)
        .unwrap();
    let lagging = take(&mut nodes, lagging_id);
    lagging.consensus.shutdown().await;

    let mut written = Vec::new();
    for i in 0..60u8 {
        nodes[i as usize % 2]
            .consensus
            .propose(vec![i])
            .await
            .unwrap();
        written.push(vec![i]);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (consensus, machine) = start(dir.path(), lagging_id, &members, 5).await;
    if let Err(e) = consensus.sync().await {
        // Say why Raft stopped, if it did (this failed once on a busy machine).
        let why = tokio::time::timeout(Duration::from_secs(1), consensus.failure()).await;
        panic!("the lagging member's sync failed: {e}; Raft's failure: {why:?}");
    }
    assert_eq!(machine.commands(), written);
    consensus.shutdown().await;
    shutdown_all(&nodes).await;
}

/// A member that starts with another ensemble's data (member 1 seeded alone, while members 2 and 3
/// formed the ensemble of three without it) cannot follow that ensemble's leader: Raft stops on it,
/// and `failure` reports that (a panic of Raft's core included) so that the process ends instead of
/// serving a state that no longer moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_with_another_ensembles_data_fails_rather_than_serves() {
    let (seeded, fresh) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let members = voters(3, 28700);
    let (alone, _) = start(seeded.path(), 1, &members[..1], 5).await;
    for i in 0..60u8 {
        alone.propose(vec![i]).await.unwrap();
    }
    alone.shutdown().await;

    let mut nodes = Vec::new();
    for id in [2, 3] {
        let (consensus, machine) = start(fresh.path(), id, &members, 5).await;
        nodes.push(Node { consensus, machine });
    }
    agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;
    for i in 0..3u8 {
        nodes[0].consensus.propose(vec![i]).await.unwrap();
    }

    let (one, _) = start(seeded.path(), 1, &members, 5).await;
    let why = tokio::time::timeout(Duration::from_secs(20), one.failure())
        .await
        .expect("the member with the other ensemble's data stops");
    tracing::info!(%why, "member 1 stopped");
    assert!(!why.is_empty());
    one.shutdown().await;
    shutdown_all(&nodes).await;
}

/// Members 2 and 3 start with empty logs and cannot reach member 1, which an import seeded and
/// which starts a second later: they wait for it instead of founding an ensemble without it, then
/// join its ensemble and hold its data. (Founded at once, they would elect a leader of their own
/// beside member 1, which leads the ensemble of its seeded log.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_members_wait_for_a_seeded_member_that_starts_later() {
    let (seeded, fresh) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let members = voters(3, 28800);
    let (alone, machine) = start(seeded.path(), 1, &members[..1], 1000).await;
    let written: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i]).collect();
    for command in &written {
        alone.propose(command.clone()).await.unwrap();
    }
    assert_eq!(machine.commands(), written);
    alone.shutdown().await;

    let mut nodes = Vec::new();
    for id in [2, 3] {
        let (consensus, machine) = start(fresh.path(), id, &members, 1000).await;
        nodes.push(Node { consensus, machine });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (consensus, machine) = start(seeded.path(), 1, &members, 1000).await;
    nodes.push(Node { consensus, machine });
    agreed_leader(&nodes.iter().collect::<Vec<_>>()).await;
    let last = vec![99];
    nodes[0].consensus.propose(last.clone()).await.unwrap();
    let expected: Vec<Vec<u8>> = written.iter().cloned().chain([last]).collect();
    for _ in 0..250 {
        if nodes.iter().all(|n| n.machine.commands() == expected) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for node in &nodes {
        assert_eq!(
            node.machine.commands(),
            expected,
            "member {} holds the seeded entries",
            node.consensus.my_id()
        );
    }
    shutdown_all(&nodes).await;
}
