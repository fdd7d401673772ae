//! The listener on the quorum port: answers Raft RPCs (append-entries one at a time, or on a
//! stream of their own), forwarded writes (likewise), read-index requests and reports of session
//! activity, and holds the leader watches of other members open. Where a join request came from
//! is noted: the joiner is dialed there while its host does not resolve (`observed`).

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use openraft::raft::{AppendEntriesResponse, VoteRequest};
use openraft::rt::watch::WatchReceiver;
use openraft::{ReadPolicy, ServerState};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::transport::{PeerStream, Transport};
use super::wire::{PeerRequest, PeerResponse, read_frame, write_frame};
use super::{append_stream, write_stream};
use crate::consensus::bootstrap::answer_join;
use crate::consensus::membership::{change_on_leader, refused_for_leader};
use crate::consensus::sync_phase::LeaderContact;
use crate::consensus::transfer::Handover;
use crate::consensus::typ::{Command, Raft, Snapshot, TypeConfig};

/// What a peer connection needs besides Raft.
#[derive(Clone)]
pub(crate) struct PeerContext {
    /// Bounds how long a new member may take to catch up in a forwarded membership change.
    pub catch_up: Duration,
    /// Where reports of session activity go while this member leads.
    pub session_activity: mpsc::Sender<Vec<i64>>,
    /// Updated on every append-entries and snapshot of an accepted leader.
    pub leader_contact: Arc<LeaderContact>,
    /// Noted when a leader announces that it hands leadership over.
    pub handover: Arc<Handover>,
    /// Ids this member's start-up config lists as observers: such an observer is listed as soon as it
    /// joins, any other joining observer only once a reconfig adds it.
    pub configured_observers: Arc<BTreeSet<u64>>,
    /// How connections are accepted (plain or TLS).
    pub transport: Transport,
}

