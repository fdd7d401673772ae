//! The planner's table: one row per situation of DESIGN §5, including the failures of earlier operators.

use super::*;
use crate::ensemble_config::{ServerLine, ServerRole};

const VERSION: i64 = 0x1_0000_0007;

/// Observed state built up one fact at a time.
#[derive(Clone)]
struct World(Observed);

fn line(id: u32) -> ServerLine {
    ServerLine {
        id,
        host: format!("zk-{id}.zk-headless.ns.svc.cluster.local"),
        quorum_port: 2888,
        election_port: 3888,
        role: ServerRole::Participant,
        client_address: Some("0.0.0.0:2181".into()),
    }
}

fn observer_line(id: u32) -> ServerLine {
    ServerLine {
        role: ServerRole::Observer,
        ..line(id)
    }
}

fn healthy(role: Role) -> PodView {
    PodView {
        terminating: false,
        running: true,
        ready: true,
        starting: false,
        within_start_bound: false,
        role: Some(role),
        synced: true,
        read_only: false,
        up_to_date: true,
        bootstrap_version: 0,
        credentials_current: true,
    }
}

fn volume() -> VolumeView {
    VolumeView {
        terminating: false,
        released: false,
    }
}

impl World {
    /// A healthy ensemble of `voters` led by `leader`, every member with a pod and a volume.
    fn ensemble(voters: &[u32], leader: u32) -> Self {
        let mut config = EnsembleConfig {
            version: VERSION,
            ..Default::default()
        };
        let mut members = BTreeMap::new();
        for &id in voters {
            config = config.with_server(line(id));
            let role = if id == leader {
                Role::Leader
            } else {
                Role::Follower
            };
            members.insert(
                id,
                MemberView {
                    pod: Some(healthy(role)),
                    volume: Some(volume()),
                },
            );
        }
        World(Observed {
            committed: Some(config),
            remembered_voters: voters.iter().copied().collect(),
            members,
        })
    }

    /// Observer `id` in the committed configuration, with a healthy pod and a volume.
    fn observer(mut self, id: u32) -> Self {
        let config = self.0.committed.take().expect("a committed configuration");
        self.0.committed = Some(config.with_server(observer_line(id)));
        self.0.members.insert(
            id,
            MemberView {
                pod: Some(healthy(Role::Observer)),
                volume: Some(volume()),
            },
        );
        self
    }

    /// Nothing exists yet.
    fn empty() -> Self {
        World(Observed::default())
    }

    /// The committed configuration could not be read.
    fn unreadable(mut self) -> Self {
        self.0.committed = None;
        self
    }

    fn forget_voters(mut self) -> Self {
        self.0.remembered_voters.clear();
        self
    }

    /// A non-voting member pod created from the current committed config.
    fn joiner(mut self, id: u32, running: bool, synced: bool) -> Self {
        let pod = PodView {
            running,
            synced,
            role: running.then_some(Role::Follower),
            bootstrap_version: VERSION,
            ..healthy(Role::Follower)
        };
        self.0.members.insert(
            id,
            MemberView {
                pod: Some(pod),
                volume: Some(volume()),
            },
        );
        self
    }

    fn pod(mut self, id: u32, change: impl FnOnce(&mut PodView)) -> Self {
        change(
            self.0
                .members
                .get_mut(&id)
                .and_then(|m| m.pod.as_mut())
                .expect("pod exists"),
        );
        self
    }

    /// A reconfig committed: the configuration `change` makes, at the next version.
    fn commit(mut self, change: impl FnOnce(&mut EnsembleConfig)) -> Self {
        let config = self
            .0
            .committed
            .as_mut()
            .expect("a committed configuration");
        change(config);
        config.version += 1;
        self
    }

    /// Time passes for the pods of non-members: a created one starts (answering, in
    /// synchronization), a started one catches up with the leader and turns Ready.
    fn joiners_progress(mut self) -> Self {
        let committed = self.0.committed.clone().expect("a committed configuration");
        for (id, member) in &mut self.0.members {
            let Some(p) = member.pod.as_mut() else {
                continue;
            };
            if committed.servers.contains_key(id) || p.terminating {
                continue;
            }
            if p.running {
                reported(p, BROADCASTING);
                p.ready = true;
            } else {
                p.running = true;
                p.starting = false;
                reported(p, SYNCHRONIZING);
            }
        }
        self
    }

    fn without_pod(mut self, id: u32) -> Self {
        self.0.members.entry(id).or_default().pod = None;
        self
    }

    fn volume(mut self, id: u32, change: impl FnOnce(&mut VolumeView)) -> Self {
        let member = self.0.members.entry(id).or_default();
        let mut v = member.volume.unwrap_or_else(volume);
        change(&mut v);
        member.volume = Some(v);
        self
    }
}

