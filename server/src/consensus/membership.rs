//! Membership changes (reconfig), carried out by the leader with joint consensus.
//!
//! The leader accepts a change when a quorum of the NEW voters is synced with it, as Apache's
//! `isQuorumSynced` decides: itself if it stays a voter, and the members that are connected and
//! caught up; observers never count. A voter that is not connected (down, or running on its own)
//! does not hold the change up when the others make up that quorum: it becomes a voter of the
//! committed config at once and catches up when it connects; otherwise the change is refused with
//! no effect (NewConfigNoQuorum). The decision is taken here, on the leader, from its replication
//! and heartbeat metrics, so a change forwarded by a follower is judged the same way. Then one
//! joint change sets the voters, the non-voting members and every member's spec, guarded by
//! the membership it was computed from, so a concurrent change makes it fail instead of being
//! overwritten. Members that leave stay as learners marked departed: like a removed Apache
//! server they keep following the leader, but neither vote nor appear in the member list. A
//! leader that removes itself hands over to the most up-to-date voter by leader transfer once the
//! change is committed, and then follows too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use openraft::errors::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::raft::Precondition;
use openraft::rt::watch::WatchReceiver;
use openraft::{ChangeMembers, Instant as _, ServerState};
use serde::{Deserialize, Serialize};

use super::network::transport::Transport;
use super::state_machine::zxid_of;
use super::transfer::{self, Handover, most_caught_up};
use super::typ::{MAX_RANK, PeerNode, Raft, RaftMetrics, TypeConfig};
use super::{ConsensusError, Member};

/// Why the leader refused (or could not carry out) a change; travels back to a forwarding member.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ChangeRefusal {
    /// The receiver does not lead; the leader it knows of, if any.
    NotLeader(Option<u64>),
    /// The config version is not the expected one.
    BadVersion(i64),
    /// Another change is being committed.
    InProgress,
    /// No quorum of the new voters is synced with the leader.
    NoQuorum(String),
    /// The requested membership is unusable.
    Invalid(String),
    /// Any other failure.
    Failed(String),
}

impl From<ChangeRefusal> for ConsensusError {
    fn from(refusal: ChangeRefusal) -> ConsensusError {
        match refusal {
            ChangeRefusal::NotLeader(_) => ConsensusError::NoLeader,
            ChangeRefusal::BadVersion(current) => ConsensusError::BadVersion { current },
            ChangeRefusal::InProgress => ConsensusError::ReconfigInProgress,
            ChangeRefusal::NoQuorum(reason) => ConsensusError::NewConfigNoQuorum(reason),
            ChangeRefusal::Invalid(reason) => ConsensusError::InvalidMembership(reason),
            ChangeRefusal::Failed(reason) => ConsensusError::Raft(reason),
        }
    }
}

/// The leader a write error points to when the write was refused before it was appended (so it
/// is safe to send again); `None` for every other error, including an entry discarded by a
/// leader change, whose fate is unknown.
pub(crate) fn refused_for_leader(
    error: &RaftError<TypeConfig, ClientWriteError<TypeConfig>>,
) -> Option<Option<u64>> {
    match error {
        RaftError::APIError(ClientWriteError::ForwardToLeader(forward)) => Some(forward.leader_id),
        _ => None,
    }
}

fn refusal(
    error: RaftError<TypeConfig, ClientWriteError<TypeConfig>>,
    current: i64,
) -> ChangeRefusal {
    if let Some(leader) = refused_for_leader(&error) {
        return ChangeRefusal::NotLeader(leader);
    }
    match error {
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::InProgress(_),
        )) => ChangeRefusal::InProgress,
        RaftError::APIError(ClientWriteError::PreconditionFailed(_)) => {
            ChangeRefusal::BadVersion(current)
        }
        other => ChangeRefusal::Failed(other.to_string()),
    }
}

