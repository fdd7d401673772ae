//! The [`Consensus`] handle: start-up (open the log and snapshots, bootstrap a new ensemble,
//! listen on the quorum port), proposing, `sync`, and the member's role.
//!
//! A write proposed on a member that does not lead is forwarded to the leader over the peer
//! protocol; the caller gets the leader's apply output once this member has applied the entry
//! too, so a client never sees its own write missing from the member it talks to.
//!
//! Session expiry is the leader's decision: the other members report the sessions their clients
//! kept active ([`Consensus::report_session_activity`]), and the leader receives those reports
//! from [`Consensus::session_activity`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::rt::watch::WatchReceiver;
use openraft::{Config, Instant as _, ReadPolicy, ServerState, SnapshotPolicy};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::bootstrap::first_start;
use super::disk_space::DiskSpace;
use super::events::log_ensemble_events;
use super::leader_watch::{WatchTiming, watch_leaders};
use super::log_store::{DEFAULT_SEGMENT_BYTES, LogStore, WriterClosed, WriterStats};
use super::membership::{
    ChangeRefusal, change_on_leader, complete_interrupted_changes, forget_departed,
    is_observer_spec, refused_for_leader, synced_ids,
};
use super::network::client::{CallError, PeerClient, PeerNetwork};
use super::network::server::PeerContext;
use super::network::transport::Transport;
use super::network::wire::{PeerRequest, PeerResponse};
use super::network::write_stream::Forwarder;
use super::network::{listen_addr, server};
use super::snapshot_store::SnapshotStore;
use super::state_machine::{StateMachineAdapter, members_of, zxid_of};
use super::sync_phase::{LeaderContact, Phase};
use super::transfer::{Handover, transfer_leadership};
use super::typ::{CallbackResponder, Command, Raft, RaftMetrics};
use super::{
    ConsensusError, ConsensusOptions, FollowerProgress, Member, OnFailure, Role, Route,
    StateMachine, TransferError,
};
use crate::summary::QuantileFigures;

/// A running member of the replicated log. See the module documentation of `consensus`.
pub struct Consensus {
    my_id: u64,
    /// Whether this member's own spec says `observer` (a learner then reports `observer`).
    observer_spec: bool,
    raft: Raft,
    sm: StateMachineAdapter,
    /// The log writer's batch sizes and fsync times.
    writer_stats: Arc<WriterStats>,
    /// Resolves once the log's writer thread has ended, after Raft stopped.
    log_closed: WriterClosed,
    /// Whether the data or log volume is full (its writes waiting for space).
    disk_space: Arc<DiskSpace>,
    /// How long `propose` and `sync` wait for a leader, and for a forwarded request.
    request_timeout: Duration,
    /// A member that acknowledged the leader within this window counts as connected.
    ack_window: Duration,
    /// When this member last heard from its leader, and how far it has caught up with it.
    leader_contact: Arc<LeaderContact>,
    /// A leader handing leadership over, which requests wait out.
    handover: Arc<Handover>,
    /// `syncLimit` ticks: how long a new member may take to catch up before a membership change
    /// gives up, and how long a follower without word from its leader, or a leader without a
    /// quorum's acknowledgement, stays in its role before it is cut off and reports `looking`.
    catch_up: Duration,
    /// Idle connections to peers, reused by forwarded requests.
    idle_peers: Mutex<HashMap<u64, Vec<PeerClient>>>,
    /// Streams of pipelined writes to the leader.
    forwarder: Forwarder,
    /// How connections to peers are opened (plain or TLS).
    transport: Transport,
    /// The peer listener and, until this member has joined, the join requests.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Reports of session activity from other members, until the server takes them.
    session_activity: Mutex<Option<mpsc::Receiver<Vec<i64>>>>,
}

/// How many reports of session activity may wait for the leader's expiry task.
const SESSION_ACTIVITY_QUEUE: usize = 256;