/// Apache ZooKeeper members (no leader transfer), volumes deleted with their member.
fn want(replicas: u32) -> Desired {
    Desired {
        replicas,
        observers: 0,
        reclaim_policy: PvcReclaimPolicy::Delete,
        leader_transfer: false,
        joiners_at_once: false,
    }
}

/// `zk-server` members, which hand leadership over before the leader restarts and join from an older
/// configuration.
fn native(replicas: u32) -> Desired {
    Desired {
        leader_transfer: true,
        joiners_at_once: true,
        ..want(replicas)
    }
}

fn retain(replicas: u32) -> Desired {
    Desired {
        replicas,
        observers: 0,
        reclaim_policy: PvcReclaimPolicy::Retain,
        leader_transfer: false,
        joiners_at_once: false,
    }
}

/// `desired` with `observers` observers.
fn observing(observers: u32, desired: Desired) -> Desired {
    Desired {
        observers,
        ..desired
    }
}

/// A member pod that started moments ago and is not running yet.
fn just_started(p: &mut PodView) {
    p.running = false;
    p.ready = false;
    p.starting = true;
    p.within_start_bound = true;
    p.synced = false;
    p.role = None;
}

#[test]
fn table() {
    let three = || World::ensemble(&[1, 2, 3], 1);
    let cases: Vec<(&str, Desired, World, Step)> = vec![
        ("steady state", want(3), three(), Step::Idle),
        // Bootstrap.
        (
            "empty namespace bootstraps member 1 alone",
            want(3),
            World::empty(),
            Step::Bootstrap { id: 1 },
        ),
        (
            "bootstrap never reuses a released volume",
            retain(3),
            World::empty().volume(1, |v| v.released = true),
            Step::Bootstrap { id: 2 },
        ),
        (
            "first member still starting",
            want(3),
            World::ensemble(&[1], 1)
                .unreadable()
                .forget_voters()
                .pod(1, just_started),
            Step::Wait(Wait::MemberStarting(1)),
        ),
        (
            "a one-member ensemble grows",
            want(3),
            World::ensemble(&[1], 1),
            Step::CreateMember { id: 2 },
        ),
        // Scale up, one member per step.
        (
            "scale up creates the lowest free id",
            want(4),
            three(),
            Step::CreateMember { id: 4 },
        ),
        (
            "a joiner that is not running yet",
            want(4),
            three().joiner(4, false, false),
            Step::Wait(Wait::MemberStarting(4)),
        ),
        (
            "ruok is not enough: a running joiner must be caught up",
            want(4),
            three().joiner(4, true, false),
            Step::Wait(Wait::JoinerCatchingUp(4)),
        ),
        (
            "a caught-up joiner is added by reconfig",
            want(4),
            three().joiner(4, true, true),
            Step::AddMember { id: 4 },
        ),
        (
            "scaling by two still creates one member at a time",
            want(5),
            three().joiner(4, true, false),
            Step::Wait(Wait::JoinerCatchingUp(4)),
        ),
        (
            "never two joiners: the higher one goes",
            want(5),
            three().joiner(4, true, true).joiner(5, true, true),
            Step::DeletePod { id: 5 },
        ),
        (
            "zk-server: scaling by two creates the second joiner while the first syncs",
            native(5),
            three().joiner(4, true, false),
            Step::CreateMember { id: 5 },
        ),
        (
            "zk-server: every lacking voter's pod is created before the first is added",
            native(5),
            three().joiner(4, true, true),
            Step::CreateMember { id: 5 },
        ),
        (
            "zk-server: with every joiner created, the lowest is added first",
            native(5),
            three().joiner(4, true, false).joiner(5, true, true),
            Step::Wait(Wait::JoinerCatchingUp(4)),
        ),
        (
            "zk-server: two caught-up joiners, one reconfig each, the lower first",
            native(5),
            three().joiner(4, true, true).joiner(5, true, true),
            Step::AddMember { id: 4 },
        ),
        (
            "zk-server: never more joiners than lacking voters",
            native(4),
            three().joiner(4, true, true).joiner(5, true, true),
            Step::DeletePod { id: 5 },
        ),
        (
            "zk-server: a synced joiner started before the previous add is added",
            native(5),
            World::ensemble(&[1, 2, 3, 4], 1)
                .joiner(5, true, true)
                .pod(5, |p| p.bootstrap_version = VERSION - 1),
            Step::AddMember { id: 5 },
        ),
        (
            "zk-server: such a joiner still syncing within the start-up bound is waited for",
            native(5),
            World::ensemble(&[1, 2, 3, 4], 1)
                .joiner(5, true, false)
                .pod(5, |p| {
                    p.bootstrap_version = VERSION - 1;
                    p.within_start_bound = true;
                }),
            Step::Wait(Wait::JoinerCatchingUp(5)),
        ),
        (
            "zk-server: such a joiner not synced past the start-up bound is made anew",
            native(5),
            World::ensemble(&[1, 2, 3, 4], 1)
                .joiner(5, true, false)
                .pod(5, |p| p.bootstrap_version = VERSION - 1),
            Step::DeletePod { id: 5 },
        ),
        (
            "Apache: a joiner started before the previous add is made anew",
            want(5),
            World::ensemble(&[1, 2, 3, 4], 1)
                .joiner(5, true, true)
                .pod(5, |p| p.bootstrap_version = VERSION - 1),
            Step::DeletePod { id: 5 },
        ),
        (
            "operator restarted after the add committed: the new voter counts, next member is created",
            want(5),
            World::ensemble(&[1, 2, 3, 4], 1),
            Step::CreateMember { id: 5 },
        ),
        // Members restarted before they were added; stale state.
        (
            "a joiner whose start-up config is older than the committed one is recreated",
            want(4),
            three()
                .joiner(4, true, true)
                .pod(4, |p| p.bootstrap_version = VERSION - 2),
            Step::DeletePod { id: 4 },
        ),
        (
            "a re-added id with a released (stale) volume is skipped",
            retain(4),
            three().volume(4, |v| v.released = true),
            Step::CreateMember { id: 5 },
        ),
        (
            "a volume left by an interrupted create is deleted with Delete",
            want(4),
            three().volume(4, |_| {}),
            Step::DeleteVolume { id: 4 },
        ),
        (
            "a volume left by an interrupted create is kept with Retain and released",
            retain(4),
            three().volume(4, |_| {}),
            Step::ReleaseVolume { id: 4 },
        ),
        (
            "a volume still terminating is not reused",
            want(4),
            three().volume(4, |v| v.terminating = true),
            Step::CreateMember { id: 5 },
        ),
        // Scale down.
        (
            "scale down removes the highest-id follower",
            want(2),
            three(),
            Step::RemoveMember { id: 3 },
        ),
        (
            "scale down never removes the leader while a follower can go",
            want(2),
            World::ensemble(&[1, 2, 3], 3),
            Step::RemoveMember { id: 2 },
        ),
        (
            "scale down to one member",
            want(1),
            World::ensemble(&[1, 2], 2),
            Step::RemoveMember { id: 1 },
        ),
        (
            "operator restarted after the remove committed: the pod of the non-voter goes",
            want(2),
            World::ensemble(&[1, 2], 1)
                .joiner(3, true, true)
                .pod(3, |p| p.bootstrap_version = 0),
            Step::DeletePod { id: 3 },
        ),
        (
            "a joiner no longer wanted after the spec shrank goes",
            want(3),
            three().joiner(4, true, false),
            Step::DeletePod { id: 4 },
        ),
        (
            "removed member's volume with Delete",
            want(2),
            World::ensemble(&[1, 2], 1).volume(3, |_| {}),
            Step::DeleteVolume { id: 3 },
        ),
        (
            "removed member's volume with Retain is released",
            retain(2),
            World::ensemble(&[1, 2], 1).volume(3, |_| {}),
            Step::ReleaseVolume { id: 3 },
        ),
        (
            "a released volume stays",
            retain(2),
            World::ensemble(&[1, 2], 1).volume(3, |v| v.released = true),
            Step::Idle,
        ),
        (
            "waiting for the removed member's pod to go",
            want(2),
            World::ensemble(&[1, 2], 1)
                .joiner(3, true, true)
                .pod(3, |p| p.terminating = true),
            Step::Wait(Wait::PodTerminating(3)),
        ),
        (
            "the next removal does not wait for the previous removed member's pod to go",
            want(3),
            World::ensemble(&[1, 2, 3, 4], 1)
                .joiner(5, true, true)
                .pod(5, |p| p.terminating = true),
            Step::RemoveMember { id: 4 },
        ),
        (
            "a new member waits for a removed member's pod to go",
            native(5),
            three()
                .joiner(4, true, true)
                .pod(4, |p| p.terminating = true),
            Step::Wait(Wait::PodTerminating(4)),
        ),
        // Unhealthy ensembles are not scaled.
        (
            "no scale up while a member is down",
            want(4),
            three().pod(2, |p| p.running = false),
            Step::Blocked(Blocker::MemberDown(2)),
        ),
        (
            "a restarted voter that is still starting is waited for, not reported as down",
            want(4),
            three().pod(2, just_started),
            Step::Wait(Wait::MemberStarting(2)),
        ),
        (
            "a voter still starting past the start-up bound blocks",
            want(4),
            three().pod(2, |p| {
                just_started(p);
                p.within_start_bound = false;
            }),
            Step::Blocked(Blocker::MemberNotStarted(2)),
        ),
        (
            "no scale down while a member is out of sync",
            want(2),
            three().pod(2, |p| p.synced = false),
            Step::Blocked(Blocker::MemberNotSynced(2)),
        ),
        (
            "no scale up while a voter refuses writes (its volume is full)",
            want(4),
            three().pod(3, |p| p.read_only = true),
            Step::Blocked(Blocker::MemberReadOnly(3)),
        ),
        (
            "no scale down while the leader refuses writes",
            want(2),
            three().pod(1, |p| p.read_only = true),
            Step::Blocked(Blocker::MemberReadOnly(1)),
        ),
        (
            "no add while a voter is down, even with a synced joiner",
            want(4),
            three().joiner(4, true, true).pod(3, |p| p.running = false),
            Step::Blocked(Blocker::MemberDown(3)),
        ),
        (
            "no scaling without a leader",
            want(4),
            three().pod(1, |p| p.role = Some(Role::Looking)),
            Step::Blocked(Blocker::NoLeader),
        ),
        (
            "a voter's lost pod is recreated even when unhealthy",
            want(4),
            three().without_pod(2).pod(3, |p| p.running = false),
            Step::RecreatePod { id: 2 },
        ),
        (
            "waiting for a voter's pod to terminate",
            want(3),
            three().pod(2, |p| p.terminating = true),
            Step::Wait(Wait::PodTerminating(2)),
        ),
        (
            "without a committed config, lost voters' pods come back",
            want(3),
            three().unreadable().without_pod(1).without_pod(2),
            Step::RecreatePod { id: 1 },
        ),
        (
            "without a committed config and all pods up: blocked, no bootstrap over old members",
            want(3),
            three().unreadable(),
            Step::Blocked(Blocker::NoCommittedConfig),
        ),
        (
            "without a committed config, a member still starting",
            want(3),
            three().unreadable().pod(3, just_started),
            Step::Wait(Wait::MemberStarting(3)),
        ),
        (
            "without a committed config, a member that stopped answering is down, not starting",
            want(5),
            three()
                .unreadable()
                .pod(2, |p| p.running = false)
                .pod(3, |p| p.running = false),
            Step::Blocked(Blocker::MemberDown(2)),
        ),
        // Rolling restarts for pod spec changes: followers first, leader last, never when unhealthy.
        (
            "rolling restart starts with the highest follower",
            want(3),
            three()
                .pod(1, |p| p.up_to_date = false)
                .pod(2, |p| p.up_to_date = false)
                .pod(3, |p| p.up_to_date = false),
            Step::RestartMember { id: 3 },
        ),
        (
            "rolling restart ends with the leader",
            want(3),
            World::ensemble(&[1, 2, 3], 2).pod(2, |p| p.up_to_date = false),
            Step::RestartMember { id: 2 },
        ),
        (
            "rolling restart waits for the restarted member to sync",
            want(3),
            three().pod(2, |p| p.up_to_date = false).pod(3, |p| {
                p.synced = false;
                p.within_start_bound = true;
            }),
            Step::Wait(Wait::MemberSyncing(3)),
        ),
        (
            "a restarted member in sync waits for its pod to be Ready before the next restart",
            native(3),
            three().pod(1, |p| p.up_to_date = false).pod(3, |p| {
                p.ready = false;
                p.within_start_bound = true;
            }),
            Step::Wait(Wait::MemberStarting(3)),
        ),
        (
            "a restarted member never Ready within the start-up bound stops the roll",
            native(3),
            three()
                .pod(1, |p| p.up_to_date = false)
                .pod(3, |p| p.ready = false),
            Step::Blocked(Blocker::MemberNotStarted(3)),
        ),
        (
            "a restarted member not in sync within the start-up bound stops the roll",
            want(3),
            three()
                .pod(2, |p| p.up_to_date = false)
                .pod(3, |p| p.synced = false),
            Step::Blocked(Blocker::MemberNotSynced(3)),
        ),
        (
            "a restarted member that does not start within the bound stops the roll",
            native(3),
            three().pod(1, |p| p.up_to_date = false).pod(3, |p| {
                just_started(p);
                p.within_start_bound = false;
            }),
            Step::Blocked(Blocker::MemberNotStarted(3)),
        ),
        (
            "a crash-looping restarted member stops the roll",
            native(3),
            three()
                .pod(1, |p| p.up_to_date = false)
                .pod(3, |p| p.running = false),
            Step::Blocked(Blocker::MemberDown(3)),
        ),
        (
            "a member that never started is replaced once its spec changes again (a broken image undone)",
            native(3),
            three().pod(3, |p| {
                just_started(p);
                p.within_start_bound = false;
                p.up_to_date = false;
            }),
            Step::RestartMember { id: 3 },
        ),
        (
            "a crash-looping member from an outdated spec is replaced",
            native(3),
            three().pod(3, |p| {
                p.running = false;
                p.up_to_date = false;
            }),
            Step::RestartMember { id: 3 },
        ),
        (
            "a member from an outdated spec still starting within the bound is waited for",
            native(3),
            three().pod(3, |p| {
                just_started(p);
                p.up_to_date = false;
            }),
            Step::Wait(Wait::MemberStarting(3)),
        ),
        (
            "zk-server: the leader hands over before it restarts",
            native(3),
            World::ensemble(&[1, 2, 3], 2).pod(2, |p| p.up_to_date = false),
            Step::TransferLeadership { id: 2 },
        ),
        (
            "zk-server: followers still restart first",
            native(3),
            three()
                .pod(1, |p| p.up_to_date = false)
                .pod(2, |p| p.up_to_date = false),
            Step::RestartMember { id: 2 },
        ),
        (
            "zk-server: the former leader restarts as a follower",
            native(3),
            World::ensemble(&[1, 2, 3], 3).pod(1, |p| p.up_to_date = false),
            Step::RestartMember { id: 1 },
        ),
        (
            "a lone member has nobody to hand over to",
            native(1),
            World::ensemble(&[1], 1).pod(1, |p| p.up_to_date = false),
            Step::RestartMember { id: 1 },
        ),
        (
            "no hand-over while a follower is out of sync",
            native(3),
            three()
                .pod(1, |p| p.up_to_date = false)
                .pod(2, |p| p.synced = false),
            Step::Blocked(Blocker::MemberNotSynced(2)),
        ),
        (
            "scaling comes before rolling",
            want(4),
            three().pod(2, |p| p.up_to_date = false),
            Step::CreateMember { id: 4 },
        ),
        // A rotated super credential.
        (
            "members started with the old credential restart before any reconfig, followers first",
            want(5),
            three()
                .pod(1, |p| p.credentials_current = false)
                .pod(2, |p| p.credentials_current = false)
                .pod(3, |p| p.credentials_current = false),
            Step::RestartMember { id: 3 },
        ),
        (
            "the leader restarts last for a rotated credential",
            want(5),
            three().pod(1, |p| p.credentials_current = false),
            Step::RestartMember { id: 1 },
        ),
        (
            "zk-server: the leader hands over before it restarts for a rotated credential",
            native(5),
            three().pod(1, |p| p.credentials_current = false),
            Step::TransferLeadership { id: 1 },
        ),
        (
            "a joiner started with the old credential is replaced before it is added",
            want(4),
            three()
                .joiner(4, true, true)
                .pod(4, |p| p.credentials_current = false),
            Step::DeletePod { id: 4 },
        ),
        // An ensemble re-created over its retained volumes.
        (
            "re-created over retained volumes: each gets its member back, not a fresh bootstrap",
            retain(3),
            World::empty()
                .volume(1, |_| {})
                .volume(2, |_| {})
                .volume(3, |_| {}),
            Step::AdoptVolume { id: 1 },
        ),
        (
            "re-created: the next retained volume without a pod",
            retain(3),
            World::ensemble(&[1, 2, 3], 1)
                .unreadable()
                .forget_voters()
                .without_pod(2)
                .without_pod(3),
            Step::AdoptVolume { id: 2 },
        ),
        (
            "re-created: released volumes stay out, the rest bootstraps nothing new",
            retain(3),
            World::ensemble(&[1], 1)
                .unreadable()
                .forget_voters()
                .volume(2, |v| v.released = true)
                .volume(3, |v| v.released = true),
            Step::Blocked(Blocker::NoCommittedConfig),
        ),
        (
            "re-created: every adopted member runs but no quorum answers",
            retain(3),
            World::ensemble(&[1, 2, 3], 1).unreadable().forget_voters(),
            Step::Blocked(Blocker::NoQuorumOnRetainedVolumes),
        ),
        (
            "a member that remembers its voters never adopts a stray volume",
            retain(3),
            World::ensemble(&[1, 2, 3], 1)
                .unreadable()
                .volume(4, |_| {}),
            Step::Blocked(Blocker::NoCommittedConfig),
        ),
        (
            "a joiner from an outdated pod spec is replaced before it is added",
            want(4),
            three()
                .joiner(4, true, true)
                .pod(4, |p| p.up_to_date = false),
            Step::DeletePod { id: 4 },
        ),
        // Observers: their own id range, after the voters, never counted towards the quorum.
        (
            "observers are created from their own id range",
            observing(2, want(3)),
            three(),
            Step::CreateMember { id: 101 },
        ),
        (
            "a caught-up observer joiner is added by reconfig",
            observing(2, want(3)),
            three().joiner(101, true, true),
            Step::AddMember { id: 101 },
        ),
        (
            "the next observer after the first",
            observing(2, want(3)),
            three().observer(101),
            Step::CreateMember { id: 102 },
        ),
        (
            "voters come before observers",
            observing(2, want(4)),
            three(),
            Step::CreateMember { id: 4 },
        ),
        (
            "an observer joiner made before a voter was wanted is still added",
            observing(1, want(4)),
            three().joiner(101, true, false),
            Step::Wait(Wait::JoinerCatchingUp(101)),
        ),
        (
            "an observer joiner no longer wanted goes",
            want(3),
            three().joiner(101, true, true),
            Step::DeletePod { id: 101 },
        ),
        (
            "a voter joiner never takes an observer's place",
            observing(1, want(4)),
            three().joiner(101, true, true).joiner(4, true, true),
            Step::DeletePod { id: 101 },
        ),
        (
            "voters scale with the observers kept",
            observing(2, want(5)),
            three().observer(101).observer(102),
            Step::CreateMember { id: 4 },
        ),
        (
            "voters scale down with the observers kept",
            observing(2, want(3)),
            World::ensemble(&[1, 2, 3, 4, 5], 1)
                .observer(101)
                .observer(102),
            Step::RemoveMember { id: 5 },
        ),
        (
            "observers go highest first, one per step",
            want(3),
            three().observer(101).observer(102),
            Step::RemoveMember { id: 102 },
        ),
        (
            "a removed observer's pod goes, then its volume",
            observing(1, want(3)),
            three().observer(101).joiner(102, true, true),
            Step::DeletePod { id: 102 },
        ),
        (
            "a removed observer's volume is deleted",
            observing(1, want(3)),
            three().observer(101).volume(102, |_| {}),
            Step::DeleteVolume { id: 102 },
        ),
        (
            "an observer that is down blocks no voter scaling",
            observing(1, want(4)),
            three().observer(101).pod(101, |p| {
                p.running = false;
                p.ready = false;
                p.synced = false;
                p.role = None;
            }),
            Step::CreateMember { id: 4 },
        ),
        (
            "an observer's lost pod is recreated",
            observing(1, want(3)),
            three().observer(101).without_pod(101),
            Step::RecreatePod { id: 101 },
        ),
        (
            "an observer does not stand in for a leader",
            observing(1, want(3)),
            three()
                .pod(1, |p| p.role = Some(Role::Follower))
                .observer(101),
            Step::Blocked(Blocker::NoLeader),
        ),
        (
            "an observer configured by hand with a voter-range id keeps it; voters skip it",
            observing(1, want(4)),
            three().observer(4),
            Step::CreateMember { id: 5 },
        ),
        (
            "no free observer id",
            observing(155, want(3)),
            (101..=254).fold(three(), World::observer),
            Step::Blocked(Blocker::NoFreeId),
        ),
    ];
    let mut failures = Vec::new();
    for (name, desired, world, expected) in cases {
        let got = plan(&desired, &world.0);
        if got != expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_step_names_its_member_and_action() {
    assert_eq!(Step::AddMember { id: 4 }.member(), Some(4));
    assert_eq!(Step::AddMember { id: 4 }.action(), "AddMember");
    assert_eq!(Step::Blocked(Blocker::NoLeader).member(), None);
    assert_eq!(
        Step::Blocked(Blocker::MemberDown(2)).to_string(),
        "not scaling: member 2 is down"
    );
}

/// A member's view as `mntr` reports it (`zk_server_state`, `zk_peer_state`), through the operator's reader.
fn reported(pod: &mut PodView, mntr: &str) {
    let state = crate::zk::parse_mntr(mntr);
    pod.role = Some(state.role);
    pod.synced = state.synced;
}

const SYNCHRONIZING: &str =
    "zk_server_state\tfollower\nzk_peer_state\tfollowing - synchronization\n";
const BROADCASTING: &str = "zk_server_state\tfollower\nzk_peer_state\tfollowing - broadcast\n";
/// What Apache's `mntr` answers while the member synchronizes.
const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

#[test]
fn a_joiner_is_added_only_once_mntr_reports_the_broadcast_phase() {
    let joining = |mntr: &'static str| {
        let world = World::ensemble(&[1, 2, 3], 1)
            .joiner(4, true, true)
            .pod(4, |p| reported(p, mntr));
        plan(&native(4), &world.0)
    };
    assert_eq!(
        joining(SYNCHRONIZING),
        Step::Wait(Wait::JoinerCatchingUp(4))
    );
    assert_eq!(joining(NOT_SERVING), Step::Wait(Wait::JoinerCatchingUp(4)));
    assert_eq!(joining(BROADCASTING), Step::AddMember { id: 4 });
}

#[test]
fn a_voter_in_synchronization_is_not_counted_synced() {
    let world = World::ensemble(&[1, 2, 3], 1).pod(3, |p| {
        reported(p, SYNCHRONIZING);
        p.within_start_bound = true;
    });
    assert_eq!(
        plan(&native(4), &world.0),
        Step::Wait(Wait::MemberSyncing(3))
    );
    let stuck = world.pod(3, |p| p.within_start_bound = false);
    assert_eq!(
        plan(&native(4), &stuck.0),
        Step::Blocked(Blocker::MemberNotSynced(3))
    );
}

/// Plays a change of every member's pod spec through the planner, carrying each step out on the world as
/// Kubernetes and the servers would: a deleted pod terminates and goes, a re-created one starts, then syncs as
/// a follower; a hand-over, or the restart of a leader (an election), makes the lowest other voter lead.
/// Returns the steps taken until the ensemble is idle again.
fn roll(desired: Desired, leader: u32) -> Vec<Step> {
    roll_with_observers(desired, leader, &[])
}

/// [`roll`] of an ensemble with `observers` too.
fn roll_with_observers(desired: Desired, leader: u32, observers: &[u32]) -> Vec<Step> {
    let voters = [1, 2, 3];
    let mut world = observers
        .iter()
        .fold(World::ensemble(&voters, leader), |w, &id| w.observer(id));
    for &id in voters.iter().chain(observers) {
        world = world.pod(id, |p| p.up_to_date = false);
    }
    let lead_elsewhere = |world: World, from: u32| {
        let next = *voters.iter().find(|&&id| id != from).expect("three voters");
        world
            .pod(from, |p| p.role = Some(Role::Follower))
            .pod(next, |p| p.role = Some(Role::Leader))
    };
    let mut taken = Vec::new();
    while taken.len() < 50 {
        let step = plan(&desired, &world.0);
        world = match step {
            Step::Idle => return taken,
            Step::TransferLeadership { id } => lead_elsewhere(world, id),
            Step::RestartMember { id } => {
                let leading = world.0.members[&id].pod.as_ref().unwrap().role == Some(Role::Leader);
                let world = world.pod(id, |p| p.terminating = true);
                if leading {
                    lead_elsewhere(world, id).pod(id, |p| p.role = None)
                } else {
                    world
                }
            }
            Step::Wait(Wait::PodTerminating(id)) => world.without_pod(id),
            Step::RecreatePod { id } => {
                world.0.members.get_mut(&id).unwrap().pod = Some(healthy(Role::Follower));
                world.pod(id, just_started)
            }
            // An observer is not waited for to sync (it does not count): it answers, syncs and turns Ready at once.
            Step::Wait(Wait::MemberStarting(id)) if observers.contains(&id) => world.pod(id, |p| {
                p.running = true;
                p.starting = false;
                p.ready = true;
                p.role = Some(Role::Observer);
                p.synced = true;
            }),
            // A server answers (in synchronization), then syncs, then its readiness probe passes.
            Step::Wait(Wait::MemberStarting(id))
                if !world.0.members[&id].pod.as_ref().unwrap().running =>
            {
                world.pod(id, |p| {
                    p.running = true;
                    p.starting = false;
                    reported(p, SYNCHRONIZING);
                })
            }
            Step::Wait(Wait::MemberStarting(id)) => world.pod(id, |p| p.ready = true),
            Step::Wait(Wait::MemberSyncing(id)) => world.pod(id, |p| reported(p, BROADCASTING)),
            other => panic!("unexpected step {other:?} after {taken:?}"),
        };
        taken.push(step);
    }
    panic!("the roll did not end: {taken:?}");
}

fn restarts(steps: &[Step]) -> Vec<u32> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::RestartMember { id } => Some(*id),
            _ => None,
        })
        .collect()
}

