//! The pure scaling planner: desired state + observed members + committed configuration → the one next step.
//!
//! Every call re-derives the step from what is live, so the operator can be killed at any point and resume: a
//! half-finished add shows up as a synced joiner pod, a half-finished removal as the pod of a non-voter, and so
//! on. Rules, in order:
//!
//! 1. Without a readable committed configuration, only restore the last known voters' pods, start members on
//!    the retained volumes of an ensemble re-created under the same name (it remembers no voters), or bootstrap
//!    the very first member; never change membership.
//! 2. A voter whose pod is gone gets it back (its volume still holds its data and config), then an observer.
//! 3. Pods of non-members that are not a valid joiner go: leftovers of a removal, a joiner too many (one at a
//!    time; for `zk-server` members, one per lacking voter), a joiner whose start-up config is no longer the
//!    committed one (for `zk-server` members: an older one it has not synced with within the start-up
//!    bound), one built from an outdated pod spec, or one of a role (voter or observer, known from its id:
//!    [`crate::member_ids`]) that is not wanted any more. While a non-member's pod is being deleted, nothing
//!    below happens but a removal: the next member to go is removed without waiting for the previous pod.
//! 4. Volumes of ids that are neither members nor pods are deleted or marked released, per the reclaim policy.
//! 5. Nothing below happens unless every voter is up, synced (in the broadcast phase, as `mntr`'s
//!    `zk_peer_state` reports it), takes writes (`isro` does not answer `ro`: a `zk-server` member whose volume is
//!    full refuses them), and there is one leader. A voter whose pod started less than the start-up
//!    bound ago and is still starting or synchronizing (e.g. during a rolling restart) is waited for; past the
//!    bound, or after a failure, it is a blocker, which stops a roll, unless its pod is built from an outdated
//!    spec: then it is restarted from the current one (how a change that broke it is undone). Voters started
//!    with a super credential the Secret no longer holds are restarted first, followers first, the leader
//!    last: a reconfig needs the leader to know the current one. A restart also waits until every voter's pod
//!    is Ready.
//!    Observers never count: one that is down blocks nothing (it is restarted if its pod spec is outdated).
//! 6. One membership change at a time, voters before observers: a joiner is added by reconfig once caught
//!    up; otherwise the lowest free voter id whose volume is not a released one gets a new member; otherwise
//!    the highest-id follower is removed; then the same for observers (the highest-id observer is removed).
//!    `zk-server` members get the pods of all lacking voters first (each joiner starts from the committed
//!    config plus itself, never listing another joiner), then are added one reconfig each, lowest id first.
//! 7. Members built from an outdated pod spec are restarted one at a time, observers first, then followers,
//!    the leader last.
//!
//! Before the leader restarts (rules 5 and 7), a flavour that can hand leadership over (`zk-server`'s
//! `leader_transfer`) does so first: the leader is then a follower like the others, and restarts as one. Apache
//! ZooKeeper has no leader transfer, so its leader restarts as the leader and the ensemble elects another.
//! A restarted member comes back from the current pod spec and credential, so no member restarts twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;

use crate::ensemble_config::EnsembleConfig;
use crate::member_ids::{OBSERVER_IDS, VOTER_IDS, is_observer_id};
use crate::types::PvcReclaimPolicy;

/// What the spec asks for, as far as planning is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desired {
    /// Wanted number of voting members.
    pub replicas: u32,
    /// Wanted number of observers (members that follow without voting).
    pub observers: u32,
    /// What happens to a removed member's volume.
    pub reclaim_policy: PvcReclaimPolicy,
    /// The members can hand leadership over to a follower (`zk-server`'s `leader_transfer`).
    pub leader_transfer: bool,
    /// A joiner may start from a configuration committed before the one it is added to (`zk-server`: it
    /// asks the members it lists for the leader and takes the membership from the log), so the pods of all
    /// lacking voters start at once.
    pub joiners_at_once: bool,
}

/// Role of a running member as the server reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Leads the ensemble.
    Leader,
    /// Follows the leader (voting or not).
    Follower,
    /// Follows without voting.
    Observer,
    /// Not in a quorum (electing, or cut off).
    Looking,
}