/// Replaces the membership with `members` on the leader and returns the new config version.
///
/// The change goes ahead only when a quorum of the new voters is synced with this leader
/// (Apache's `isQuorumSynced` on the new configuration): this leader if it stays a voter, and
/// every new voter that is connected and caught up ([`synced_ids`]); observers never count. A
/// joiner that is not connected does not hold the change up: it becomes a voter of the committed
/// configuration at once and catches up when it connects. A voter known to this leader that is
/// connected but still catching up (or any, while a leader just elected has heard from nobody) is
/// waited for up to `settle`; one that is not connected is not.
pub(crate) async fn change_on_leader(
    raft: &Raft,
    handover: &Handover,
    members: &[Member],
    expected_version: Option<i64>,
    settle: Duration,
    transport: &Transport,
) -> Result<i64, ChangeRefusal> {
    let voters: BTreeSet<u64> = members.iter().filter(|m| m.voter).map(|m| m.id).collect();
    if voters.is_empty() {
        return Err(ChangeRefusal::Invalid("no voter left".into()));
    }
    let base = raft.metrics().borrow_watched().membership_config.clone();
    let version = base.log_id().as_ref().map_or(0, zxid_of);
    if expected_version.is_some_and(|v| v != version) {
        return Err(ChangeRefusal::BadVersion(version));
    }
    if base.membership().get_joint_config().len() > 1 {
        return Err(ChangeRefusal::InProgress);
    }
    wait_for_synced_quorum(raft, &voters, settle, transport).await?;

    // One joint change: specs (joiners included) and voters. Members that leave stay as departed
    // learners, as a removed Apache server keeps following the leader without voting or being
    // listed.
    let mut nodes: BTreeMap<u64, PeerNode> = base
        .membership()
        .nodes()
        .map(|(id, node)| {
            (
                *id,
                PeerNode {
                    departed: true,
                    rank: None,
                    ..node.clone()
                },
            )
        })
        .collect();
    // `members` come in the configuration's order; ranks are stored only where that is not id
    // order, so most entries read the same to a member that predates ranks.
    let in_id_order = members.windows(2).all(|pair| pair[0].id < pair[1].id);
    let ranked = !in_id_order && members.len() <= MAX_RANK + 1;
    for (rank, member) in members.iter().enumerate() {
        let rank = ranked.then_some(rank as u8);
        nodes.insert(member.id, PeerNode::ranked(&member.spec, rank));
    }
    let steps = vec![
        ChangeMembers::SetNodes(nodes),
        ChangeMembers::ReplaceAllVoters(voters),
    ];
    let guard = Precondition::LastMembershipLogId {
        last_membership_log_id: *base.log_id(),
    };
    let written = raft
        .change_membership_if(ChangeMembers::Batch(steps), true, [guard])
        .await
        .map_err(|e| refusal(e, version))?
        .log_id;
    if !members.iter().any(|m| m.voter && m.id == *raft.node_id()) {
        hand_over(raft, handover, transport).await;
    }
    Ok(zxid_of(&written))
}

/// The members a leader counts as synced: connected (an acknowledgement within `ack_window`) and
/// caught up (within 1000 entries of the committed index), like a learner handler of Apache's
/// that has synced and keeps acknowledging. This leader is not included. Empty on a member that
/// does not lead.
pub(crate) fn synced_ids(metrics: &RaftMetrics, ack_window: Duration) -> BTreeSet<u64> {
    let (Some(replication), Some(heartbeat)) = (&metrics.replication, &metrics.heartbeat) else {
        return BTreeSet::new();
    };
    let committed = metrics.cluster_committed.map_or(0, |c| c.index);
    metrics
        .membership_config
        .membership()
        .nodes()
        .filter(|(id, _)| {
            let matched = replication.get(*id).cloned().flatten().map(|l| l.index);
            let acked = heartbeat.get(*id).cloned().flatten();
            let recent = acked.is_some_and(|at| at.elapsed() <= ack_window);
            **id != metrics.id && recent && matched.is_some_and(|m| m + 1000 >= committed)
        })
        .map(|(id, _)| *id)
        .collect()
}

