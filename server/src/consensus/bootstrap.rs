//! The first start of a member (an empty log): join the ensemble it belongs to, or found one.
//!
//! A member starting with an empty log first asks the other members of its config whether they
//! already form an ensemble. If one does, the member asks its leader to add it as a non-voting
//! member (a learner) — this is how a joiner, started with the committed config plus itself,
//! connects and syncs before `reconfig -add` makes it vote — or finds it is listed already and
//! waits for the leader to replicate to it. If every other voter of its config answers that it has
//! an empty log too, a voter initializes a new ensemble with the voters of its config (all voters
//! of a new ensemble do the same with the same config); a non-voter keeps asking until an ensemble
//! exists.
//!
//! A voter that could not reach every other voter keeps asking, and founds the ensemble without
//! hearing from them all only after a grace period (`initLimit` ticks): a voter it cannot reach yet
//! may hold data — the member an import seeded, started a moment later — and an ensemble founded
//! by the empty ones would elect a leader without it and never take its data.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use openraft::rt::watch::WatchReceiver;
use openraft::{ChangeMembers, ServerState};
use serde::{Deserialize, Serialize};

use super::Member;
use super::membership::is_observer_spec;
use super::network::client::PeerClient;
use super::network::transport::Transport;
use super::network::wire::{PeerRequest, PeerResponse};
use super::typ::{PeerNode, Raft};

/// How long one join request may take.
const JOIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a member that is not part of an ensemble yet asks again.
const JOIN_RETRY: Duration = Duration::from_millis(200);

/// A member's answer to a join request.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum JoinAnswer {
    /// The asked member has an empty log too: no ensemble there yet.
    Uninitialized,
    /// The joiner is in the asked member's config already.
    Member,
    /// The asked member leads and added the joiner as a learner.
    AddedAsLearner,
    /// The asked member is in an ensemble but does not lead; the leader it knows of.
    NotLeader(Option<u64>),
}

/// What one round of join requests found out.
enum Round {
    /// This member is (or now will be) replicated to by a leader.
    Joined,
    /// An ensemble exists but did not take the member in yet.
    Pending,
    /// No member of the config that answered is part of an ensemble; `all_voters` when every other
    /// voter of the config answered.
    NoEnsemble { all_voters: bool },
}

impl Round {
    /// Whether a member (`voter` or not) that found this may found a new ensemble, its grace period
    /// ending at `grace_ends`.
    fn may_found(&self, voter: bool, grace_ends: Instant) -> bool {
        match self {
            Round::NoEnsemble { all_voters } => {
                voter && (*all_voters || Instant::now() >= grace_ends)
            }
            Round::Joined | Round::Pending => false,
        }
    }
}

/// Answers a join request from member `id` with server spec `spec`; `configured` when this
/// member's own start-up config lists it as an observer.
pub(crate) async fn answer_join(
    raft: &Raft,
    id: u64,
    spec: String,
    configured: bool,
) -> JoinAnswer {
    let (membership, state, leader) = {
        let metrics = raft.metrics();
        let now = metrics.borrow_watched();
        (now.membership_config.clone(), now.state, now.current_leader)
    };
    if membership.membership().nodes().next().is_none() {
        return JoinAnswer::Uninitialized;
    }
    // A removed member stays listed as a departed learner. A new member under its id (this is a
    // first start: an empty log) joins as any new member does; left departed, it would be neither
    // listed nor counted towards the quorum of the reconfig that adds it, however caught up.
    let departed = match membership.membership().get_node(&id) {
        Some(node) if !node.departed => return JoinAnswer::Member,
        Some(_) => true,
        None => false,
    };
    if state != ServerState::Leader {
        return JoinAnswer::NotLeader(leader);
    }
    tracing::info!(id, %spec, departed, "a new member joins as a learner");
    // An observer the leader's own config does not list is replicated to but not listed until a
    // reconfig adds it, as in Apache: it joins as a departed learner, which `/zookeeper/config`
    // leaves out. (A joining participant is left out by its role; it must not be departed, or the
    // reconfig adding it would not count it.)
    let node = PeerNode {
        departed: !configured && is_observer_spec(&spec),
        ..PeerNode::new(&spec)
    };
    let added = if departed {
        // Adding a learner keeps a node that is listed already as it is: replace it.
        raft.change_membership(ChangeMembers::SetNodes(BTreeMap::from([(id, node)])), true)
            .await
    } else {
        raft.add_learner(id, node, false).await
    };
    match added {
        Ok(_) => JoinAnswer::AddedAsLearner,
        Err(e) => {
            tracing::warn!(id, error = %e, "adding a joining member failed");
            JoinAnswer::NotLeader(raft.metrics().borrow_watched().current_leader)
        }
    }
}

