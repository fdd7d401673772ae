//! Noticing at once that the leader's process is gone (DESIGN.md §8), as Apache's followers do
//! when the leader's socket closes, instead of waiting out the election timeout and the leader
//! lease (about one and a half ticks).
//!
//! Every follower and learner keeps one connection open to its leader's quorum port, a watch
//! ([`PeerRequest::Watch`]) that the leader holds and never answers. When the watch ends, the
//! member connects again at once: a connection accepted means the leader's process still runs
//! (the link broke, or the leader closed it), and the member watches again (a connection that is
//! reset at once or during its TLS handshake, as a dying process's listener may still accept one,
//! is retried within milliseconds); a connection **refused** means nothing listens on the leader's
//! quorum port any more: its process is gone.
//! Only a refusal counts. A timeout, a dropped packet or an unknown host is what a partition looks
//! like, and a partitioned leader is replaced by the ordinary election timeout.
//!
//! On a refusal the member gives up its leader lease for that leader (openraft's
//! `handle_transfer_leader` addressed to the leader itself: it resets the lease and elects
//! nobody), then, if it is a voter, asks for an election with pre-vote after a delay that grows
//! with its rank among the remaining voters (fewer split votes). The other voters grant it only
//! once their own lease has run out or they have seen the refusal too: no request here carries
//! openraft's `leadership_transfer` flag, which makes voters ignore their lease. So a refusal seen
//! by one member alone (a reset link to a leader that still runs) ends in a refused pre-vote: no
//! term changes and the leader is not disturbed. What it costs: that member grants other
//! candidates' votes as if its lease had expired until the next leader change (openraft restores
//! a lease only with a new vote), so it no longer shields the leader from a voter that lost the
//! leader and campaigns.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use openraft::raft::TransferLeaderRequest;
use openraft::rt::watch::WatchReceiver;

use super::network::client::CallError;
use super::network::quorum_addr;
use super::network::transport::{PeerStream, Transport};
use super::network::wire::{PeerRequest, read_frame, write_frame};
use super::typ::{Raft, RaftServerMetrics, Vote};

/// How the watch paces itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WatchTiming {
    /// How long each remaining voter waits per rank before it campaigns.
    pub stagger: Duration,
    /// How long a member waits for its campaign to elect someone before it watches the same
    /// leader again (the election timeout's upper bound).
    pub settle: Duration,
}

/// How many pre-vote rounds a member starts after one refusal.
const CAMPAIGNS: u32 = 3;
/// A watch that ends sooner than this after it was opened is a short one.
const SHORT_WATCH: Duration = Duration::from_secs(1);
/// How many short watches in a row are opened again after [`QUICK_RETRY`]: a dying leader's
/// kernel may still accept a connection on its listener and then reset it, just before it
/// refuses connections.
const QUICK_RETRIES: u32 = 3;
/// How long to wait before watching again after one of the first short watches.
const QUICK_RETRY: Duration = Duration::from_millis(20);
/// How long to wait before watching again after a failed connection or more short watches (a
/// member that closes watches at once must not be flooded with them).
const RETRY: Duration = Duration::from_millis(500);

/// The leader being watched.
struct Watched {
    leader: u64,
    /// The leader's committed vote, as this member holds it.
    vote: Vote,
    addr: Option<String>,
    /// This member's place among the voters other than the leader, if it is one of them.
    rank: Option<u32>,
    /// How many voters there are besides the leader.
    others: u32,
}

impl Watched {
    /// The leader `my_id` follows now, if another member leads with a committed vote.
    fn of(metrics: &RaftServerMetrics, my_id: u64) -> Option<Watched> {
        let leader = metrics.current_leader.filter(|&l| l != my_id)?;
        if !metrics.vote.is_committed() || metrics.vote.leader_id.node_id != leader {
            return None;
        }
        let membership = metrics.membership_config.membership();
        let addr = membership
            .get_node(&leader)
            .and_then(|node| quorum_addr(&node.spec));
        let mut voters: Vec<u64> = membership.voter_ids().filter(|&v| v != leader).collect();
        voters.sort_unstable();
        let rank = voters.iter().position(|&v| v == my_id).map(|r| r as u32);
        Some(Watched {
            leader,
            vote: metrics.vote,
            addr,
            rank,
            others: voters.len() as u32,
        })
    }
}

/// How one watch ended.
#[derive(Debug, PartialEq)]
enum Ended {
    /// Nothing listens on the leader's quorum port.
    Refused,
    /// The watch was open for this long, then closed or broke.
    Closed(Duration),
    /// No connection: a timeout, an unknown host, no address in the spec.
    Unreachable,
}