/// A member pod as observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodView {
    /// The pod is being deleted.
    pub terminating: bool,
    /// The server answers its health endpoint or `mntr`.
    pub running: bool,
    /// The pod is Ready (its readiness probe passes, so the client Service routes to it).
    pub ready: bool,
    /// Not running yet, and its container has never restarted: a fresh start, not a failure.
    pub starting: bool,
    /// Created less than the start-up bound ago: the time a (re)started member has to run and sync.
    pub within_start_bound: bool,
    /// Role reported by the server, when it answered.
    pub role: Option<Role>,
    /// Connected to the leader and caught up (or is the leader).
    pub synced: bool,
    /// Refuses writes (`isro` answers `ro`): a `zk-server` member whose data or log volume is full.
    pub read_only: bool,
    /// Built from the current pod spec.
    pub up_to_date: bool,
    /// Version of the committed configuration the pod's start-up config was derived from.
    pub bootstrap_version: i64,
    /// Started with the super credential the Secret holds now.
    pub credentials_current: bool,
}

/// A member volume as observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumeView {
    /// The claim is being deleted.
    pub terminating: bool,
    /// The claim belonged to a removed member and was retained; it is never reused.
    pub released: bool,
}

/// Pod and volume of one server id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberView {
    /// The pod, if one exists.
    pub pod: Option<PodView>,
    /// The volume, if one exists.
    pub volume: Option<VolumeView>,
}

/// Everything the planner looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Committed configuration read from the ensemble (sync + getConfig), or `None` if it could not be read.
    pub committed: Option<EnsembleConfig>,
    /// Voters recorded in the status, used only while the committed configuration cannot be read.
    pub remembered_voters: BTreeSet<u32>,
    /// Pods and volumes by server id.
    pub members: BTreeMap<u32, MemberView>,
}

/// Why the planner waits; progress is expected without intervention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A member's server is not answering yet.
    MemberStarting(u32),
    /// A voter that started within the start-up bound is still catching up with the leader.
    MemberSyncing(u32),
    /// A member's pod is being deleted.
    PodTerminating(u32),
    /// A joiner runs but is not yet caught up with the leader.
    JoinerCatchingUp(u32),
}

/// Why the planner refuses to change the ensemble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// Members run but none answered with a committed configuration (no quorum).
    NoCommittedConfig,
    /// A voter's server does not answer.
    MemberDown(u32),
    /// A member's server did not start within the start-up bound.
    MemberNotStarted(u32),
    /// A voter is not in sync with the leader.
    MemberNotSynced(u32),
    /// A voter refuses writes: read-only (a `zk-server` member whose volume is full).
    MemberReadOnly(u32),
    /// No voter reports being the leader.
    NoLeader,
    /// The members started on the retained volumes of a re-created ensemble run, but form no quorum.
    NoQuorumOnRetainedVolumes,
    /// Every id of the role is taken or has a released volume.
    NoFreeId,
}

/// The one next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create the first member, alone in its start-up config.
    Bootstrap { id: u32 },
    /// Create a joiner's volume and pod; start-up config = committed config + itself.
    CreateMember { id: u32 },
    /// Recreate the pod of a voter (its volume keeps its data and config).
    RecreatePod { id: u32 },
    /// Start a member on the retained volume of an ensemble of the same name that was deleted.
    AdoptVolume { id: u32 },
    /// Add a caught-up joiner by reconfig, conditional on the committed version.
    AddMember { id: u32 },
    /// Remove a voter by reconfig, conditional on the committed version.
    RemoveMember { id: u32 },
    /// Delete the pod of a server that is not (or no longer) a valid member.
    DeletePod { id: u32 },
    /// Delete a voter's pod so it comes back from the current pod spec.
    RestartMember { id: u32 },
    /// Hand the leadership of leader `id` over to a synced follower, so that it can restart as a follower.
    TransferLeadership { id: u32 },
    /// Delete the volume of a removed member.
    DeleteVolume { id: u32 },
    /// Mark the retained volume of a removed member as released.
    ReleaseVolume { id: u32 },
    /// Nothing to do until something changes.
    Wait(Wait),
    /// Nothing may be done while the ensemble is unhealthy.
    Blocked(Blocker),
    /// The ensemble matches the spec.
    Idle,
}