impl Consensus {
    /// Opens the log under `data_log_dir` and the snapshots under `data_dir`, restores the newest
    /// snapshot, starts Raft and listens on this member's quorum port. On the very first start
    /// (an empty log), the member joins the ensemble of its config, or founds it with the voters
    /// of `members` when none exists yet (see `bootstrap`).
    pub async fn start(
        opts: ConsensusOptions,
        sm: Arc<dyn StateMachine>,
    ) -> Result<Consensus, ConsensusError> {
        let me = opts
            .members
            .iter()
            .find(|m| m.id == opts.my_id)
            .ok_or_else(|| {
                ConsensusError::Config(format!("member {} is not in the member list", opts.my_id))
            })?
            .clone();
        let storage = |e: std::io::Error| ConsensusError::Storage(e.to_string());
        std::fs::create_dir_all(&opts.data_dir).map_err(storage)?;
        std::fs::create_dir_all(&opts.data_log_dir).map_err(storage)?;
        let log = LogStore::open(&opts.data_log_dir, DEFAULT_SEGMENT_BYTES, opts.force_sync)
            .map_err(storage)?;
        let disk_space = log.disk_space();
        let snapshots = SnapshotStore::open(&opts.data_dir, opts.snap_retain_count)
            .map_err(storage)?
            .sharing_space(disk_space.clone());
        let adapter = StateMachineAdapter::open(sm, snapshots).map_err(storage)?;

        let listener = match listen_addr(&me.spec, opts.listen_on_all_ips) {
            Some(addr) => match TcpListener::bind(&addr).await {
                Ok(listener) => Some(listener),
                // Alone, the member still serves clients; it only cannot be joined.
                Err(e) if opts.members.len() == 1 => {
                    tracing::warn!(%addr, error = %e, "quorum port unavailable: no member can join");
                    None
                }
                Err(e) => {
                    let reason = format!("cannot listen on quorum address {addr}: {e}");
                    return Err(ConsensusError::Config(reason));
                }
            },
            None => None,
        };

        let transport = Transport::new(opts.quorum_tls.clone(), opts.quorum_sasl.clone());
        let writer_stats = log.writer_stats();
        let log_closed = log.writer_closed();
        let config = raft_config(&opts)?;
        let ack_window = Duration::from_millis(config.election_timeout_max);
        let watch_timing = watch_timing(&config);
        let raft = Raft::new(
            opts.my_id,
            Arc::new(config),
            PeerNetwork(transport.clone()),
            log,
            adapter.clone(),
        )
        .await
        .map_err(|e| ConsensusError::Raft(e.to_string()))?;

        adapter.count_commits(opts.my_id, raft.metrics().borrow_watched().current_term);
        let fresh = !raft
            .is_initialized()
            .await
            .map_err(|e| ConsensusError::Raft(e.to_string()))?;
        let (activity_tx, activity_rx) = mpsc::channel(SESSION_ACTIVITY_QUEUE);
        let leader_contact = Arc::new(LeaderContact::now(catch_up_time(&opts)));
        let handover = Arc::new(Handover::new(Duration::from_millis(
            2 * raft.config().election_timeout_max,
        )));
        let peers = PeerContext {
            catch_up: catch_up_time(&opts),
            session_activity: activity_tx,
            leader_contact: leader_contact.clone(),
            handover: handover.clone(),
            configured_observers: Arc::new(
                opts.members
                    .iter()
                    .filter(|m| is_observer_spec(&m.spec))
                    .map(|m| m.id)
                    .collect(),
            ),
            transport: transport.clone(),
        };
        let listener = listener.map(|l| tokio::spawn(server::serve(l, raft.clone(), peers)));
        let joining = match fresh {
            true => {
                let found_after = request_timeout(&opts);
                first_start(&raft, &me, &opts.members, &transport, found_after).await
            }
            false => None,
        };
        let completer = tokio::spawn(complete_interrupted_changes(raft.clone()));
        let forgetter = tokio::spawn(forget_departed(raft.clone(), request_timeout(&opts)));
        let watcher = tokio::spawn(watch_leaders(
            raft.clone(),
            opts.my_id,
            watch_timing,
            transport.clone(),
        ));
        let narrator = tokio::spawn(log_ensemble_events(raft.clone(), opts.my_id));
        let consensus = Consensus {
            my_id: opts.my_id,
            observer_spec: is_observer_spec(&me.spec),
            raft,
            sm: adapter,
            writer_stats,
            log_closed,
            disk_space,
            request_timeout: request_timeout(&opts),
            ack_window,
            leader_contact,
            handover,
            catch_up: catch_up_time(&opts),
            idle_peers: Mutex::new(HashMap::new()),
            forwarder: Forwarder::new(request_timeout(&opts), transport.clone()),
            transport,
            tasks: Mutex::new(
                listener
                    .into_iter()
                    .chain(joining)
                    .chain([completer, forgetter, watcher, narrator])
                    .collect(),
            ),
            session_activity: Mutex::new(Some(activity_rx)),
        };
        if !fresh
            && let Err(e) = consensus
                .raft
                .wait_for_recovery(Some(consensus.request_timeout))
                .await
        {
            tracing::warn!(error = %e, "the committed state before the restart is not re-applied yet");
        }
        Ok(consensus)
    }

