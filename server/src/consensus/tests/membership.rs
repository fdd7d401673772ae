//! Membership changes on loopback (quorum ports 27401..=27404, 27501..=27509, 27601..=27603,
//! 27701..=27704, 27801..=27802, 27901..=27903, 28001..=28002, 28101..=28102, 28201..=28204,
//! 28301..=28302, 28401..=28404, 28501..=28502, 28601..=28604): a joiner syncing before it is added, refusing a change without
//! a synced quorum of the new voters, an unconnected voter that joins at once and votes once it
//! connects (also right after a leader change), removing the leader, configured observers, a
//! one-member ensemble that grows, a removed id that comes back, a change interrupted by the
//! leader's crash, an observer that joins and is listed only once a reconfig adds it, a joiner whose
//! host does not resolve (yet) synced and added all the same.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::machine::TestMachine;
use super::{options, start, voters};
use crate::consensus::{Consensus, ConsensusError, Member, Role};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caught_up_member_is_added_as_a_voter() {
    let dir = tempfile::tempdir().unwrap();
    let all = voters(4, 27400);
    let first_three = &all[..3];
    let mut nodes = Vec::new();
    for member in first_three {
        nodes.push(start(dir.path(), member.id, first_three, 1000).await);
    }
    for i in 0..5u8 {
        nodes[0].0.propose(vec![i]).await.unwrap();
    }
    // The joiner starts from the current config plus itself (as Apache's joiners do), and
    // syncs as a non-voting member before the change.
    let joiner = start(dir.path(), 4, &all, 1000).await;
    for _ in 0..100 {
        if joiner.1.commands().len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        joiner.1.commands().len(),
        5,
        "the joiner syncs before it is added"
    );
    assert_eq!(
        joiner.0.role(),
        Role::Follower,
        "a syncing joiner reports follower, as Apache"
    );
    assert!(nodes[0].0.members().iter().any(|m| m.id == 4 && !m.voter));

    let follower = nodes
        .iter()
        .find(|(c, _)| c.role() == Role::Follower)
        .unwrap();
    // As a client does before it reads the config for `-v`: the joiner's entry may not have
    // reached this follower yet.
    follower.0.sync().await.unwrap();
    let version = follower.0.config_version();
    let stale = version - 1;
    assert!(matches!(
        follower.0.change_membership(all.clone(), Some(stale)).await,
        Err(ConsensusError::BadVersion { current }) if current == version
    ));
    let new_version = follower
        .0
        .change_membership(all.clone(), Some(version))
        .await
        .unwrap();
    assert!(new_version > version);
    assert_eq!(follower.0.config_version(), new_version);
    assert_eq!(follower.0.members(), all);

    joiner
        .0
        .propose(b"from the new member".to_vec())
        .await
        .unwrap();
    joiner.0.sync().await.unwrap();
    assert_eq!(joiner.0.role(), Role::Follower);
    assert_eq!(joiner.1.commands().len(), 6);
    let (zxid, members) = joiner.1.applied().memberships.last().unwrap().clone();
    assert_eq!((zxid, members), (new_version, all.clone()));

    joiner.0.shutdown().await;
    for (consensus, _) in &nodes {
        consensus.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_without_a_synced_quorum_of_the_new_voters_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // The seed rule: a one-member ensemble cannot add an unconnected voter ({1} of {1, 2}).
    let seed_dir = tempfile::tempdir().unwrap();
    let pair = voters(2, 28300);
    let (seed, _) = start(seed_dir.path(), 1, &pair[..1], 1000).await;
    seed.propose(b"alone".to_vec()).await.unwrap();
    let started = std::time::Instant::now();
    let refused = seed.change_membership(pair.clone(), None).await;
    assert!(
        matches!(refused, Err(ConsensusError::NewConfigNoQuorum(_))),
        "{refused:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once"
    );
    assert_eq!(seed.members(), pair[..1]);
    seed.shutdown().await;

    // Three synced voters are no quorum of six new ones.
    let mut all = voters(3, 27500);
    let mut nodes = Vec::new();
    for member in &all {
        nodes.push(start(dir.path(), member.id, &all, 1000).await);
    }
    nodes[0].0.propose(b"x".to_vec()).await.unwrap();
    let before = nodes[0].0.config_version();
    for id in 7..=9u64 {
        all.push(Member {
            id,
            spec: format!("127.0.0.1:275{id:02}:276{id:02}:participant;127.0.0.1:277{id:02}"),
            voter: true,
        });
    }
    let refused = nodes[0].0.change_membership(all.clone(), None).await;
    assert!(
        matches!(refused, Err(ConsensusError::NewConfigNoQuorum(_))),
        "{refused:?}"
    );
    nodes[0].0.propose(b"y".to_vec()).await.unwrap();
    for (consensus, _) in &nodes {
        consensus.sync().await.unwrap();
        assert!(consensus.members().iter().all(|m| m.id < 7));
        assert!(consensus.config_version() >= before);
    }
    for (consensus, _) in &nodes {
        consensus.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconnected_voter_joins_at_once_then_catches_up_and_votes() {
    let dir = tempfile::tempdir().unwrap();
    let all = voters(4, 28200);
    let mut nodes = Vec::new();
    for member in &all[..3] {
        nodes.push(start(dir.path(), member.id, &all[..3], 1000).await);
    }
    nodes[0].0.propose(b"before".to_vec()).await.unwrap();
    // From a follower (forwarded to the leader): remove 3, add 4, which is not running. {1, 2}
    // is a synced quorum of {1, 2, 4}, so the change commits at once.
    let next = vec![all[0].clone(), all[1].clone(), all[3].clone()];
    let follower = nodes
        .iter()
        .position(|(c, _)| c.role() == Role::Follower && c.my_id() != 3)
        .unwrap_or(1);
    let started = std::time::Instant::now();
    nodes[follower]
        .0
        .change_membership(next.clone(), None)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no wait for the joiner: {:?}",
        started.elapsed()
    );
    assert_eq!(nodes[follower].0.members(), next);

    // Server 4 comes up later with the committed config: it catches up, then its vote counts.
    let (joiner, joiner_machine) = start(dir.path(), 4, &next, 1000).await;
    joiner.sync().await.unwrap();
    assert_eq!(joiner.role(), Role::Follower);
    assert!(joiner_machine.commands().contains(&b"before".to_vec()));
    let (third, _) = nodes.pop().unwrap();
    third.shutdown().await;
    let leader = nodes
        .iter()
        .position(|(c, _)| c.role() == Role::Leader)
        .expect("a leader among 1 and 2");
    let (other, _) = nodes.remove(1 - leader);
    other.shutdown().await;
    // Only the leader and server 4 are left of {1, 2, 4}: a write commits with 4's vote.
    nodes[0].0.propose(b"needs 4".to_vec()).await.unwrap();
    joiner.sync().await.unwrap();
    assert!(joiner_machine.commands().contains(&b"needs 4".to_vec()));
    joiner.shutdown().await;
    nodes[0].0.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_leader_hands_leadership_over() {
    let dir = tempfile::tempdir().unwrap();
    let all = voters(3, 27600);
    let mut nodes = Vec::new();
    for member in &all {
        nodes.push(start(dir.path(), member.id, &all, 1000).await);
    }
    nodes[0].0.propose(b"before".to_vec()).await.unwrap();
    let leader = nodes[0].0.leader_id().unwrap();
    let remaining: Vec<Member> = all.iter().filter(|m| m.id != leader).cloned().collect();
    // The write committed with two of the three: the third may not have heard from the leader
    // yet. Each member's sync waits (up to its request timeout) until it has.
    for (c, _) in &nodes {
        c.sync().await.unwrap();
    }
    assert!(nodes.iter().all(|(c, _)| c.role() != Role::Looking));

    let started = std::time::Instant::now();
    nodes[0]
        .0
        .change_membership(remaining.clone(), None)
        .await
        .unwrap();
    let survivors: Vec<_> = nodes.iter().filter(|(c, _)| c.my_id() != leader).collect();
    let mut new_leader = None;
    for _ in 0..250 {
        new_leader = survivors[0].0.leader_id().filter(|l| *l != leader);
        if new_leader.is_some() && survivors.iter().any(|(c, _)| c.role() == Role::Leader) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let new_leader = new_leader.expect("a remaining member leads");
    survivors[1].0.propose(b"after".to_vec()).await.unwrap();
    tracing::info!(gap = ?started.elapsed(), "leader removed and a write committed");

    // The removed member stays up as a non-voting follower (as Apache's), without disturbing
    // the others, and is no longer listed.
    let removed = nodes.iter().find(|(c, _)| c.my_id() == leader).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        removed.0.role(),
        Role::Follower,
        "the removed leader follows"
    );
    assert_eq!(removed.0.leader_id(), Some(new_leader));
    for (consensus, machine) in nodes.iter().map(|(c, m)| (c, m)) {
        assert_eq!(consensus.leader_id(), Some(new_leader));
        consensus.sync().await.unwrap();
        assert_eq!(machine.commands(), [b"before".to_vec(), b"after".to_vec()]);
        assert_eq!(consensus.members(), remaining);
    }
    for (consensus, _) in &nodes {
        consensus.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_observers_follow_without_voting() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = voters(3, 27700);
    all.push(Member {
        id: 4,
        spec: "127.0.0.1:27704:27804:observer;127.0.0.1:27904".into(),
        voter: false,
    });
    let mut nodes = Vec::new();
    for member in &all {
        nodes.push(start(dir.path(), member.id, &all, 1000).await);
    }
    let observer = &nodes[3];
    observer
        .0
        .propose(b"through the observer".to_vec())
        .await
        .unwrap();
    observer.0.sync().await.unwrap();
    assert_eq!(observer.0.role(), Role::Observer);
    assert_eq!(observer.1.commands(), [b"through the observer".to_vec()]);
    let known = nodes[0].0.members();
    assert_eq!(known, all, "the observer is a non-voting member");
    for (consensus, _) in &nodes {
        consensus.shutdown().await;
    }
}

/// Member 1 alone, leading, with `first` committed, and member 2 started from the config of both,
/// synced as a joiner; returns the two members' specs, the seed, the joiner and its machine.
async fn seed_and_joiner(
    dir: &Path,
    base: u16,
    first: &[u8],
) -> (Vec<Member>, Consensus, Consensus, Arc<TestMachine>) {
    let both = voters(2, base);
    let (seed, _) = start(dir, 1, &both[..1], 1000).await;
    seed.propose(first.to_vec()).await.unwrap();
    assert_eq!(seed.role(), Role::Leader);
    let (joiner, joiner_machine) = start(dir, 2, &both, 1000).await;
    joiner.sync().await.unwrap();
    assert_eq!(joiner_machine.commands(), [first.to_vec()]);
    (both, seed, joiner, joiner_machine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_member_ensemble_grows_by_a_joiner() {
    let dir = tempfile::tempdir().unwrap();
    let (both, seed, joiner, _) = seed_and_joiner(dir.path(), 27800, b"alone").await;
    let progress = seed.followers();
    assert_eq!(progress.len(), 1);
    assert_eq!(progress[0].member.id, 2);
    assert!(!progress[0].member.voter);

    let version = seed
        .change_membership(both.clone(), Some(seed.config_version()))
        .await
        .unwrap();
    // The joiner's view comes from its published metrics, which may lag the seed's commit by a
    // moment (on a busy machine this assertion once ran before they were published).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while joiner.config_version() < version && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        joiner.config_version() >= version,
        "the joiner's configuration {} stayed before {version}",
        joiner.config_version()
    );
    assert_eq!(joiner.members(), both);
    let progress = seed.followers();
    assert!(
        progress[0].member.voter && progress[0].synced,
        "{progress:?}"
    );
    joiner.shutdown().await;
    seed.shutdown().await;
}

/// The one-member ensemble and its synced joiner (see `seed_and_joiner`), the joiner added as a
/// voter and removed again: the members, the seed, the removed joiner (still running).
async fn added_then_removed(dir: &Path, base_port: u16) -> (Vec<Member>, Consensus, Consensus) {
    let (both, seed, joiner, _) = seed_and_joiner(dir, base_port, b"first").await;
    seed.change_membership(both.clone(), Some(seed.config_version()))
        .await
        .unwrap();
    seed.change_membership(both[..1].to_vec(), Some(seed.config_version()))
        .await
        .unwrap();
    (both, seed, joiner)
}

/// How long a removed member may stay silent before the leader forgets it: `initLimit` ticks of
/// these tests' options (4 s), but at least 5 s.
const FORGET_AFTER: Duration = Duration::from_secs(5);

/// A removed member that keeps running stays a departed learner (it follows the leader, as a
/// removed Apache server does); once it stops answering for `initLimit` ticks the leader forgets it
/// and stops replicating to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_is_forgotten_once_it_stops_answering() {
    let dir = tempfile::tempdir().unwrap();
    let (_, seed, joiner) = added_then_removed(dir.path(), 28100).await;
    tokio::time::sleep(FORGET_AFTER + Duration::from_secs(1)).await;
    assert_eq!(
        seed.departed_members(),
        [2],
        "a running removed member was forgotten"
    );

    joiner.shutdown().await;
    let mut departed = seed.departed_members();
    for _ in 0..200 {
        if departed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        departed = seed.departed_members();
    }
    assert!(departed.is_empty(), "still replicating to {departed:?}");
    seed.shutdown().await;
}

/// A removed member stays listed as a departed learner. A new member under its id, on an empty
/// log, joins again: the leader lists it, counts it as synced once it has caught up (what a
/// reconfig's quorum check asks of it) and adds it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_id_back_on_an_empty_log_joins_again() {
    let dir = tempfile::tempdir().unwrap();
    let (both, seed, joiner) = added_then_removed(dir.path(), 28000).await;
    joiner.shutdown().await;
    // The shutdown returns once the log writer has finished (nothing writes into it any more).
    std::fs::remove_dir_all(dir.path().join("2")).expect("member 2's data is removed");
    seed.propose(b"second".to_vec()).await.unwrap();
    assert!(seed.followers().is_empty(), "{:?}", seed.followers());

    let (reborn, machine) = start(dir.path(), 2, &both, 1000).await;
    reborn.sync().await.unwrap();
    assert_eq!(machine.commands(), [b"first".to_vec(), b"second".to_vec()]);
    let mut progress = Vec::new();
    for _ in 0..100 {
        progress = seed.followers();
        if progress.iter().any(|f| f.member.id == 2 && f.synced) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        progress.iter().any(|f| f.member.id == 2 && f.synced),
        "the leader does not count the member back as synced: {progress:?}"
    );
    seed.change_membership(both.clone(), Some(seed.config_version()))
        .await
        .unwrap();
    assert_eq!(reborn.members(), both);
    reborn.shutdown().await;
    seed.shutdown().await;
}

/// The leader writes only the joint entry of a change (as if it crashed before the final one) and
/// stops: the next leader completes the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_interrupted_by_a_leader_crash_is_completed() {
    use std::collections::{BTreeMap, BTreeSet};

    use openraft::entry::RaftPayload;
    use openraft::rt::watch::WatchReceiver;

    let dir = tempfile::tempdir().unwrap();
    let all = voters(3, 27900);
    let mut nodes = Vec::new();
    for member in &all {
        nodes.push(start(dir.path(), member.id, &all, 1000).await);
    }
    nodes[0].0.propose(b"x".to_vec()).await.unwrap();
    let leader = nodes[0].0.leader_id().unwrap();
    // The change removes the leader, which then crashes: the two others hold a quorum of both.
    let kept: BTreeSet<u64> = all
        .iter()
        .map(|m| m.id)
        .filter(|id| *id != leader)
        .collect();

    let raft = nodes
        .iter()
        .find(|(c, _)| c.my_id() == leader)
        .unwrap()
        .0
        .raft()
        .clone();
    let observed = raft.metrics().borrow_watched().membership_config.clone();
    let everyone: BTreeSet<u64> = all.iter().map(|m| m.id).collect();
    let nodes_map: BTreeMap<u64, _> = observed
        .membership()
        .nodes()
        .map(|(id, n)| (*id, n.clone()))
        .collect();
    let joint =
        crate::consensus::typ::Membership::new(vec![everyone, kept.clone()], nodes_map).unwrap();
    raft.append_membership(joint, RaftPayload::blank(), [])
        .await
        .unwrap();
    nodes
        .iter()
        .find(|(c, _)| c.my_id() == leader)
        .unwrap()
        .0
        .shutdown()
        .await;

    let survivor = nodes.iter().find(|(c, _)| c.my_id() != leader);
    let survivor = &survivor.unwrap().0;
    let mut completed = false;
    for _ in 0..300 {
        let voters: BTreeSet<u64> = survivor
            .members()
            .iter()
            .filter(|m| m.voter)
            .map(|m| m.id)
            .collect();
        if survivor
            .raft()
            .metrics()
            .borrow_watched()
            .membership_config
            .membership()
            .get_joint_config()
            .len()
            == 1
            && voters == kept
        {
            completed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        completed,
        "the next leader completes the change to {kept:?}"
    );
    for (consensus, _) in &nodes {
        consensus.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_after_a_leader_change_an_unconnected_voter_joins_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let all = voters(4, 28400);
    let mut nodes = Vec::new();
    for member in &all[..3] {
        nodes.push(start(dir.path(), member.id, &all[..3], 1000).await);
    }
    nodes[0].0.propose(b"before".to_vec()).await.unwrap();
    let old = nodes
        .iter()
        .position(|(c, _)| c.role() == Role::Leader)
        .expect("a leader");
    let (old_leader, _) = nodes.remove(old);
    let gone = old_leader.my_id();
    old_leader.shutdown().await;
    // The old leader's id leaves and server 4, not running, joins, as soon as a new leader is
    // known: the survivors are a synced quorum of the new config.
    for _ in 0..200 {
        if nodes.iter().any(|(c, _)| c.role() == Role::Leader) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut next: Vec<Member> = all[..3].iter().filter(|m| m.id != gone).cloned().collect();
    next.push(all[3].clone());
    let started = std::time::Instant::now();
    nodes[0]
        .0
        .change_membership(next.clone(), None)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let (joiner, joiner_machine) = start(dir.path(), 4, &next, 1000).await;
    joiner.sync().await.unwrap();
    assert!(joiner_machine.commands().contains(&b"before".to_vec()));
    assert_eq!(joiner.role(), Role::Follower);
    joiner.shutdown().await;
    for (consensus, _) in &nodes {
        consensus.shutdown().await;
    }
}

/// A joiner started as an observer (the config of the ensemble plus itself with `:observer`) syncs
/// and serves as an observer before it is added, but is not listed until a reconfig adds it, as in
/// Apache; the reconfig lists it as an observer, never as a voter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_observer_is_listed_only_once_added() {
    let dir = tempfile::tempdir().unwrap();
    let mut both = voters(2, 28500);
    both[1].spec = both[1].spec.replace(":participant", ":observer");
    both[1].voter = false;
    let (seed, _) = start(dir.path(), 1, &both[..1], 1000).await;
    seed.propose(b"before".to_vec()).await.unwrap();
    let (observer, machine) = start(dir.path(), 2, &both, 1000).await;
    observer.sync().await.unwrap();
    assert_eq!(machine.commands(), [b"before".to_vec()]);
    assert_eq!(observer.role(), Role::Observer);
    assert_eq!(
        seed.members(),
        both[..1],
        "listed before a reconfig added it"
    );

    seed.change_membership(both.clone(), Some(seed.config_version()))
        .await
        .unwrap();
    assert_eq!(seed.members(), both);
    observer.sync().await.unwrap();
    assert_eq!(observer.members(), both);
    assert_eq!(observer.role(), Role::Observer);
    observer.shutdown().await;
    seed.shutdown().await;
}

/// A joiner whose host does not resolve (as a new pod's name before DNS publishes it) is dialed where
/// its join request came from: it syncs, is added under its configured host, and counts towards the
/// quorum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_whose_host_does_not_resolve_is_dialed_where_it_joined_from() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = voters(4, 28600);
    all[3].spec = all[3].spec.replace("127.0.0.1:", "zk-4.zk.invalid:");
    let mut nodes = Vec::new();
    for member in &all[..3] {
        nodes.push(start(dir.path(), member.id, &all[..3], 1000).await);
    }
    nodes[0].0.propose(b"before".to_vec()).await.unwrap();

    let mut joiner_options = options(dir.path(), 4, &all, 1000);
    joiner_options.listen_on_all_ips = true;
    let machine = Arc::new(TestMachine::default());
    let joiner = Consensus::start(joiner_options, machine.clone())
        .await
        .expect("start");
    for _ in 0..250 {
        if machine.commands().contains(&b"before".to_vec()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        machine.commands(),
        [b"before".to_vec()],
        "the leader replicates to the joiner"
    );

    let follower = nodes
        .iter()
        .position(|(c, _)| c.role() == Role::Follower)
        .expect("a follower");
    nodes[follower]
        .0
        .change_membership(all.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        nodes[follower].0.members(),
        all,
        "listed under its own host"
    );
    // Three of the four voters are left: a write commits only with the joiner's acknowledgement.
    let (stopped, _) = nodes.remove(follower);
    stopped.shutdown().await;
    nodes[0].0.propose(b"after".to_vec()).await.unwrap();
    joiner.sync().await.unwrap();
    assert_eq!(machine.commands(), [b"before".to_vec(), b"after".to_vec()]);
    joiner.shutdown().await;
    for (consensus, _) in &nodes {
        consensus.shutdown().await;
    }
}