impl Step {
    /// PascalCase name, used as Event reason, status action and metrics label.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Bootstrap { .. } => "Bootstrap",
            Step::CreateMember { .. } => "CreateMember",
            Step::RecreatePod { .. } => "RecreatePod",
            Step::AdoptVolume { .. } => "AdoptVolume",
            Step::AddMember { .. } => "AddMember",
            Step::RemoveMember { .. } => "RemoveMember",
            Step::DeletePod { .. } => "DeletePod",
            Step::RestartMember { .. } => "RestartMember",
            Step::TransferLeadership { .. } => "TransferLeadership",
            Step::DeleteVolume { .. } => "DeleteVolume",
            Step::ReleaseVolume { .. } => "ReleaseVolume",
            Step::Wait(_) => "Wait",
            Step::Blocked(_) => "Blocked",
            Step::Idle => "Idle",
        }
    }

    /// Server id the step is about.
    pub fn member(&self) -> Option<u32> {
        match *self {
            Step::Bootstrap { id }
            | Step::CreateMember { id }
            | Step::RecreatePod { id }
            | Step::AdoptVolume { id }
            | Step::AddMember { id }
            | Step::RemoveMember { id }
            | Step::DeletePod { id }
            | Step::RestartMember { id }
            | Step::TransferLeadership { id }
            | Step::DeleteVolume { id }
            | Step::ReleaseVolume { id } => Some(id),
            Step::Wait(
                Wait::MemberStarting(id)
                | Wait::MemberSyncing(id)
                | Wait::PodTerminating(id)
                | Wait::JoinerCatchingUp(id),
            ) => Some(id),
            Step::Blocked(
                Blocker::MemberDown(id)
                | Blocker::MemberNotStarted(id)
                | Blocker::MemberNotSynced(id)
                | Blocker::MemberReadOnly(id),
            ) => Some(id),
            Step::Blocked(
                Blocker::NoCommittedConfig
                | Blocker::NoLeader
                | Blocker::NoQuorumOnRetainedVolumes
                | Blocker::NoFreeId,
            )
            | Step::Idle => None,
        }
    }
}

impl Blocker {
    /// PascalCase reason for the Degraded condition.
    pub fn reason(&self) -> &'static str {
        match self {
            Blocker::NoCommittedConfig => "NoCommittedConfig",
            Blocker::MemberDown(_) => "MemberDown",
            Blocker::MemberNotStarted(_) => "MemberNotStarted",
            Blocker::MemberNotSynced(_) => "MemberNotSynced",
            Blocker::MemberReadOnly(_) => "MemberReadOnly",
            Blocker::NoLeader => "NoLeader",
            Blocker::NoQuorumOnRetainedVolumes => "NoQuorumOnRetainedVolumes",
            Blocker::NoFreeId => "NoFreeId",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Bootstrap { id } => write!(f, "creating first member {id}"),
            Step::CreateMember { id } => write!(
                f,
                "creating member {id}{} from the committed configuration",
                role(*id)
            ),
            Step::RecreatePod { id } => write!(f, "recreating the pod of voting member {id}"),
            Step::AdoptVolume { id } => {
                write!(f, "starting member {id} on its retained volume")
            }
            Step::AddMember { id } => write!(f, "adding member {id}{} by reconfig", role(*id)),
            Step::RemoveMember { id } => {
                write!(f, "removing member {id}{} by reconfig", role(*id))
            }
            Step::DeletePod { id } => write!(f, "deleting the pod of non-member {id}"),
            Step::RestartMember { id } => {
                write!(
                    f,
                    "restarting member {id} to apply the current pod spec and super credential"
                )
            }
            Step::TransferLeadership { id } => write!(
                f,
                "handing the leadership of member {id} over to a synced follower before it restarts"
            ),
            Step::DeleteVolume { id } => write!(f, "deleting the volume of removed member {id}"),
            Step::ReleaseVolume { id } => {
                write!(f, "keeping the volume of removed member {id} as released")
            }
            Step::Wait(Wait::MemberStarting(id)) => write!(f, "waiting for member {id} to start"),
            Step::Wait(Wait::MemberSyncing(id)) => {
                write!(f, "waiting for member {id} to sync with the leader")
            }
            Step::Wait(Wait::PodTerminating(id)) => {
                write!(f, "waiting for the pod of member {id} to terminate")
            }
            Step::Wait(Wait::JoinerCatchingUp(id)) => {
                write!(f, "waiting for member {id} to catch up with the leader")
            }
            Step::Blocked(Blocker::NoCommittedConfig) => {
                write!(
                    f,
                    "not scaling: no member answers with a committed configuration"
                )
            }
            Step::Blocked(Blocker::MemberDown(id)) => write!(f, "not scaling: member {id} is down"),
            Step::Blocked(Blocker::MemberNotStarted(id)) => write!(
                f,
                "not scaling: member {id} did not start within the start-up bound"
            ),
            Step::Blocked(Blocker::MemberNotSynced(id)) => {
                write!(f, "not scaling: member {id} is not in sync with the leader")
            }
            Step::Blocked(Blocker::MemberReadOnly(id)) => write!(
                f,
                "not scaling: member {id} refuses writes (read-only; a zk-server member is while its \
                 data or log volume is full)"
            ),
            Step::Blocked(Blocker::NoLeader) => write!(f, "not scaling: no leader"),
            Step::Blocked(Blocker::NoQuorumOnRetainedVolumes) => write!(
                f,
                "not scaling: the members started on retained volumes form no quorum"
            ),
            Step::Blocked(Blocker::NoFreeId) => write!(
                f,
                "not scaling: every member id of the role is in use or has a released volume"
            ),
            Step::Idle => write!(f, "ensemble matches its spec"),
        }
    }
}