    /// Resolves with `apply`'s output once the command is durable on a quorum and applied locally.
    pub async fn propose(&self, command: Vec<u8>) -> Result<Vec<u8>, ConsensusError> {
        let deadline = Instant::now() + self.request_timeout;
        loop {
            let leader = self.wait_for_leader(deadline).await?;
            if leader == self.my_id {
                match self.raft.client_write(Command(command.clone())).await {
                    Ok(written) => return Ok(written.data),
                    // Refused before it was appended: safe to send again to the new leader.
                    Err(e) if refused_for_leader(&e).is_some() => self.pause(deadline).await?,
                    Err(e) => return Err(ConsensusError::Raft(e.to_string())),
                }
                continue;
            }
            match self
                .forward(leader, PeerRequest::Propose(command.clone()))
                .await
            {
                Ok(PeerResponse::Proposed { index, reply }) => {
                    self.wait_applied(index, deadline).await?;
                    return Ok(reply);
                }
                Ok(PeerResponse::NotLeader { .. }) | Err(CallError::Unreachable { .. }) => {
                    self.pause(deadline).await?
                }
                Ok(PeerResponse::Failed(reason)) => return Err(ConsensusError::Raft(reason)),
                Ok(_) => {
                    return Err(ConsensusError::Raft(
                        "unexpected answer to a forwarded write".into(),
                    ));
                }
                // The write may or may not have reached the leader: it must not be sent twice.
                Err(e @ CallError::Network { .. }) => {
                    return Err(ConsensusError::LeaderUnreachable {
                        leader_id: leader,
                        reason: e.to_string(),
                    });
                }
            }
        }
    }

    /// The route pipelined writes take now, waiting for a leader if none is known (up to the
    /// request timeout).
    pub async fn route(&self) -> Result<Route, ConsensusError> {
        let leader = self
            .wait_for_leader(Instant::now() + self.request_timeout)
            .await?;
        if leader == self.my_id {
            return Ok(Route { leader, stream: 0 });
        }
        let stream = self.forwarder.stream_to(&self.raft, leader);
        Ok(Route { leader, stream })
    }

    /// Submits a write on `route` without waiting for it: writes submitted one after the other
    /// on one route enter the log in that order. Success is not reported here (the state machine
    /// sees the entry applied); `on_failure` is called if the write was refused or its outcome
    /// became unknown (the route broke, its leader was replaced).
    pub async fn submit(
        &self,
        route: Route,
        command: Vec<u8>,
        on_failure: OnFailure,
    ) -> Result<(), ConsensusError> {
        if route.stream != 0 {
            self.forwarder
                .send(route.leader, route.stream, command, on_failure);
            return Ok(());
        }
        let responder = CallbackResponder::new(move |result: Result<_, _>| {
            if let Err(e) = result {
                on_failure(format!("{e}"));
            }
        });
        self.raft
            .client_write_ff(Command(command), Some(responder))
            .await
            .map_err(|e| ConsensusError::Raft(e.to_string()))
    }

    /// Waits until this member has applied everything the leader had committed when called
    /// (for `sync`).
    pub async fn sync(&self) -> Result<(), ConsensusError> {
        let deadline = Instant::now() + self.request_timeout;
        loop {
            let leader = self.wait_for_leader(deadline).await?;
            let index = if leader == self.my_id {
                match self.raft.ensure_linearizable(ReadPolicy::ReadIndex).await {
                    Ok(read) => read.index(),
                    Err(e) if e.forward_to_leader().is_some() => {
                        self.pause(deadline).await?;
                        continue;
                    }
                    Err(e) => return Err(ConsensusError::Raft(e.to_string())),
                }
            } else {
                match self.forward(leader, PeerRequest::ReadIndex).await {
                    Ok(PeerResponse::ReadIndex { index }) => index,
                    // Asking again is harmless: a read index changes nothing.
                    Ok(PeerResponse::NotLeader { .. }) | Err(_) => {
                        self.pause(deadline).await?;
                        continue;
                    }
                    Ok(PeerResponse::Failed(reason)) => return Err(ConsensusError::Raft(reason)),
                    Ok(_) => {
                        return Err(ConsensusError::Raft(
                            "unexpected answer to a read index request".into(),
                        ));
                    }
                }
            };
            return self.wait_applied(index, deadline).await;
        }
    }

