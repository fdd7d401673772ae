//! A joiner's Zab phase on loopback (quorum ports 29101..=29104): behind by a large snapshot, it
//! reports synchronization until it has caught up, then broadcast, and stays in broadcast while
//! the leader keeps writing.

use std::time::{Duration, Instant};

use futures::future::join_all;

use super::machine::TestMachine;
use super::{start, start_with, voters};
use crate::consensus::{Consensus, Phase, Role};

/// Entries written before the joiner starts (1 KiB each): far more than the log keeps behind a
/// snapshot, so the joiner must install one.
const BEHIND: usize = 1500;
/// How long the joiner takes to restore a snapshot, as a large one would.
const RESTORE_TIME: Duration = Duration::from_millis(400);

/// Proposes `count` commands of 1 KiB on `leader`, 250 at a time, numbered from `first`.
async fn write(leader: &Consensus, first: usize, count: usize) {
    for chunk in (first..first + count).collect::<Vec<_>>().chunks(250) {
        let proposals = chunk.iter().map(|i| {
            let mut command = i.to_be_bytes().to_vec();
            command.resize(1024, 0);
            leader.propose(command)
        });
        for result in join_all(proposals).await {
            result.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_joiner_behind_by_a_snapshot_synchronizes_then_broadcasts() {
    let dir = tempfile::tempdir().unwrap();
    let all = voters(4, 29100);
    let first_three = &all[..3];
    let mut nodes = Vec::new();
    for member in first_three {
        nodes.push(start(dir.path(), member.id, first_three, 200).await);
    }
    let leader = loop {
        if let Some((c, _)) = nodes.iter().find(|(c, _)| c.role() == Role::Leader) {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(leader.phase(), Phase::Broadcast);
    write(leader, 0, BEHIND).await;

    let machine = TestMachine::slow_to_restore(RESTORE_TIME);
    let (joiner, machine) = start_with(dir.path(), 4, &all, 200, machine).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut synchronizing_behind = 0;
    loop {
        // Applied first, phase second: a broadcast seen after a count was taken covers it.
        let applied = machine.command_count();
        let (role, phase) = (joiner.role(), joiner.phase());
        if phase == Phase::Broadcast && role == Role::Follower {
            assert_eq!(
                machine.command_count(),
                BEHIND,
                "broadcast only once the leader's committed state is applied"
            );
            break;
        }
        if role == Role::Follower && applied < BEHIND {
            synchronizing_behind += 1;
        }
        assert!(Instant::now() < deadline, "the joiner never caught up");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        machine.restores() >= 1,
        "the joiner caught up from a snapshot"
    );
    assert!(
        synchronizing_behind > 0,
        "the joiner was seen following in synchronization while behind"
    );

    // Writes go on: a member that keeps a few entries behind its leader stays in broadcast.
    let watch = async {
        let mut samples = 0;
        while machine.command_count() < 2 * BEHIND {
            assert_eq!(
                (joiner.role(), joiner.phase()),
                (Role::Follower, Phase::Broadcast)
            );
            samples += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        samples
    };
    let (_, samples) = tokio::join!(write(leader, BEHIND, BEHIND), watch);
    assert!(samples > 0);

    joiner.shutdown().await;
    for (consensus, _) in nodes.drain(..) {
        consensus.shutdown().await;
    }
}