#[test]
fn zk_server_rolls_followers_first_and_hands_over_before_the_leader_restarts() {
    let steps = roll(native(3), 1);
    assert_eq!(restarts(&steps), [3, 2, 1], "{steps:?}");
    let handed_over = steps
        .iter()
        .position(|s| *s == Step::TransferLeadership { id: 1 })
        .expect("a hand-over");
    let leader_restarted = steps
        .iter()
        .position(|s| *s == Step::RestartMember { id: 1 })
        .unwrap();
    assert!(
        handed_over < leader_restarted
            && steps[..handed_over]
                .iter()
                .filter(|s| matches!(s, Step::RestartMember { .. }))
                .count()
                == 2,
        "the hand-over comes after the followers' restarts and before the leader's: {steps:?}"
    );
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::TransferLeadership { .. }))
            .count(),
        1
    );
}

#[test]
fn apache_rolls_followers_first_and_restarts_the_leader_last_without_a_hand_over() {
    let steps = roll(want(3), 2);
    assert_eq!(restarts(&steps), [3, 1, 2], "{steps:?}");
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s, Step::TransferLeadership { .. }))
    );
}

#[test]
fn observers_roll_first_one_at_a_time_then_followers_then_the_leader() {
    let steps = roll_with_observers(observing(2, native(3)), 1, &[101, 102]);
    assert_eq!(restarts(&steps), [102, 101, 3, 2, 1], "{steps:?}");
}