    /// Tells the leader that the clients of `sessions`, connected to this member, were active, so
    /// that it pushes their expiry back. Does nothing on the leader itself. Best effort: a report
    /// lost in a leader change is followed by the next one, and a new leader gives every session
    /// a full timeout anyway.
    pub async fn report_session_activity(&self, sessions: Vec<i64>) -> Result<(), ConsensusError> {
        let Some(leader) = self.leader_id().filter(|&l| l != self.my_id) else {
            return Ok(());
        };
        match self
            .forward(leader, PeerRequest::SessionsActive(sessions))
            .await
        {
            Ok(PeerResponse::SessionsNoted) => Ok(()),
            Ok(PeerResponse::NotLeader { leader }) => Err(ConsensusError::Raft(format!(
                "session activity sent to a member that does not lead (leader: {leader:?})"
            ))),
            Ok(PeerResponse::Failed(reason)) => Err(ConsensusError::Raft(reason)),
            Ok(_) => Err(ConsensusError::Raft(
                "unexpected answer to a session activity report".into(),
            )),
            Err(e) => Err(ConsensusError::LeaderUnreachable {
                leader_id: leader,
                reason: e.to_string(),
            }),
        }
    }

    /// The reports of session activity other members send while this member leads (see
    /// [`Consensus::report_session_activity`]); `None` after the first call.
    pub fn session_activity(&self) -> Option<mpsc::Receiver<Vec<i64>>> {
        self.session_activity
            .lock()
            .expect("session activity lock")
            .take()
    }

    /// Replaces the membership with `members` (the whole new member list: voters, non-voting
    /// members, their specs) and returns the new config version (the zxid of the membership
    /// entry that commits it). With `expected_version`, the change happens only if that is still
    /// the current version (reconfig's `-v`), else [`ConsensusError::BadVersion`]. Members not in
    /// the current config must connect and catch up within `syncLimit` ticks, else
    /// [`ConsensusError::NewConfigNoQuorum`] and nothing changes. Forwarded to the leader when
    /// called elsewhere.
    pub async fn change_membership(
        &self,
        members: Vec<Member>,
        expected_version: Option<i64>,
    ) -> Result<i64, ConsensusError> {
        let deadline = Instant::now() + self.request_timeout + self.catch_up;
        loop {
            let leader = self.wait_for_leader(deadline).await?;
            let outcome = if leader == self.my_id {
                change_on_leader(
                    &self.raft,
                    &self.handover,
                    &members,
                    expected_version,
                    self.catch_up,
                    &self.transport,
                )
                .await
            } else {
                let request = PeerRequest::ChangeMembership {
                    members: members.clone(),
                    expected_version,
                };
                match self.forward(leader, request).await {
                    Ok(PeerResponse::MembershipChanged(outcome)) => outcome,
                    Ok(PeerResponse::NotLeader { leader }) => Err(ChangeRefusal::NotLeader(leader)),
                    Ok(PeerResponse::Failed(reason)) => Err(ChangeRefusal::Failed(reason)),
                    Ok(_) => Err(ChangeRefusal::Failed(
                        "unexpected answer to a membership change".into(),
                    )),
                    Err(CallError::Unreachable { .. }) => Err(ChangeRefusal::NotLeader(None)),
                    Err(e @ CallError::Network { .. }) => {
                        return Err(ConsensusError::LeaderUnreachable {
                            leader_id: leader,
                            reason: e.to_string(),
                        });
                    }
                }
            };
            match outcome {
                Ok(version) => {
                    self.wait_applied_zxid(version, deadline).await?;
                    return Ok(version);
                }
                Err(ChangeRefusal::NotLeader(_)) => self.pause(deadline).await?,
                Err(refusal) => return Err(refusal.into()),
            }
        }
    }