/// How a step's message names the role of member `id`: nothing for a voter.
fn role(id: u32) -> &'static str {
    if is_observer_id(id) {
        " as an observer"
    } else {
        ""
    }
}

/// Decides the next step.
pub fn plan(desired: &Desired, observed: &Observed) -> Step {
    let Some(committed) = &observed.committed else {
        return plan_without_config(observed);
    };
    let voters: BTreeSet<u32> = committed.participants().collect();
    let observers: BTreeSet<u32> = committed.observers().collect();
    let pod = |id: u32| observed.members.get(&id).and_then(|m| m.pod.as_ref());

    // 2. Restore members' pods first, voters before observers: that is how an unhealthy ensemble heals.
    for &id in voters.iter().chain(&observers) {
        match pod(id) {
            None => return Step::RecreatePod { id },
            Some(p) if p.terminating => return Step::Wait(Wait::PodTerminating(id)),
            Some(_) => {}
        }
    }

    // 3. Pods of non-members: keep the valid joiners, of a role that is wanted (see `joiner_limit`). A
    //    non-member's pod being deleted holds back every step but a removal (see `held_back`).
    let lacking_voters = desired.replicas.saturating_sub(voters.len() as u32);
    let more_voters = lacking_voters > 0;
    let more_observers = (observers.len() as u32) < desired.observers;
    let member = |id: &u32| committed.servers.contains_key(id);
    let mut joiners = Vec::new();
    let mut terminating = None;
    for (&id, view) in observed.members.iter().rev() {
        let Some(p) = &view.pod else { continue };
        if member(&id) {
            continue;
        }
        if p.terminating {
            terminating = Some(id);
            continue;
        }
        let wanted = if is_observer_id(id) {
            more_observers
        } else {
            more_voters
        };
        let below = observed
            .members
            .range(..id)
            .filter(|(other, m)| !member(other) && m.pod.is_some())
            .count() as u32;
        let valid = wanted
            && p.up_to_date
            && p.credentials_current
            && joins_from_current_config(desired, committed, p)
            && below < joiner_limit(desired, id, lacking_voters);
        if !valid {
            return Step::DeletePod { id };
        }
        joiners.push((id, p));
    }
    let held_back = |step: Step| match terminating {
        Some(id) => Step::Wait(Wait::PodTerminating(id)),
        None => step,
    };

    // 4. Volumes of ids that have neither a pod nor a place in the configuration.
    for (&id, view) in &observed.members {
        let Some(volume) = view.volume else {
            continue;
        };
        if view.pod.is_some() || member(&id) || volume.terminating {
            continue;
        }
        match desired.reclaim_policy {
            PvcReclaimPolicy::Delete => return Step::DeleteVolume { id },
            PvcReclaimPolicy::Retain if !volume.released => return Step::ReleaseVolume { id },
            PvcReclaimPolicy::Retain => {}
        }
    }

    // 5. Health gate: the voters only; an observer never counts towards the quorum.
    let mut leader = None;
    for &id in &voters {
        let p = pod(id).expect("voters without pods were handled above");
        if !p.running {
            return match not_running(id, p) {
                // A member that serves nobody loses nothing by a restart, and one from a spec that has
                // changed since (a broken image fixed) comes back from the new one.
                Step::Blocked(_) if !p.up_to_date => Step::RestartMember { id },
                step => step,
            };
        }
        // A full volume is the cause to report, whether or not the member keeps up meanwhile.
        if p.read_only {
            return Step::Blocked(Blocker::MemberReadOnly(id));
        }
        if !p.synced {
            return if p.within_start_bound {
                Step::Wait(Wait::MemberSyncing(id))
            } else {
                Step::Blocked(Blocker::MemberNotSynced(id))
            };
        }
        if p.role == Some(Role::Leader) {
            leader = Some(id);
        }
    }
    let Some(leader) = leader else {
        return Step::Blocked(Blocker::NoLeader);
    };
    // An observer that serves nobody and whose pod spec has changed since comes back from the current one.
    if let Some(&id) = observers.iter().find(|&&id| {
        pod(id).is_some_and(|p| {
            !p.running && !p.up_to_date && matches!(not_running(id, p), Step::Blocked(_))
        })
    }) {
        return Step::RestartMember { id };
    }
    // A restart waits until every member's pod is Ready, the one restarted before it included: a server
    // answers `mntr` in sync a moment before its readiness probe passes and the client Service routes to it.
    let unready = voters
        .iter()
        .chain(&observers)
        .copied()
        .find(|&id| pod(id).is_some_and(|p| !p.ready));
    let restart = |id: u32| match unready {
        Some(other) if pod(other).is_some_and(|p| p.within_start_bound) => {
            Step::Wait(Wait::MemberStarting(other))
        }
        Some(other) => Step::Blocked(Blocker::MemberNotStarted(other)),
        None if id == leader && desired.leader_transfer && voters.len() > 1 => {
            held_back(Step::TransferLeadership { id })
        }
        None => held_back(Step::RestartMember { id }),
    };
    if let Some(id) = restart_order(&voters, &observers, leader)
        .find(|&id| pod(id).is_some_and(|p| !p.credentials_current))
    {
        return restart(id);
    }

    // 6. One membership change at a time, voters before observers. Members that can join from an older
    //    configuration get the pods of every lacking voter first, then are added one by one, lowest id first.
    let voter_joiners = joiners
        .iter()
        .filter(|(id, _)| !is_observer_id(*id))
        .count() as u32;
    if desired.joiners_at_once && voter_joiners > 0 && voter_joiners < lacking_voters {
        return held_back(create(committed, observed, VOTER_IDS));
    }
    if let Some(&(id, p)) = joiners.last() {
        return held_back(if !p.running {
            Step::Wait(Wait::MemberStarting(id))
        } else if !p.synced {
            Step::Wait(Wait::JoinerCatchingUp(id))
        } else {
            Step::AddMember { id }
        });
    }
    if more_voters {
        return held_back(create(committed, observed, VOTER_IDS));
    }
    if voters.len() as u32 > desired.replicas {
        let id = voters
            .iter()
            .rev()
            .copied()
            .find(|&id| id != leader)
            .expect("more than one voter");
        return Step::RemoveMember { id };
    }
    if more_observers {
        return held_back(create(committed, observed, OBSERVER_IDS));
    }
    if let Some(&id) = observers.last()
        && observers.len() as u32 > desired.observers
    {
        return Step::RemoveMember { id };
    }

    // 7. Rolling restart, observers first, then followers (highest id first), the leader last.
    match restart_order(&voters, &observers, leader)
        .find(|&id| pod(id).is_some_and(|p| !p.up_to_date))
    {
        Some(id) => restart(id),
        None => held_back(Step::Idle),
    }
}

