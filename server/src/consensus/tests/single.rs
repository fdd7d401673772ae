//! One member: bootstrap, zxids, durability across restarts and crashes, snapshots.

use std::time::Duration;

use super::{options, start, voters};
use crate::consensus::{Consensus, Role};

fn zxid_of_reply(reply: &[u8]) -> i64 {
    i64::from_be_bytes(reply[..8].try_into().unwrap())
}

async fn wait_for_role(consensus: &Consensus, role: Role) {
    for _ in 0..200 {
        if consensus.role() == role {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("role stayed {:?}, wanted {role:?}", consensus.role());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_member_leads_and_assigns_zxids_from_term_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let members = voters(1, 27000);
    let (consensus, machine) = start(dir.path(), 1, &members, 1000).await;

    let first = consensus.propose(b"a".to_vec()).await.unwrap();
    let second = consensus.propose(b"b".to_vec()).await.unwrap();
    assert_eq!(&first[8..], b"a");
    let (z1, z2) = (zxid_of_reply(&first), zxid_of_reply(&second));
    assert!(z1 >> 32 >= 1, "the epoch is the term: {z1:#x}");
    assert_eq!(z2, z1 + 1, "consecutive entries of one term");
    assert_eq!(consensus.last_applied_zxid(), z2);
    assert_eq!(consensus.role(), Role::Leader);
    assert_eq!(consensus.leader_id(), Some(1));
    consensus.sync().await.unwrap();

    let applied = machine.applied();
    let (config_zxid, config) = &applied.memberships[0];
    assert_eq!(config, &members);
    assert!(
        *config_zxid < z1,
        "the initial membership is applied before any command"
    );
    assert_eq!(consensus.members(), members);
    consensus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let members = voters(1, 27000);
    let (consensus, _) = start(dir.path(), 1, &members, 1000).await;
    for i in 0..20u8 {
        consensus.propose(vec![i]).await.unwrap();
    }
    let last = consensus.last_applied_zxid();
    consensus.shutdown().await;
    assert!(
        consensus.log_is_closed(),
        "the log is closed once the shutdown returns"
    );

    let (consensus, machine) = start(dir.path(), 1, &members, 1000).await;
    wait_for_role(&consensus, Role::Leader).await;
    assert_eq!(
        machine.commands(),
        (0..20u8).map(|i| vec![i]).collect::<Vec<_>>()
    );
    let reply = consensus.propose(b"after".to_vec()).await.unwrap();
    assert!(
        zxid_of_reply(&reply) > last,
        "zxids keep growing across restarts"
    );
    consensus.shutdown().await;
}

/// The member's runtime is dropped without any shutdown, as a killed process would be.
#[test]
fn acknowledged_writes_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let members = voters(1, 27000);
    let crashed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acknowledged = crashed.block_on(async {
        let (consensus, _) = start(dir.path(), 1, &members, 1000).await;
        let mut acknowledged = Vec::new();
        for i in 0..50u8 {
            consensus.propose(vec![i]).await.unwrap();
            acknowledged.push(vec![i]);
        }
        // Left running: the runtime goes away under it.
        std::mem::forget(consensus);
        acknowledged
    });
    crashed.shutdown_background();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (consensus, machine) = start(dir.path(), 1, &members, 1000).await;
        wait_for_role(&consensus, Role::Leader).await;
        consensus.sync().await.unwrap();
        assert_eq!(machine.commands(), acknowledged);
        consensus.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_taken_kept_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let members = voters(1, 27000);
    let (consensus, _) = start(dir.path(), 1, &members, 5).await;
    for i in 0..40u8 {
        consensus.propose(vec![i]).await.unwrap();
    }
    // Snapshots are built in the background: give the last one time to land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    consensus.shutdown().await;

    let snapshot_dir = options(dir.path(), 1, &members, 5)
        .data_dir
        .join("raft-snapshot");
    let snapshots = std::fs::read_dir(&snapshot_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot."));
    let count = snapshots.count();
    assert!(
        (1..=3).contains(&count),
        "snapRetainCount 3 keeps 1..=3 snapshots, found {count}"
    );

    let (consensus, machine) = start(dir.path(), 1, &members, 5).await;
    wait_for_role(&consensus, Role::Leader).await;
    consensus.sync().await.unwrap();
    assert_eq!(
        machine.commands(),
        (0..40u8).map(|i| vec![i]).collect::<Vec<_>>()
    );
    consensus.shutdown().await;
}