/// Watches the leader of member `my_id` for as long as Raft runs (see the module documentation).
pub(crate) async fn watch_leaders(
    raft: Raft,
    my_id: u64,
    timing: WatchTiming,
    transport: Transport,
) {
    let mut metrics = raft.server_metrics();
    let mut short_watches = 0;
    loop {
        let watched = Watched::of(&metrics.borrow_and_update(), my_id);
        let Some(watched) = watched else {
            if metrics.changed().await.is_err() {
                return;
            }
            continue;
        };
        let ended = tokio::select! {
            ended = hold(&transport, watched.leader, watched.addr.as_deref()) => ended,
            () = vote_changes_from(&raft, &watched.vote) => {
                short_watches = 0;
                continue;
            }
        };
        let pause = match ended {
            Ended::Refused => {
                short_watches = 0;
                tokio::select! {
                    () = campaign(&raft, &watched, timing) => {}
                    () = vote_changes_from(&raft, &watched.vote) => continue,
                }
                timing.settle
            }
            Ended::Closed(open) if open >= SHORT_WATCH => {
                short_watches = 0;
                Duration::ZERO
            }
            Ended::Closed(_) => {
                short_watches += 1;
                if short_watches <= QUICK_RETRIES {
                    QUICK_RETRY
                } else {
                    RETRY
                }
            }
            Ended::Unreachable => RETRY,
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = vote_changes_from(&raft, &watched.vote) => {}
        }
    }
}

/// Opens a watch on `leader` and holds it until it ends.
async fn hold(transport: &Transport, leader: u64, addr: Option<&str>) -> Ended {
    let mut stream = match transport.connect(leader, addr).await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::debug!(leader, error = %e, "cannot watch the leader");
            return not_opened(&e);
        }
    };
    let opened = Instant::now();
    if let Err(e) = write_frame(&mut stream, &PeerRequest::Watch).await {
        tracing::debug!(leader, error = %e, "cannot watch the leader");
        return Ended::Closed(opened.elapsed());
    }
    let outcome = wait_for_end(&mut stream).await;
    tracing::debug!(leader, ?outcome, "the watch on the leader ended");
    Ended::Closed(opened.elapsed())
}

/// How a watch that could not be opened ended: refused (nothing listens on the port); reset as
/// it was opened, during a TLS or SASL handshake (a dying process's listener may still accept a
/// connection, then reset it: a short watch, opened again within milliseconds); or unreachable.
fn not_opened(error: &CallError) -> Ended {
    let (CallError::Unreachable { source, .. } | CallError::Network { source, .. }) = error;
    match source.kind() {
        ErrorKind::ConnectionRefused => Ended::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
            Ended::Closed(Duration::ZERO)
        }
        _ => Ended::Unreachable,
    }
}

/// Reads until the peer closes the connection or it breaks.
async fn wait_for_end(stream: &mut PeerStream) -> std::io::Result<()> {
    while read_frame::<_, PeerRequest>(stream).await?.is_some() {}
    Ok(())
}

/// The leader's process is gone: give up the lease on it and, as a voter, campaign.
async fn campaign(raft: &Raft, watched: &Watched, timing: WatchTiming) {
    tracing::info!(
        leader = watched.leader,
        "the leader's quorum port refuses connections: its process is gone; electing a new leader"
    );
    // Addressed to the leader itself, a transfer request names no successor: it only resets this
    // member's lease on `vote` (and does nothing if the vote changed meanwhile).
    let forget = TransferLeaderRequest::new(watched.vote, watched.leader, None);
    let refused = match raft.handle_transfer_leader(forget).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(fatal) => Some(fatal.to_string()),
    };
    if let Some(error) = refused {
        tracing::warn!(%error, "could not give up the lease on the gone leader");
        return;
    }
    let Some(rank) = watched.rank else {
        return;
    };
    // Voter `rank` campaigns at `rank` staggers, then once per round of all of them.
    tokio::time::sleep(timing.stagger * rank).await;
    for _ in 0..CAMPAIGNS {
        if let Err(fatal) = raft.trigger().elect(true).await {
            tracing::warn!(error = %fatal, "could not start an election");
            return;
        }
        tokio::time::sleep(timing.stagger * watched.others).await;
    }
}

/// Resolves once this member's vote is no longer `vote` (a new term, a new leader), or Raft
/// stopped.
async fn vote_changes_from(raft: &Raft, vote: &Vote) {
    let mut metrics = raft.server_metrics();
    while metrics.borrow_and_update().vote == *vote {
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(kind: ErrorKind) -> CallError {
        CallError::Unreachable {
            target: 2,
            source: std::io::Error::new(kind, "TLS handshake with 10.0.0.2:2888 failed"),
        }
    }

    #[test]
    fn a_refusal_means_gone_and_a_reset_while_opening_is_retried_at_once() {
        assert_eq!(
            not_opened(&failed(ErrorKind::ConnectionRefused)),
            Ended::Refused
        );
        // Accepted by a dying process's listener, then reset during the TLS handshake: the
        // refusal is milliseconds away, not half a second.
        for kind in [
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionAborted,
            ErrorKind::UnexpectedEof,
        ] {
            assert_eq!(not_opened(&failed(kind)), Ended::Closed(Duration::ZERO));
        }
        let reset_after_connect = CallError::Network {
            target: 2,
            source: ErrorKind::ConnectionReset.into(),
        };
        assert_eq!(
            not_opened(&reset_after_connect),
            Ended::Closed(Duration::ZERO)
        );
        // A partition looks like a timeout: never a reason to campaign or to hurry.
        assert_eq!(not_opened(&failed(ErrorKind::TimedOut)), Ended::Unreachable);
        assert_eq!(
            not_opened(&failed(ErrorKind::InvalidData)),
            Ended::Unreachable
        );
    }
}