/// Whether an Apache server spec (`host:port:port[:role][;client]`) says `observer`.
pub(crate) fn is_observer_spec(spec: &str) -> bool {
    spec.split(';')
        .next()
        .is_some_and(|servers| servers.split(':').any(|f| f.trim() == "observer"))
}

/// How a voter of a new config that is not synced yet may still come to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    /// Not at all: not connected (down, or running on its own: this leader's latest attempt to
    /// reach it failed, or it stopped answering), or an observer now.
    No,
    /// Not heard from yet: replicated to without an answer so far (added a moment ago), or any
    /// voter while this leader, just elected, has heard from nobody; either while the latest
    /// attempt to reach it has not failed.
    Unheard,
    /// Connected (acknowledged lately) but still catching up.
    CatchingUp,
}

/// Waits until the synced members (this leader included; members connected as observers never
/// count, even when the new config makes them participants) are a majority of `voters`. While a
/// voter that is not synced is connected and catching up, it is waited for up to `settle`; one
/// not heard from yet, up to an election timeout; when no voter may still count, the change is
/// refused at once with `NoQuorum`, as Apache refuses it.
async fn wait_for_synced_quorum(
    raft: &Raft,
    voters: &BTreeSet<u64>,
    settle: Duration,
    transport: &Transport,
) -> Result<(), ChangeRefusal> {
    let ack_window = Duration::from_millis(raft.config().election_timeout_max);
    let me = *raft.node_id();
    let quorum = voters.len() / 2 + 1;
    let started = Instant::now();
    let mut watch = raft.metrics();
    loop {
        let (count, pending) = {
            let now = watch.borrow_watched();
            if now.state != ServerState::Leader {
                return Err(ChangeRefusal::NotLeader(now.current_leader));
            }
            quorum_progress(&now, voters, ack_window, |id| transport.unreachable(id))
        };
        if count >= quorum {
            return Ok(());
        }
        let bound = match pending {
            Pending::No => Duration::ZERO,
            Pending::Unheard => settle.min(ack_window),
            Pending::CatchingUp => settle,
        };
        let left = bound.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(ChangeRefusal::NoQuorum(format!(
                "{count} of the {} new voters synced with leader {me}",
                voters.len()
            )));
        }
        // Metrics change with every acknowledgement; a short tick also ages the ones seen.
        let tick = left.min(Duration::from_millis(50));
        let _ = tokio::time::timeout(tick, watch.changed()).await;
    }
}

/// How many of `voters` count as synced on this leader (itself included), and how the others
/// may still come to count (the most hopeful of them).
fn quorum_progress(
    metrics: &RaftMetrics,
    voters: &BTreeSet<u64>,
    ack_window: Duration,
    unreachable: impl Fn(u64) -> bool,
) -> (usize, Pending) {
    let me = metrics.id;
    let known = metrics.membership_config.membership();
    let participant = |id: &u64| {
        known
            .get_node(id)
            .is_some_and(|node| !is_observer_spec(&node.spec))
    };
    let synced = synced_ids(metrics, ack_window);
    let counts = |id: &u64| *id == me || (synced.contains(id) && participant(id));
    let acked = |id: &u64| {
        metrics
            .heartbeat
            .as_ref()
            .and_then(|acks| acks.get(id).cloned().flatten())
    };
    let replicating = |id: &u64| {
        metrics
            .replication
            .as_ref()
            .is_some_and(|r| r.contains_key(id))
    };
    let mut others = known.voter_ids().filter(|id| *id != me).peekable();
    let nobody_heard = others.peek().is_some() && others.all(|id| acked(&id).is_none());
    let pending = voters
        .iter()
        .filter(|id| !counts(id) && participant(id))
        .map(|id| match acked(id) {
            Some(at) if at.elapsed() <= ack_window => Pending::CatchingUp,
            None if (nobody_heard || replicating(id)) && !unreachable(*id) => Pending::Unheard,
            _ => Pending::No,
        })
        .max()
        .unwrap_or(Pending::No);
    (voters.iter().filter(|id| counts(id)).count(), pending)
}