    /// Hands leadership over to member `to` (or, without it, to the synced voter with the most
    /// entries) and returns the member that leads afterwards (see `transfer`). Only the leader
    /// does this; `to` must be a voter that is connected and caught up. Waits up to the request
    /// timeout (`initLimit` ticks) for another member to take over.
    pub async fn transfer_leadership(&self, to: Option<u64>) -> Result<u64, TransferError> {
        transfer_leadership(
            &self.raft,
            &self.handover,
            to,
            self.ack_window,
            self.request_timeout,
            &self.transport,
        )
        .await
    }

    /// This member's role, in Apache's words.
    pub fn role(&self) -> Role {
        let metrics = self.metrics();
        if self.cut_off(&metrics) {
            return Role::Looking;
        }
        match (metrics.state, metrics.current_leader) {
            (ServerState::Leader, _) => Role::Leader,
            (ServerState::Follower, Some(_)) => Role::Follower,
            (ServerState::Learner, Some(_)) if self.follows_as_observer(&metrics) => Role::Observer,
            // A joiner syncing before it is added reports `follower`, as Apache's does.
            (ServerState::Learner, Some(_)) => Role::Follower,
            _ => Role::Looking,
        }
    }

    /// How far this member has caught up with its leader (see `sync_phase`): a leader is in
    /// broadcast; a follower or observer in synchronization until it has applied the leader's
    /// commit index as of the start of its phase. Meaningless while the role is
    /// [`Role::Looking`].
    pub fn phase(&self) -> Phase {
        let metrics = self.metrics();
        match metrics.state {
            ServerState::Leader => Phase::Broadcast,
            _ => {
                let applied = metrics.last_applied.map_or(0, |l| l.index + 1);
                self.leader_contact.phase(applied)
            }
        }
    }

    /// Whether this member has been out of contact with a quorum for `syncLimit` ticks (see
    /// below): it then serves no read-write session. A leader change alone does not count.
    pub fn is_cut_off(&self) -> bool {
        self.cut_off(&self.metrics())
    }

    /// Whether this member is cut off from the ensemble while Raft still names a leader: a leader of
    /// several voters without a quorum's acknowledgement, or a follower without word from its leader
    /// (or, since it led, from its quorum), for `syncLimit` ticks. (Raft keeps such a leader until a
    /// new one is elected, and pre-vote keeps a cut-off follower from starting an election that
    /// would clear its leader.) A leader found in contact counts as a contact, so that one that
    /// hands over does not close its clients' connections before its successor's first
    /// append-entries reaches it.
    fn cut_off(&self, metrics: &RaftMetrics) -> bool {
        match metrics.state {
            ServerState::Leader => {
                let several_voters = metrics
                    .membership_config
                    .membership()
                    .voter_ids()
                    .nth(1)
                    .is_some();
                let cut_off = several_voters
                    && metrics
                        .last_quorum_acked
                        .as_ref()
                        .is_some_and(|at| at.elapsed() > self.catch_up);
                if !cut_off {
                    self.leader_contact.leading();
                }
                cut_off
            }
            ServerState::Follower | ServerState::Learner => {
                self.leader_contact.elapsed() > self.catch_up
            }
            _ => false,
        }
    }

    /// Whether this non-voting member is an observer: its spec in the membership says so (a
    /// reconfig may have changed its role), or, while it is not listed (a joiner, a removed
    /// member), its start-up spec does.
    fn follows_as_observer(&self, metrics: &RaftMetrics) -> bool {
        match metrics.membership_config.membership().get_node(&self.my_id) {
            Some(node) if !node.departed => is_observer_spec(&node.spec),
            _ => self.observer_spec,
        }
    }

    /// This member's id (`myid`).
    pub fn my_id(&self) -> u64 {
        self.my_id
    }

    /// The current Raft term: how many leader elections the ensemble has held.
    pub fn term(&self) -> u64 {
        self.metrics().current_term
    }

    /// The id of the member this one believes leads, if any.
    pub fn leader_id(&self) -> Option<u64> {
        self.metrics().current_leader
    }

    /// The zxid of the last entry applied here (0 before the first).
    pub fn last_applied_zxid(&self) -> i64 {
        self.sm.last_applied_zxid()
    }

    /// The membership this member knows of (the latest one in its log, committed or not), by id.
    pub fn members(&self) -> Vec<Member> {
        members_of(self.metrics().membership_config.membership())
    }