/// Accepts peer connections until the task is aborted (which also ends every connection).
pub(crate) async fn serve(listener: TcpListener, raft: Raft, peers: PeerContext) {
    let transport = peers.transport.clone();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let raft = raft.clone();
                    let peers = peers.clone();
                    let transport = transport.clone();
                    connections.spawn(async move {
                        let Some(stream) = transport.accept(tcp, peer).await else {
                            return;
                        };
                        if let Err(e) = serve_connection(stream, peer, raft, peers).await {
                            tracing::debug!(%peer, error = %e, "peer connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a peer connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(
    mut stream: PeerStream,
    remote: SocketAddr,
    raft: Raft,
    peers: PeerContext,
) -> io::Result<()> {
    while let Some(request) = read_frame::<_, PeerRequest>(&mut stream).await? {
        match request {
            PeerRequest::WriteStream => return write_stream::serve(stream, raft).await,
            PeerRequest::Watch => return hold_watch(stream).await,
            PeerRequest::AppendStream => {
                return append_stream::serve(stream, raft, peers.leader_contact).await;
            }
            _ => {}
        }
        if let PeerRequest::Join { id, .. } = &request {
            peers.transport.note_join(*id, remote.ip());
        }
        let response = answer(&raft, request, &peers).await;
        write_frame(&mut stream, &response).await?;
    }
    Ok(())
}

/// Holds a leader watch open until its sender closes it (or this process ends, which is the
/// point: see `leader_watch`). Whatever arrives on it is ignored.
async fn hold_watch(mut stream: PeerStream) -> io::Result<()> {
    while read_frame::<_, PeerRequest>(&mut stream).await?.is_some() {}
    Ok(())
}

/// Whether the candidate of a vote request may campaign: a member removed from the config (or
/// never added) must not disrupt the ensemble, even when it missed the entry that removed it.
fn may_campaign(raft: &Raft, rpc: &VoteRequest<TypeConfig>) -> bool {
    let metrics = raft.metrics();
    let membership = &metrics.borrow_watched().membership_config;
    let candidate = rpc.vote.leader_id.node_id;
    membership.membership().nodes().next().is_none()
        || membership.voter_ids().any(|id| id == candidate)
}

async fn answer(raft: &Raft, request: PeerRequest, peers: &PeerContext) -> PeerResponse {
    let failed = |e: &dyn std::fmt::Display| PeerResponse::Failed(e.to_string());
    match request {
        PeerRequest::AppendEntries(rpc) => {
            let term = rpc.vote.leader_id.term;
            peers.leader_contact.request_arrived(term);
            let committed = rpc.leader_commit.map_or(0, |c| c.index + 1);
            match raft.append_entries(rpc).await {
                Ok(response) => {
                    if !matches!(response, AppendEntriesResponse::HigherVote(_)) {
                        peers.leader_contact.append_accepted(term, committed);
                    }
                    PeerResponse::AppendEntries(response)
                }
                Err(e) => failed(&e),
            }
        }
        PeerRequest::Vote(rpc) | PeerRequest::PreVote(rpc) if !may_campaign(raft, &rpc) => {
            PeerResponse::Failed(format!(
                "member {} is not a voter here",
                rpc.vote.leader_id.node_id
            ))
        }
        PeerRequest::Vote(rpc) => raft
            .vote(rpc)
            .await
            .map_or_else(|e| failed(&e), PeerResponse::Vote),
        PeerRequest::PreVote(rpc) => raft
            .pre_vote(rpc)
            .await
            .map_or_else(|e| failed(&e), PeerResponse::Vote),
        PeerRequest::Snapshot { vote, meta, data } => {
            let leader = vote;
            peers.leader_contact.request_arrived(leader.leader_id.term);
            let snapshot = Snapshot {
                meta,
                snapshot: data,
            };
            match raft.install_full_snapshot(vote, snapshot).await {
                Ok(response) => {
                    if response.vote == leader {
                        peers
                            .leader_contact
                            .snapshot_installed(leader.leader_id.term);
                    }
                    PeerResponse::Snapshot(response)
                }
                Err(e) => failed(&e),
            }
        }
        PeerRequest::TransferLeader(req) => {
            let from = &req.from_leader().leader_id;
            peers.handover.note(from.node_id, from.term);
            raft.handle_transfer_leader(req)
                .await
                .map_or_else(|e| failed(&e), PeerResponse::TransferLeader)
        }
        PeerRequest::Propose(command) => match raft.client_write(Command(command)).await {
            Ok(written) => PeerResponse::Proposed {
                index: written.log_id.index,
                reply: written.data,
            },
            // Only a write refused before it was appended may be sent again elsewhere.
            Err(e) => match refused_for_leader(&e) {
                Some(leader) => PeerResponse::NotLeader { leader },
                None => failed(&e),
            },
        },
        PeerRequest::WriteStream | PeerRequest::Writes(_) => {
            failed(&"writes belong on a stream of their own")
        }
        PeerRequest::Watch => failed(&"a watch is a connection of its own"),
        PeerRequest::AppendStream => failed(&"an append stream is a connection of its own"),
        PeerRequest::ReadIndex => match raft.ensure_linearizable(ReadPolicy::ReadIndex).await {
            Ok(read) => PeerResponse::ReadIndex {
                index: read.index(),
            },
            Err(e) => match e.forward_to_leader() {
                Some(forward) => PeerResponse::NotLeader {
                    leader: forward.leader_id,
                },
                None => failed(&e),
            },
        },
        PeerRequest::SessionsActive(sessions) => {
            let metrics = raft.metrics().borrow_watched().clone();
            if metrics.state != ServerState::Leader {
                return PeerResponse::NotLeader {
                    leader: metrics.current_leader,
                };
            }
            // A full queue means the expiry task is far behind: a session that stays active is
            // touched, and reported, again.
            if peers.session_activity.try_send(sessions).is_err() {
                tracing::debug!("session activity queue full; report dropped");
            }
            PeerResponse::SessionsNoted
        }
        PeerRequest::HandingOver { leader, term } => {
            peers.handover.note(leader, term);
            PeerResponse::HandoverNoted
        }
        PeerRequest::Join { id, spec } => {
            let configured = peers.configured_observers.contains(&id);
            PeerResponse::Joined(answer_join(raft, id, spec, configured).await)
        }
        PeerRequest::ChangeMembership {
            members,
            expected_version,
        } => PeerResponse::MembershipChanged(
            change_on_leader(
                raft,
                &peers.handover,
                &members,
                expected_version,
                peers.catch_up,
                &peers.transport,
            )
            .await,
        ),
    }
}