/// A new member with the lowest free id of `ids`, or the blocker saying there is none.
fn create(committed: &EnsembleConfig, observed: &Observed, ids: RangeInclusive<u32>) -> Step {
    match free_id(committed, observed, ids) {
        Some(id) => Step::CreateMember { id },
        None => Step::Blocked(Blocker::NoFreeId),
    }
}

/// How many joiners of member `id`'s role may run at once while `lacking_voters` voters are wanted: every
/// lacking voter's when the members join from an older configuration, otherwise one.
fn joiner_limit(desired: &Desired, id: u32, lacking_voters: u32) -> u32 {
    if desired.joiners_at_once && !is_observer_id(id) {
        lacking_voters
    } else {
        1
    }
}

/// Whether joiner pod `p` starts from a configuration it may join with: the committed one, or, for members
/// that join from an older configuration, one committed before it that the joiner has already synced with
/// (or still has the start-up bound to sync with; past it, it is made anew from the committed one).
fn joins_from_current_config(desired: &Desired, committed: &EnsembleConfig, p: &PodView) -> bool {
    p.bootstrap_version == committed.version
        || (desired.joiners_at_once
            && p.bootstrap_version < committed.version
            && (p.synced || p.within_start_bound))
}

/// The step for member `id` whose server does not answer: a fresh start is waited for within the start-up
/// bound; past it, or after a failure, the member blocks every change.
fn not_running(id: u32, p: &PodView) -> Step {
    match (p.starting, p.within_start_bound) {
        (true, true) => Step::Wait(Wait::MemberStarting(id)),
        (true, false) => Step::Blocked(Blocker::MemberNotStarted(id)),
        (false, _) => Step::Blocked(Blocker::MemberDown(id)),
    }
}