/// Joins or founds the ensemble on a first start; returns once this member either is part of an
/// ensemble or keeps asking in the background (the returned task). A voter founds the ensemble once
/// every other voter answered that it has none, or after `found_after` without hearing from them
/// all.
pub(crate) async fn first_start(
    raft: &Raft,
    me: &Member,
    members: &[Member],
    transport: &Transport,
    found_after: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    let start = FirstStart {
        raft: raft.clone(),
        me: me.clone(),
        peers: members.iter().filter(|m| m.id != me.id).cloned().collect(),
        members: members.to_vec(),
        transport: transport.clone(),
        grace_ends: Instant::now() + found_after,
    };
    if start.settle().await {
        return None;
    }
    if me.voter {
        tracing::info!(
            my_id = me.id,
            grace = ?found_after,
            "not every voter answered: waiting for them before founding an ensemble"
        );
    }
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(JOIN_RETRY).await;
            if start.settle().await {
                return;
            }
        }
    }))
}

/// A first start in progress.
struct FirstStart {
    raft: Raft,
    me: Member,
    /// The other members of the config, asked each round.
    peers: Vec<Member>,
    members: Vec<Member>,
    transport: Transport,
    /// Until when a voter waits for every other voter before founding an ensemble without them.
    grace_ends: Instant,
}

impl FirstStart {
    /// Asks the peers once; joins the ensemble they form, or founds one if this member may.
    /// Whether it is settled (joined, or founded).
    async fn settle(&self) -> bool {
        let round = ask_round(&self.me, &self.peers, &self.transport).await;
        if let Round::Joined = round {
            tracing::info!(my_id = self.me.id, "joined the ensemble");
            return true;
        }
        if round.may_found(self.me.voter, self.grace_ends) {
            found(&self.raft, &self.me, &self.members).await;
            return true;
        }
        false
    }
}

/// Initializes a new ensemble of the voters of `members`.
async fn found(raft: &Raft, me: &Member, members: &[Member]) {
    let voters: BTreeMap<u64, PeerNode> = members
        .iter()
        .filter(|m| m.voter)
        .map(|m| (m.id, PeerNode::new(&m.spec)))
        .collect();
    tracing::info!(my_id = me.id, voters = ?voters.keys().collect::<Vec<_>>(), "founding a new ensemble");
    if let Err(e) = raft.initialize(voters).await {
        // Another voter may have been faster with the same config; its log wins.
        tracing::warn!(error = %e, "initializing the ensemble was refused");
    }
}

/// Asks every peer once (following a redirect to the leader).
async fn ask_round(me: &Member, peers: &[Member], transport: &Transport) -> Round {
    let mut found_ensemble = false;
    let mut empty_voters = BTreeSet::new();
    let mut queue: Vec<&Member> = peers.iter().rev().collect();
    let mut asked = 0;
    while let Some(peer) = queue.pop() {
        asked += 1;
        if asked > peers.len() * 2 {
            break;
        }
        let mut client = PeerClient::new(peer.id, &peer.spec, transport);
        let request = PeerRequest::Join {
            id: me.id,
            spec: me.spec.clone(),
        };
        match client.call(&request, JOIN_TIMEOUT).await {
            Ok(PeerResponse::Joined(JoinAnswer::Member | JoinAnswer::AddedAsLearner)) => {
                return Round::Joined;
            }
            Ok(PeerResponse::Joined(JoinAnswer::NotLeader(leader))) => {
                found_ensemble = true;
                if let Some(leader) = leader.and_then(|l| peers.iter().find(|p| p.id == l)) {
                    queue.push(leader);
                }
            }
            Ok(PeerResponse::Joined(JoinAnswer::Uninitialized)) => {
                if peer.voter {
                    empty_voters.insert(peer.id);
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(peer = peer.id, error = %e, "peer not reachable while joining")
            }
        }
    }
    if found_ensemble {
        Round::Pending
    } else {
        let all_voters = peers
            .iter()
            .all(|p| !p.voter || empty_voters.contains(&p.id));
        Round::NoEnsemble { all_voters }
    }
}