/// Runs on every member: when it leads and finds a joint config written under an earlier term
/// (its predecessor crashed between the two entries of a change), it completes the change to
/// the new config, so a change is never left half way.
pub(crate) async fn complete_interrupted_changes(raft: Raft) {
    let mut metrics = raft.metrics();
    loop {
        let interrupted = {
            let now = metrics.borrow_and_update();
            let membership = &now.membership_config;
            let joint = membership.membership().get_joint_config();
            let earlier_term = membership
                .log_id()
                .is_some_and(|l| l.leader_id.term < now.current_term);
            (now.state == ServerState::Leader && joint.len() > 1 && earlier_term)
                .then(|| joint.last().cloned().unwrap_or_default())
        };
        if let Some(voters) = interrupted {
            tracing::info!(
                ?voters,
                "completing a membership change interrupted by a leader change"
            );
            if let Err(e) = raft
                .change_membership(ChangeMembers::ReplaceAllVoters(voters), true)
                .await
            {
                tracing::warn!(error = %e, "completing an interrupted membership change failed");
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

/// Runs on every member: while it leads, a departed member (removed from the config) that has
/// not answered for `after` is dropped from the learners, so that the leader stops replicating to
/// it (the operator deletes the members it removes). A removed server that still runs keeps
/// answering, and keeps following, as a removed Apache server does.
pub(crate) async fn forget_departed(raft: Raft, after: Duration) {
    let mut silent_since: HashMap<u64, Instant> = HashMap::new();
    let mut check = tokio::time::interval((after / 4).max(Duration::from_millis(100)));
    loop {
        check.tick().await;
        let gone: BTreeSet<u64> = {
            let metrics = raft.metrics();
            let now = metrics.borrow_watched();
            if now.state != ServerState::Leader {
                silent_since.clear();
                continue;
            }
            let departed: Vec<u64> = now
                .membership_config
                .membership()
                .nodes()
                .filter(|(_, node)| node.departed)
                .map(|(id, _)| *id)
                .collect();
            silent_since.retain(|id, _| departed.contains(id));
            for id in departed {
                let answered = now
                    .heartbeat
                    .as_ref()
                    .and_then(|acks| acks.get(&id).cloned().flatten())
                    .is_some_and(|at| at.elapsed() < after);
                if answered {
                    silent_since.remove(&id);
                } else {
                    silent_since.entry(id).or_insert_with(Instant::now);
                }
            }
            silent_since
                .iter()
                .filter(|(_, since)| since.elapsed() >= after)
                .map(|(id, _)| *id)
                .collect()
        };
        if !gone.is_empty() {
            tracing::info!(members = ?gone, "forgetting removed members that stopped answering");
            remove_learners(&raft, gone).await;
        }
    }
}

/// A leader that is no longer a voter hands leadership to the most up-to-date voter (no
/// election timeout, and writes wait for it: see `transfer`), then follows it as a departed
/// learner.
async fn hand_over(raft: &Raft, handover: &Handover, transport: &Transport) {
    let target = {
        let metrics = raft.metrics();
        let now = metrics.borrow_watched();
        most_caught_up(&now, now.membership_config.voter_ids())
    };
    let Some(target) = target else { return };
    tracing::info!(
        to = target,
        "removed from the voters: handing leadership over"
    );
    if let Err(e) = transfer::hand_over(raft, handover, target, transport).await {
        tracing::warn!(to = target, error = %e, "leader transfer failed");
    }
}

/// Removes learners added for a change that failed, retrying while this member still leads.
async fn remove_learners(raft: &Raft, ids: BTreeSet<u64>) {
    for _ in 0..5 {
        match raft
            .change_membership(ChangeMembers::RemoveNodes(ids.clone()), false)
            .await
        {
            Ok(_) => return,
            Err(e) if refused_for_leader(&e).is_some() => {
                tracing::warn!(
                    ?ids,
                    "leadership lost before learners of a failed change were removed"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(?ids, error = %e, "removing learners of a failed change failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