/// Plays a scaling of the healthy ensemble of `voters` (led by member 1) to `desired` through the planner,
/// carrying each step out as Kubernetes and the servers would: a created member starts, then catches up,
/// each time the planner waits; a reconfig commits at once; a deleted pod goes only once waited for.
/// Returns the steps taken until the ensemble is idle again.
fn scale(desired: Desired, voters: &[u32]) -> Vec<Step> {
    let mut world = World::ensemble(voters, 1);
    let mut taken = Vec::new();
    while taken.len() < 50 {
        let step = plan(&desired, &world.0);
        let version = world.0.committed.as_ref().expect("committed").version;
        world = match step {
            Step::Idle => return taken,
            Step::CreateMember { id } => world.joiner(id, false, false).pod(id, |p| {
                just_started(p);
                p.bootstrap_version = version;
            }),
            Step::AddMember { id } => world.commit(|c| *c = c.with_server(line(id))),
            Step::RemoveMember { id } => world.commit(|c| {
                c.servers.remove(&id);
            }),
            Step::DeletePod { id } => world.pod(id, |p| p.terminating = true),
            Step::DeleteVolume { id } => {
                world.0.members.remove(&id);
                world
            }
            Step::Wait(Wait::PodTerminating(id)) => world.without_pod(id),
            Step::Wait(Wait::MemberStarting(_) | Wait::JoinerCatchingUp(_)) => {
                world.joiners_progress()
            }
            other => panic!("unexpected step {other:?} after {taken:?}"),
        };
        taken.push(step);
    }
    panic!("the scaling did not end: {taken:?}");
}

