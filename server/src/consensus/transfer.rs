//! Leadership hand-over on request: before its leader is restarted, the operator moves leadership
//! to a synced follower (the AdminServer's `leader_transfer`), so that the ensemble does not wait
//! out an election timeout.
//!
//! The leader checks the target (a voter of the configuration, connected and caught up as
//! [`synced_ids`] counts it; without a target, the synced voter with the most entries), then
//! starts openraft's leader transfer: it stops proposing and heart-beating, and tells every voter;
//! the target waits until it has flushed the leader's last entry and campaigns at once, the others
//! grant it their vote without waiting for the leader lease to run out. If the target does not
//! take over, the ensemble elects a leader after the election timeout, as it does when a leader
//! falls silent.
//!
//! The old leader refuses every write from the moment the transfer starts, and a session whose
//! write is refused is disconnected (see `pipeline`); a leader that steps down also fails the
//! writes still pending on it, though its successor commits them. So that writes wait for the
//! successor instead, every member keeps a [`Handover`] notice, and while the leader that is
//! handing over still leads in the same term, writes, `sync` and forwarded requests wait for the
//! next leader (at most two election timeouts) rather than go to it. The leader notes its own
//! hand-over, tells the other members (`HandingOver`, best effort; they also note openraft's
//! transfer message when it reaches them), lets the entries already appended commit and apply
//! (for at most an election timeout), and only then starts the transfer.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::join_all;
use openraft::ServerState;
use openraft::rt::watch::WatchReceiver;

use super::TransferError;
use super::membership::synced_ids;
use super::network::client::PeerClient;
use super::network::transport::Transport;
use super::network::wire::{PeerRequest, PeerResponse};
use super::typ::{Raft, RaftMetrics};

/// A member's notice of a leader that is handing leadership over.
#[derive(Debug)]
pub(crate) struct Handover {
    /// How long a notice holds at most (the successor campaigns well within it).
    lasts: Duration,
    notice: Mutex<Option<Notice>>,
}

#[derive(Debug, Clone, Copy)]
struct Notice {
    leader: u64,
    term: u64,
    until: Instant,
}

impl Handover {
    /// No notice yet; each holds for at most `lasts`.
    pub(crate) fn new(lasts: Duration) -> Handover {
        Handover {
            lasts,
            notice: Mutex::new(None),
        }
    }

    /// `leader`, leading in `term`, is handing leadership over.
    pub(crate) fn note(&self, leader: u64, term: u64) {
        let until = Instant::now() + self.lasts;
        *self.notice.lock().unwrap_or_else(|e| e.into_inner()) = Some(Notice {
            leader,
            term,
            until,
        });
    }

    /// Until when to wait for another leader than `leader`, leading in `term`: `None` when it is
    /// not handing over (or the notice ran out).
    pub(crate) fn pending(&self, leader: u64, term: u64) -> Option<Instant> {
        let notice = *self.notice.lock().unwrap_or_else(|e| e.into_inner());
        notice
            .filter(|n| n.leader == leader && n.term == term && n.until > Instant::now())
            .map(|n| n.until)
    }
}

/// Hands leadership over to `to` (or, without it, to the synced voter with the most entries)
/// and returns the member that leads afterwards, once this one knows it (at most `within`).
/// `to` naming this leader is no change. See [`hand_over`] for how.
pub(crate) async fn transfer_leadership(
    raft: &Raft,
    handover: &Handover,
    to: Option<u64>,
    ack_window: Duration,
    within: Duration,
    transport: &Transport,
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
    hand_over(raft, handover, target, transport).await?;
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

/// Hands leadership over to `target` without waiting for it to take over: notes the hand-over
/// in `handover`, tells the other members, lets the entries already appended be applied (for at
/// most the shortest election timeout), then starts openraft's transfer. Does nothing on a member
/// that does not lead.
pub(crate) async fn hand_over(
    raft: &Raft,
    handover: &Handover,
    target: u64,
    transport: &Transport,
) -> Result<(), TransferError> {
    let me = *raft.node_id();
    let drain = Duration::from_millis(raft.config().election_timeout_min);
    let (term, peers) = {
        let metrics = raft.metrics();
        let now = metrics.borrow_watched();
        if now.state != ServerState::Leader {
            return Ok(());
        }
        let peers: Vec<(u64, String)> = now
            .membership_config
            .membership()
            .nodes()
            .filter(|(id, _)| **id != me)
            .map(|(id, node)| (*id, node.spec.clone()))
            .collect();
        (now.current_term, peers)
    };
    handover.note(me, term);
    announce(peers, me, term, drain, transport).await;
    let mut metrics = raft.metrics();
    let drained = async {
        loop {
            {
                let now = metrics.borrow_and_update();
                if now.last_applied.map(|l| l.index) >= now.last_log_index {
                    return;
                }
            }
            if metrics.changed().await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(drain, drained).await;
    raft.trigger()
        .transfer_leader(target)
        .await
        .map_err(|_| TransferError::Shutdown)
}

/// Tells `peers` that leader `me` of `term` hands over, waiting at most `within` for them all.
/// Best effort: a member that does not hear it learns of the hand-over from openraft's transfer
/// message.
async fn announce(
    peers: Vec<(u64, String)>,
    me: u64,
    term: u64,
    within: Duration,
    transport: &Transport,
) {
    let request = PeerRequest::HandingOver { leader: me, term };
    let calls = peers.into_iter().map(|(id, spec)| {
        let request = &request;
        async move {
            let mut client = PeerClient::new(id, &spec, transport);
            match tokio::time::timeout(within, client.call(request, within)).await {
                Ok(Ok(PeerResponse::HandoverNoted)) => {}
                outcome => {
                    let outcome = outcome.map(|r| r.map(|_| ()));
                    tracing::debug!(member = id, ?outcome, "hand-over notice not taken");
                }
            }
        }
    });
    join_all(calls).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_holds_for_its_leader_and_term_until_it_runs_out() {
        let handover = Handover::new(Duration::from_millis(30));
        assert_eq!(handover.pending(1, 4), None);
        handover.note(1, 4);
        assert!(handover.pending(1, 4).is_some());
        assert_eq!(
            handover.pending(1, 5),
            None,
            "a new term: the hand-over is over"
        );
        assert_eq!(handover.pending(2, 4), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(handover.pending(1, 4), None, "ran out");
    }
}
