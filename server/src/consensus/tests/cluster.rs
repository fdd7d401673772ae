//! Three members in one process on loopback (quorum ports 27101..=27103, 27201..=27203 and
//! 27301..=27303): election, forwarding, failover, catch-up by snapshot.

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

/// Waits until every running member names the same leader, and returns its id.
async fn agreed_leader(nodes: &[&Node]) -> u64 {
    for _ in 0..300 {
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