/// The order in which members restart: observers, then followers, each from the highest id down, then the
/// leader.
fn restart_order<'a>(
    voters: &'a BTreeSet<u32>,
    observers: &'a BTreeSet<u32>,
    leader: u32,
) -> impl Iterator<Item = u32> + 'a {
    observers
        .iter()
        .rev()
        .chain(voters.iter().rev().filter(move |&&id| id != leader))
        .copied()
        .chain(std::iter::once(leader))
}

/// Ids whose volume a re-created ensemble starts members on: every volume that is not released (removed
/// members' volumes never come back) and not being deleted.
pub fn adoptable_volumes(observed: &Observed) -> BTreeSet<u32> {
    observed
        .members
        .iter()
        .filter(|(_, m)| m.volume.is_some_and(|v| !v.released && !v.terminating))
        .map(|(&id, _)| id)
        .collect()
}

/// Rule 1: no committed configuration could be read.
fn plan_without_config(observed: &Observed) -> Step {
    let pods = || {
        observed
            .members
            .iter()
            .filter_map(|(&id, m)| m.pod.as_ref().map(|p| (id, p)))
    };
    for &id in &observed.remembered_voters {
        if observed.members.get(&id).is_none_or(|m| m.pod.is_none()) {
            return Step::RecreatePod { id };
        }
    }
    // An ensemble that remembers no voters and finds volumes is one re-created over its retained volumes (or
    // one whose first member's pod was not created yet): every such volume gets its member back, whose own
    // dynamic config file then names the ensemble it belonged to.
    let adopted = observed.remembered_voters.is_empty();
    if adopted
        && let Some(id) = adoptable_volumes(observed)
            .into_iter()
            .find(|id| observed.members[id].pod.is_none())
    {
        return Step::AdoptVolume { id };
    }
    if adopted && pods().next().is_none() {
        return match free_id(&EnsembleConfig::default(), observed, VOTER_IDS) {
            Some(id) => Step::Bootstrap { id },
            None => Step::Blocked(Blocker::NoFreeId),
        };
    }
    if let Some((id, _)) = pods().find(|(_, p)| p.terminating) {
        return Step::Wait(Wait::PodTerminating(id));
    }
    if let Some((id, p)) = pods().find(|(_, p)| !p.running) {
        return not_running(id, p);
    }
    if adopted && pods().count() > 1 {
        return Step::Blocked(Blocker::NoQuorumOnRetainedVolumes);
    }
    Step::Blocked(Blocker::NoCommittedConfig)
}

/// Lowest id of `ids` that is not in `committed`, has no pod (a joiner's) and whose volume, if any, may be
/// used: a released or terminating volume is never reused, so a re-added member never boots from a stale
/// volume.
fn free_id(
    committed: &EnsembleConfig,
    observed: &Observed,
    mut ids: RangeInclusive<u32>,
) -> Option<u32> {
    ids.find(|id| {
        let view = observed.members.get(id);
        !committed.servers.contains_key(id)
            && view.is_none_or(|m| m.pod.is_none())
            && view
                .and_then(|m| m.volume)
                .is_none_or(|v| !v.released && !v.terminating)
    })
}

#[cfg(test)]
mod tests;