const STARTING_4: Step = Step::Wait(Wait::MemberStarting(4));
const CATCHING_UP_4: Step = Step::Wait(Wait::JoinerCatchingUp(4));

#[test]
fn zk_server_scales_up_with_every_joiner_started_at_once_and_one_reconfig_each() {
    assert_eq!(
        scale(native(5), &[1, 2, 3]),
        [
            Step::CreateMember { id: 4 },
            Step::CreateMember { id: 5 },
            STARTING_4,
            CATCHING_UP_4,
            Step::AddMember { id: 4 },
            Step::AddMember { id: 5 },
        ]
    );
    assert_eq!(
        scale(native(3), &[1]),
        [
            Step::CreateMember { id: 2 },
            Step::CreateMember { id: 3 },
            Step::Wait(Wait::MemberStarting(2)),
            Step::Wait(Wait::JoinerCatchingUp(2)),
            Step::AddMember { id: 2 },
            Step::AddMember { id: 3 },
        ]
    );
}

#[test]
fn apache_scales_up_one_joiner_at_a_time() {
    assert_eq!(
        scale(want(5), &[1, 2, 3]),
        [
            Step::CreateMember { id: 4 },
            STARTING_4,
            CATCHING_UP_4,
            Step::AddMember { id: 4 },
            Step::CreateMember { id: 5 },
            Step::Wait(Wait::MemberStarting(5)),
            Step::Wait(Wait::JoinerCatchingUp(5)),
            Step::AddMember { id: 5 },
        ]
    );
}

#[test]
fn scaling_down_removes_the_next_member_while_the_previous_pod_terminates() {
    for desired in [want(3), native(3)] {
        assert_eq!(
            scale(desired, &[1, 2, 3, 4, 5]),
            [
                Step::RemoveMember { id: 5 },
                Step::DeletePod { id: 5 },
                Step::RemoveMember { id: 4 },
                Step::DeletePod { id: 4 },
                Step::Wait(Wait::PodTerminating(4)),
                Step::DeleteVolume { id: 4 },
                Step::Wait(Wait::PodTerminating(5)),
                Step::DeleteVolume { id: 5 },
            ],
            "{desired:?}"
        );
    }
}