    /// The other members as this leader sees them (for `mntr`'s `zk_synced_*` and
    /// `zk_learners`); empty on a member that does not lead. A member is synced when it
    /// acknowledged the leader within an election timeout and has the leader's log up to its
    /// commit point at most 1000 entries behind.
    pub fn followers(&self) -> Vec<FollowerProgress> {
        let metrics = self.metrics();
        if metrics.replication.is_none() {
            return Vec::new();
        }
        let synced = synced_ids(&metrics, self.ack_window);
        members_of(metrics.membership_config.membership())
            .into_iter()
            .filter(|m| m.id != self.my_id)
            .map(|member| FollowerProgress {
                synced: synced.contains(&member.id),
                member,
            })
            .collect()
    }

    /// The version of the membership this member knows of: the zxid of its membership entry.
    pub fn config_version(&self) -> i64 {
        self.metrics()
            .membership_config
            .log_id()
            .as_ref()
            .map_or(0, zxid_of)
    }

    /// Whether this member's data or log volume is full: its log and snapshot writes wait for
    /// space, so clients' writes are refused here meanwhile.
    pub fn is_disk_full(&self) -> bool {
        self.disk_space.is_full()
    }

    /// Resolves, with the reason, once Raft has stopped on a fatal error (a write or fsync of the
    /// log, the vote or a snapshot that failed): the member can then acknowledge nothing more, and
    /// its process should end rather than serve a state that no longer moves. Never resolves
    /// while Raft runs, nor after a shutdown asked for.
    pub async fn failure(&self) -> String {
        // Raft's whole metrics change with every write; the server metrics only with the role,
        // and their channel closes when Raft's core stops: wait for that, then read why.
        let mut server = self.raft.server_metrics();
        while server.changed().await.is_ok() {}
        let recorded = self.raft.metrics().borrow_watched().running_state.clone();
        // A core that panicked records nothing in its metrics: asking it anything reports the panic.
        let fatal = match recorded.err() {
            Some(fatal) => Some(fatal),
            None => self.raft.is_initialized().await.err(),
        }
        .filter(|fatal| !matches!(fatal, openraft::error::Fatal::Stopped))
        .map(|fatal| fatal.to_string());
        match fatal {
            Some(reason) => reason,
            None => std::future::pending().await,
        }
    }

    /// Entries written per pass of the log writer, each pass ending with one fsync (Apache's
    /// `sync_processor_batch_size`).
    pub fn log_batch_sizes(&self) -> QuantileFigures {
        self.writer_stats.batch_sizes.figures()
    }

    /// Milliseconds each fsync of the log took (Apache's `fsynctime`; none with `forceSync=no`).
    pub fn fsync_times_ms(&self) -> QuantileFigures {
        self.writer_stats.fsync_ms.figures()
    }

    /// Entries this member proposed as leader that were committed since it started, blank
    /// entries of new leaders aside (Apache's `commit_count`, which its leader counts).
    pub fn commit_count(&self) -> u64 {
        self.sm.commit_count()
    }

    /// Back to no batch, no fsync and no commit counted (`srst`, which resets Apache's
    /// `ServerMetrics`).
    pub fn reset_write_path_figures(&self) {
        self.writer_stats.batch_sizes.reset();
        self.writer_stats.fsync_ms.reset();
        self.sm.reset_commit_count();
    }

    /// The members removed from the config that the leader still replicates to (departed learners).
    #[cfg(test)]
    pub(crate) fn departed_members(&self) -> Vec<u64> {
        self.metrics()
            .membership_config
            .membership()
            .nodes()
            .filter(|(_, node)| node.departed)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Stops listening to peers and stops Raft. Proposals after this fail with `Shutdown`. The
    /// quorum port is free and the log closed once this returns (the tasks and the log writer
    /// are awaited, not only told to stop), so that the member can be started again on the same
    /// port and directories at once.
    pub async fn shutdown(&self) {
        let tasks: Vec<_> = self.tasks.lock().expect("tasks lock").drain(..).collect();
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // An aborted task ends with a cancellation error; one that had ended has nothing to say.
            let _ = task.await;
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft did not stop cleanly");
        }
        let closed = self.log_closed.clone().wait();
        if tokio::time::timeout(self.request_timeout, closed)
            .await
            .is_err()
        {
            tracing::warn!(timeout = ?self.request_timeout, "the raft log is still being written after the shutdown");
        }
    }

