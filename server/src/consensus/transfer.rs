//! Leadership hand-over on request: before its leader is restarted, the operator moves leadership
//! to a synced follower (the AdminServer's `leader_transfer`), so that the ensemble does not wait
//! out an election timeout.
//!
//! The leader checks the target (a voter of the configuration, connected and caught up as
//! [`synced_ids`] counts it; without a target, the synced voter with the most entries), then
//! starts openraft's leader transfer: it stops proposing and heart-beating, and tells every voter;
//! the target waits until it has flushed the leader's last entry and campaigns at once, the others
//! grant it their vote without waiting for the leader lease to run out. Writes that reach the old
//! leader meanwhile are refused (their sessions reconnect, as after any leader change). If the
//! target does not take over, the ensemble elects a leader after the election timeout, as it does
//! when a leader falls silent.

use std::time::Duration;

use openraft::ServerState;
use openraft::rt::watch::WatchReceiver;

use super::TransferError;
use super::membership::synced_ids;
use super::typ::{Raft, RaftMetrics};

/// Hands leadership over to `to` (or, without it, to the synced voter with the most entries)
/// and returns the member that leads afterwards, once this one knows it (at most `within`).
/// `to` naming this leader is no change.
pub(crate) async fn transfer_leadership(
    raft: &Raft,
    to: Option<u64>,
    ack_window: Duration,
    within: Duration,
) -> Result<u64, TransferError> {
    let me = *raft.node_id();
    let target = {
        let metrics = raft.metrics().borrow_watched().clone();
        if metrics.state != ServerState::Leader {
            return Err(TransferError::NotLeader {
                leader: metrics.current_leader,
            });
        }
        choose_target(&metrics, to, ack_window)?
    };
    if target == me {
        return Ok(me);
    }
    tracing::info!(to = target, "handing leadership over on request");
    raft.trigger()
        .transfer_leader(target)
        .await
        .map_err(|_| TransferError::Shutdown)?;
    let mut metrics = raft.metrics();
    let successor = async {
        loop {
            {
                let now = metrics.borrow_and_update();
                if now.state == ServerState::Shutdown {
                    return Err(TransferError::Shutdown);
                }
                if let Some(leader) = now.current_leader.filter(|&l| l != me) {
                    return Ok(leader);
                }
            }
            if metrics.changed().await.is_err() {
                return Err(TransferError::Shutdown);
            }
        }
    };
    tokio::time::timeout(within, successor)
        .await
        .unwrap_or(Err(TransferError::TimedOut(within)))
}

/// The member leadership goes to: `to` if it may take over, else the most caught-up synced voter.
fn choose_target(
    metrics: &RaftMetrics,
    to: Option<u64>,
    ack_window: Duration,
) -> Result<u64, TransferError> {
    let membership = metrics.membership_config.membership();
    let synced = synced_ids(metrics, ack_window);
    let is_voter = |id: &u64| membership.voter_ids().any(|v| v == *id);
    match to {
        Some(id) if id == metrics.id => Ok(id),
        Some(id) => {
            if membership.get_node(&id).is_none_or(|node| node.departed) {
                Err(TransferError::UnknownMember(id))
            } else if !is_voter(&id) {
                Err(TransferError::NotVoter(id))
            } else if !synced.contains(&id) {
                Err(TransferError::NotSynced(id))
            } else {
                Ok(id)
            }
        }
        None => most_caught_up(metrics, synced.into_iter().filter(is_voter))
            .ok_or(TransferError::NoSyncedFollower),
    }
}

/// Of `candidates` (this leader left out), the one the leader has replicated the most entries to.
pub(crate) fn most_caught_up(
    metrics: &RaftMetrics,
    candidates: impl Iterator<Item = u64>,
) -> Option<u64> {
    let matched = |id: &u64| {
        metrics
            .replication
            .as_ref()
            .and_then(|r| r.get(id).cloned().flatten())
    };
    candidates
        .filter(|id| *id != metrics.id)
        .max_by_key(|id| matched(id))
}