    /// Whether the log's writer thread has ended.
    #[cfg(test)]
    pub(crate) fn log_is_closed(&self) -> bool {
        self.log_closed.is_closed()
    }

    /// The Raft handle, for tests that drive Raft into states the API never produces.
    #[cfg(test)]
    pub(crate) fn raft(&self) -> &Raft {
        &self.raft
    }

    fn metrics(&self) -> RaftMetrics {
        self.raft.metrics().borrow_watched().clone()
    }

    /// The leader's id, waiting for an election to end if none is known, or for the successor of
    /// a leader that is handing over (see `transfer`).
    async fn wait_for_leader(&self, deadline: Instant) -> Result<u64, ConsensusError> {
        let mut metrics = self.raft.metrics();
        loop {
            let until = {
                let now = metrics.borrow_and_update();
                if now.state == ServerState::Shutdown || now.running_state.is_err() {
                    return Err(ConsensusError::Shutdown);
                }
                match now.current_leader {
                    Some(leader) => match self.handover.pending(leader, now.current_term) {
                        Some(until) => until.min(deadline),
                        None => return Ok(leader),
                    },
                    None => deadline,
                }
            };
            match tokio::time::timeout_at(until.into(), metrics.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ConsensusError::Shutdown),
                // The hand-over notice ran out: look again.
                Err(_) if until < deadline => {}
                Err(_) => return Err(ConsensusError::NoLeader),
            }
        }
    }

    /// Waits a little before trying again (a leader change is under way), unless time is up.
    async fn pause(&self, deadline: Instant) -> Result<(), ConsensusError> {
        if Instant::now() >= deadline {
            return Err(ConsensusError::NoLeader);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(())
    }

    async fn wait_applied(&self, index: u64, deadline: Instant) -> Result<(), ConsensusError> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        self.raft
            .wait(Some(timeout))
            .applied_index_at_least(Some(index), "catching up with the leader")
            .await
            .map(|_| ())
            .map_err(|e| ConsensusError::Raft(format!("not caught up with the leader: {e}")))
    }

    async fn wait_applied_zxid(&self, zxid: i64, deadline: Instant) -> Result<(), ConsensusError> {
        self.wait_applied((zxid as u64) & 0xffff_ffff, deadline)
            .await
    }

    /// Resolves once Raft no longer names `leader` as the leader.
    async fn leader_changes_from(&self, leader: u64) {
        let mut metrics = self.raft.metrics();
        while metrics.borrow_and_update().current_leader == Some(leader) {
            if metrics.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sends one request to `leader` on an idle connection (or a new one), keeping it for reuse.
    async fn forward(&self, leader: u64, request: PeerRequest) -> Result<PeerResponse, CallError> {
        let idle = self
            .idle_peers
            .lock()
            .expect("peer pool lock")
            .get_mut(&leader)
            .and_then(Vec::pop);
        let mut client = match idle {
            Some(client) => client,
            None => {
                let spec = self
                    .metrics()
                    .membership_config
                    .membership()
                    .get_node(&leader)
                    .map(|n| n.spec.clone())
                    .unwrap_or_default();
                PeerClient::new(leader, &spec, &self.transport)
            }
        };
        // A leader deposed while the call is under way answers at once if it runs (it refuses as
        // a non-leader, or finishes what it had begun); one that is cut off (its packets dropped)
        // would leave the call waiting out its timeout: give up on it after a short grace. For a
        // write this means "outcome unknown", as for any failure during the call.
        let deposed = async {
            self.leader_changes_from(leader).await;
            tokio::time::sleep(DEPOSED_LEADER_GRACE).await;
        };
        let response = tokio::select! {
            response = client.call(&request, self.request_timeout) => response,
            () = deposed => Err(CallError::Network {
                target: leader,
                source: std::io::Error::other("another member took over as leader during the call"),
            }),
        };
        if response.is_ok() {
            self.idle_peers
                .lock()
                .expect("peer pool lock")
                .entry(leader)
                .or_default()
                .push(client);
        }
        response
    }
}

/// How long a call to a member that was leader when it began may still take once another member
/// leads.
const DEPOSED_LEADER_GRACE: Duration = Duration::from_millis(200);

/// Raft timing from ZooKeeper's settings: the election timeout is half a tick to a tick (at least
/// 150 ms; a follower grants no vote while it heard from its leader within the upper bound, so a
/// leader cut off by the network is replaced after about one to one and a half ticks, one whose
/// process is gone at once: see `leader_watch`), heartbeats four times per
/// election timeout, replication payloads of up to [`MAX_PAYLOAD_ENTRIES`], a snapshot every
/// [`snapshot_interval`] entries, and `initLimit` ticks for a snapshot to be installed. A member whose log turns out shorter
/// than the leader last knew is caught up again from scratch: that is a removed member's id
/// coming back with a new, empty volume (the operator reuses ids), which the leader still knows
/// as a departed learner. A leader that restarts is a follower until an election (as in standard
/// Raft): resuming its leadership in its old term (openraft's leader restore) left its followers
/// not answering it, and the ensemble stalled.
fn raft_config(opts: &ConsensusOptions) -> Result<Config, ConsensusError> {
    let election_min = (opts.tick_time.as_millis() as u64 / 2).max(150);
    let snap_count = opts.snap_count.max(1);
    Config {
        cluster_name: "zookeeper".into(),
        election_timeout_min: election_min,
        election_timeout_max: election_min * 2,
        heartbeat_interval: (election_min / 4).max(20),
        install_snapshot_timeout: request_timeout(opts).as_millis() as u64,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(snapshot_interval(snap_count)),
        max_in_snapshot_log_to_keep: snap_count.min(1000),
        max_payload_entries: MAX_PAYLOAD_ENTRIES,
        enable_pre_vote: Some(true),
        enable_leader_restore: Some(false),
        allow_log_reversion: Some(true),
        ..Default::default()
    }
    .validate()
    .map_err(|e| ConsensusError::Config(e.to_string()))
}

/// Entries between two snapshots of this member, by Apache's rule: half of `snapCount` plus a random
/// part of up to another half, so that the members of an ensemble, which apply the same entries, do
/// not all encode and write their snapshot at the same moment (on shared or small machines that
/// stalled every member's writes at once). Apache rolls the random part again after each snapshot;
/// a member here rolls it once when it starts, which spreads the members just as well.
fn snapshot_interval(snap_count: u64) -> u64 {
    let half = (snap_count / 2).max(1);
    half + rand::random_range(0..half)
}

/// Pacing of the leader watch: voters campaign a tenth of the shortest election timeout apart
/// (20 to 100 ms), and a campaign that elected nobody gives way to a new watch after the longest
/// election timeout.
fn watch_timing(config: &Config) -> WatchTiming {
    WatchTiming {
        stagger: Duration::from_millis((config.election_timeout_min / 10).clamp(20, 100)),
        settle: Duration::from_millis(config.election_timeout_max),
    }
}

/// The most entries one append-entries message carries: enough for every write pipelined
/// sessions keep in flight (hundreds of sessions × tens of requests) to travel in one round.
const MAX_PAYLOAD_ENTRIES: u64 = 4096;

/// `syncLimit` ticks, at least one second: how long a new member may take to catch up.
fn catch_up_time(opts: &ConsensusOptions) -> Duration {
    (opts.tick_time * opts.sync_limit.max(1)).max(Duration::from_secs(1))
}

/// `initLimit` ticks, at least five seconds: how long a request may wait for a leader.
fn request_timeout(opts: &ConsensusOptions) -> Duration {
    (opts.tick_time * opts.init_limit.max(1)).max(Duration::from_secs(5))
}

#[cfg(test)]
mod snapshot_interval_tests {
    use super::snapshot_interval;

    #[test]
    fn snapshots_come_after_half_to_all_of_snap_count_entries() {
        for snap_count in [1, 2, 5, 1_000, 100_000] {
            let half = (snap_count / 2).max(1);
            let rolled: Vec<u64> = (0..200).map(|_| snapshot_interval(snap_count)).collect();
            assert!(
                rolled.iter().all(|&n| n >= half && n <= snap_count.max(1)),
                "{snap_count}: {rolled:?}"
            );
        }
        let rolled: std::collections::BTreeSet<u64> =
            (0..200).map(|_| snapshot_interval(100_000)).collect();
        assert!(rolled.len() > 100, "members roll different intervals");
    }
}
