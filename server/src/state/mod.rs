//! The replicated state machine: the data tree, the session table and the last applied zxid, driven by
//! [`Command`]s in log order through [`StateMachine::apply`], plus local reads that may leave watches.
//!
//! How the network layer uses it:
//! - [`ZkState::classify`] an op code: reads are served locally with [`ZkState::read`]; writes are wrapped in
//!   [`Command::Request`] (with the leader's wall clock and the connection's auth ids), proposed through
//!   consensus, and the proposal's result decoded with [`Outcome::decode`]; its zxid goes in the reply header.
//! - Sessions: propose [`Command::CreateSession`] on connect and [`Command::CloseSession`] on close or
//!   expiry; [`ZkState::session`] answers reconnects (timeout and password).
//! - Watches: [`ZkState::watches`] registers each session's notification sink; events are pushed from
//!   `apply` on every member, before the proposal resolves, so they precede the reply in the same queue.
//! - The leader periodically proposes [`Command::DeleteExpired`] with [`ZkState::expired_nodes`].
//! - Four-letter words read [`ZkState::stats`], [`ZkState::ephemerals_dump`] and the watch manager.

mod command;
mod sessions;
pub mod snapshot;

use std::sync::{Mutex, MutexGuard};

use bytes::BytesMut;
use zk_proto::frame::reply_frame;
use zk_proto::{Acl, ErrorCode, Id, OpCode, ReplyHeader};

pub use command::{Command, Outcome};
pub use sessions::{SessionRecord, SessionTable};

use crate::config::{LearnerType, MembershipFiles, ServerSpec};
use crate::consensus::{Member, SnapshotEncoder, SnapshotError, StateMachine};
pub use crate::ops::Settings;
use crate::ops::{ReadCtx, WriteCtx};
use crate::pipeline::{LocalRequest, Pipeline, Pipelines};
use crate::tree::CONFIG;
use crate::tree::DataTree;
use crate::watch::{Change, WatchManager};
use snapshot::Image;

/// How the network layer handles an op code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpClass {
    /// Served locally with [`ZkState::read`] (includes watch management: set/check/remove/addWatch).
    Read,
    /// Proposed as a [`Command::Request`] through consensus.
    Write,
    /// createSession / closeSession: proposed as their own commands.
    Session,
    /// Handled by the network layer itself: ping, sync, auth, sasl.
    Special,
    /// Not an op code of the protocol.
    Unknown,
}

/// Counts for `mntr`, `srvr`, `stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateStats {
    /// Znodes, as Apache counts them (root counted twice, as Apache's map holds it under two keys).
    pub znode_count: usize,
    /// Ephemeral znodes.
    pub ephemerals_count: usize,
    /// Apache's approximate data size: path lengths plus data lengths.
    pub approximate_data_size: i64,
    /// Watches.
    pub watch_count: usize,
    /// Live sessions (replicated).
    pub session_count: usize,
    /// The last applied zxid.
    pub last_zxid: i64,
}

/// Where committed config texts go.
#[derive(Debug)]
enum ConfigFiles {
    /// Kept until the server installs the writer (while the consensus layer starts).
    Queued(Vec<String>),
    /// Written at once.
    Writing(MembershipFiles),
}

#[derive(Debug)]
struct Inner {
    image: Image,
}

/// The state every member holds, shared behind an `Arc`.
#[derive(Debug)]
pub struct ZkState {
    settings: Settings,
    inner: Mutex<Inner>,
    watches: WatchManager,
    /// The pipelines of the sessions connected to this member: applied writes are answered
    /// through them.
    pipelines: Pipelines,
    /// Where committed config texts go (only with `reconfigEnabled`, where every version is
    /// written to files of its own): queued until the server installs the writer.
    config_files: Mutex<ConfigFiles>,
}

impl ZkState {
    /// A fresh state: the system nodes only, no session, zxid 0.
    pub fn new(settings: Settings) -> Self {
        let image = Image {
            tree: DataTree::new(),
            sessions: SessionTable::default(),
            last_zxid: 0,
            last_time: 0,
        };
        ZkState {
            settings,
            inner: Mutex::new(Inner { image }),
            watches: WatchManager::default(),
            pipelines: Pipelines::default(),
            config_files: Mutex::new(ConfigFiles::Queued(Vec::new())),
        }
    }

    /// A state holding `image` (e.g. one imported from another server's files).
    pub fn with_image(settings: Settings, image: Image) -> Self {
        let state = Self::new(settings);
        state.lock().image = image;
        state
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How the network layer handles `op_code`.
    pub fn classify(op_code: i32) -> OpClass {
        use OpCode::*;
        match OpCode::from_i32(op_code) {
            Some(
                Exists | GetData | GetAcl | GetChildren | GetChildren2 | CheckWatches
                | RemoveWatches | MultiRead | SetWatches | GetEphemerals | GetAllChildrenNumber
                | SetWatches2 | AddWatch | WhoAmI,
            ) => OpClass::Read,
            Some(
                Create | Delete | SetData | SetAcl | Check | Multi | Create2 | Reconfig
                | CreateContainer | CreateTtl,
            ) => OpClass::Write,
            Some(CreateSession | CloseSession) => OpClass::Session,
            Some(Sync | Ping | Auth | Sasl) => OpClass::Special,
            Some(Error | Notification | DeleteContainer) | None => OpClass::Unknown,
        }
    }

    /// Serves a read for `session` with identities `auth`: the error code (0 on success) and the reply
    /// body (empty on error). Watches asked for are registered for `session`; the tree cannot change
    /// between the read and the registration.
    pub fn read(&self, session: i64, auth: &[Id], op: OpCode, body: &[u8]) -> (i32, Vec<u8>) {
        self.read_in(&self.lock(), session, auth, op, body)
    }

    fn read_in(
        &self,
        inner: &Inner,
        session: i64,
        auth: &[Id],
        op: OpCode,
        body: &[u8],
    ) -> (i32, Vec<u8>) {
        let ctx = ReadCtx {
            tree: &inner.image.tree,
            watches: &self.watches,
            settings: &self.settings,
            session,
            auth,
        };
        match crate::ops::read(&ctx, op, body) {
            Ok(body) => (0, body),
            Err(err) => (err.code(), Vec::new()),
        }
    }

    /// Serves a read or a ping of a pipelined session in the session's order: at once if none
    /// of its writes is pending, else once they are applied (see `crate::pipeline`).
    pub fn serve_in_order(&self, pipeline: &Pipeline, request: LocalRequest) {
        let inner = self.lock();
        pipeline.serve_local(request, |r| self.answer_local(&inner, r));
    }

    /// The pipelines of the sessions connected to this member.
    pub fn pipelines(&self) -> &Pipelines {
        &self.pipelines
    }

    /// The reply frame to a read or a ping, from the state in `inner`.
    fn answer_local(&self, inner: &Inner, request: &LocalRequest) -> BytesMut {
        let zxid = inner.image.last_zxid;
        let (err, body) = match OpCode::from_i32(request.op_code) {
            Some(OpCode::Ping) => (0, Vec::new()),
            Some(op) => self.read_in(inner, request.session, &request.auth, op, &request.body),
            None => (ErrorCode::Unimplemented.code(), Vec::new()),
        };
        let header = ReplyHeader {
            xid: request.xid,
            zxid,
            err,
        };
        reply_frame(&header, &body)
    }

    /// Installs the writer of the membership files: the versions committed so far are written
    /// now, every later one from the apply of its membership entry, before the new
    /// `/zookeeper/config` is visible.
    pub fn install_config_files(&self, mut files: MembershipFiles) {
        let mut sink = self.config_files.lock().unwrap_or_else(|e| e.into_inner());
        if let ConfigFiles::Queued(texts) = &*sink {
            for text in texts {
                files.write(text);
            }
        }
        *sink = ConfigFiles::Writing(files);
    }

    /// The watch manager (register a session's sink, drop a closed connection's watches, 4lw dumps).
    pub fn watches(&self) -> &WatchManager {
        &self.watches
    }

    /// The session's timeout and password, if it is live.
    pub fn session(&self, session: i64) -> Option<SessionRecord> {
        self.lock().image.sessions.get(session).cloned()
    }

    /// The negotiated timeout of `session` (ms) while it is live: what every packet of a
    /// connection checks, without copying its password.
    pub fn session_timeout(&self, session: i64) -> Option<i32> {
        self.lock()
            .image
            .sessions
            .get(session)
            .map(|record| record.timeout_ms)
    }

    /// Every live session with its timeout (a new leader restarts all their timers).
    pub fn sessions(&self) -> Vec<(i64, i32)> {
        self.lock()
            .image
            .sessions
            .iter()
            .map(|(id, r)| (id, r.timeout_ms))
            .collect()
    }

    /// The ACL of the node at `path`, if there is one.
    pub fn acl_of(&self, path: &str) -> Option<Vec<Acl>> {
        self.lock().image.tree.get(path).map(|n| n.acl().to_vec())
    }

    /// The last applied zxid.
    pub fn last_zxid(&self) -> i64 {
        self.lock().image.last_zxid
    }

    /// Containers and TTL nodes due for deletion at `now_ms` (the leader proposes them in
    /// [`Command::DeleteExpired`]).
    pub fn expired_nodes(&self, now_ms: i64) -> Vec<String> {
        self.lock().image.tree.expired_nodes(now_ms)
    }

    /// Counts for the four-letter words.
    pub fn stats(&self) -> StateStats {
        let inner = self.lock();
        let tree = &inner.image.tree;
        StateStats {
            znode_count: tree.node_count(),
            ephemerals_count: tree.ephemeral_count(),
            approximate_data_size: tree.approximate_data_size(),
            watch_count: self.watches.count(),
            session_count: inner.image.sessions.len(),
            last_zxid: inner.image.last_zxid,
        }
    }

    /// Ephemeral paths by owning session, sorted (the `dump` word).
    pub fn ephemerals_dump(&self) -> Vec<(i64, Vec<String>)> {
        self.lock().image.tree.ephemerals_by_session()
    }

    /// Applies a decoded command; the outcome for the proposer.
    fn apply_command(&self, inner: &mut Inner, zxid: i64, command: Command) -> Outcome {
        let image = &mut inner.image;
        image.last_zxid = zxid;
        let outcome = |result: Result<Vec<u8>, ErrorCode>| match result {
            Ok(body) => Outcome { zxid, err: 0, body },
            Err(err) => Outcome {
                zxid,
                err: err.code(),
                body: Vec::new(),
            },
        };
        match command {
            Command::CreateSession {
                session_id,
                timeout_ms,
                password,
            } => {
                image.sessions.insert(
                    session_id,
                    SessionRecord {
                        timeout_ms,
                        password,
                    },
                );
                outcome(Ok(Vec::new()))
            }
            Command::CloseSession {
                session_id,
                time_ms,
            } => {
                image.last_time = image.last_time.max(time_ms);
                let mut ctx = self.write_ctx(&mut image.tree, session_id, &[], zxid, time_ms);
                for path in ctx.tree.ephemerals_of(session_id) {
                    crate::ops::delete_node(&mut ctx, &path);
                }
                self.watches.fire(zxid, &ctx.changes);
                image.sessions.remove(session_id);
                self.watches.remove_session(session_id);
                outcome(Ok(Vec::new()))
            }
            Command::Request {
                session_id,
                xid: _,
                time_ms,
                auth,
                op_code,
                body,
            } => {
                image.last_time = image.last_time.max(time_ms);
                if image.sessions.get(session_id).is_none() {
                    return outcome(Err(ErrorCode::SessionExpired));
                }
                let Some(op) = OpCode::from_i32(op_code) else {
                    return outcome(Err(ErrorCode::Unimplemented));
                };
                let mut ctx = self.write_ctx(&mut image.tree, session_id, &auth, zxid, time_ms);
                let result = crate::ops::apply_write(&mut ctx, op, &body);
                self.watches.fire(zxid, &ctx.changes);
                outcome(result)
            }
            Command::DeleteExpired { time_ms, paths } => {
                image.last_time = image.last_time.max(time_ms);
                let mut ctx = self.write_ctx(&mut image.tree, 0, &[], zxid, time_ms);
                for path in paths {
                    if ctx
                        .tree
                        .get(&path)
                        .is_some_and(|n| DataTree::is_expired(n, time_ms))
                    {
                        crate::ops::delete_node(&mut ctx, &path);
                    }
                }
                self.watches.fire(zxid, &ctx.changes);
                outcome(Ok(Vec::new()))
            }
        }
    }

    fn write_ctx<'a>(
        &'a self,
        tree: &'a mut DataTree,
        session: i64,
        auth: &'a [Id],
        zxid: i64,
        time: i64,
    ) -> WriteCtx<'a> {
        WriteCtx {
            tree,
            settings: &self.settings,
            session,
            auth,
            zxid,
            time,
            undo: Vec::new(),
            changes: Vec::new(),
        }
    }
}

impl StateMachine for ZkState {
    fn apply(&self, zxid: i64, command: &[u8]) -> Vec<u8> {
        let mut inner = self.lock();
        let outcome = match Command::decode(command) {
            Ok(command) => {
                let request = match &command {
                    Command::Request {
                        session_id, xid, ..
                    } => self.pipelines.get(*session_id).map(|p| (p, *xid)),
                    _ => None,
                };
                let outcome = self.apply_command(&mut inner, zxid, command);
                // Answered here, after the watch events the write fired and before any later
                // entry's: the order Apache's clients see.
                if let Some((pipeline, xid)) = request {
                    let header = ReplyHeader {
                        xid,
                        zxid: outcome.zxid,
                        err: outcome.err,
                    };
                    let frame = reply_frame(&header, &outcome.body);
                    pipeline.write_applied(xid, frame, |r| self.answer_local(&inner, r));
                }
                outcome
            }
            Err(_) => {
                inner.image.last_zxid = zxid;
                Outcome {
                    zxid,
                    err: ErrorCode::MarshallingError.code(),
                    body: Vec::new(),
                }
            }
        };
        outcome.encode()
    }

    fn apply_membership(&self, zxid: i64, members: &[Member]) {
        let mut inner = self.lock();
        inner.image.last_zxid = zxid;
        if !self.settings.distributed {
            return;
        }
        let lines = config_lines(members);
        let current = inner
            .image
            .tree
            .get(CONFIG)
            .and_then(|n| n.data().map(<[u8]>::to_vec))
            .unwrap_or_default();
        // A joiner added as a learner, or the second half of a joint change, leaves the listed
        // members as they are: the config keeps its version, as Apache's does.
        if !current.is_empty() && current.starts_with(lines.as_bytes()) {
            let rest = &current[lines.len()..];
            if rest.starts_with(b"version=") {
                return;
            }
        }
        // The founding membership is written before any term: Apache numbers that first config
        // with the first leader's epoch and counter 0.
        let version = if zxid >> 32 == 0 { 1 << 32 } else { zxid };
        let text = format!("{lines}version={version:x}");
        if self.settings.reconfig_enabled {
            match &mut *self.config_files.lock().unwrap_or_else(|e| e.into_inner()) {
                ConfigFiles::Queued(texts) => texts.push(text.clone()),
                ConfigFiles::Writing(files) => files.write(&text),
            }
        }
        let time = inner.image.last_time;
        inner.image.tree.set_config(&text, version, time);
        self.watches
            .fire(zxid, &[Change::DataChanged(CONFIG.to_string())]);
    }

    fn freeze(&self) -> SnapshotEncoder {
        let frozen = self.lock().image.freeze();
        Box::new(move |out| frozen.encode_to(out))
    }

    fn restore(&self, snapshot: &[u8]) -> Result<(), SnapshotError> {
        let image = snapshot::decode(snapshot)?;
        self.lock().image = image;
        Ok(())
    }
}

/// The server lines of `/zookeeper/config` for `members`, in their order (the configuration's),
/// each ending with a newline.
/// A non-voting member whose spec says `participant` is a joiner still catching up: not listed
/// until a reconfig adds it, as in Apache.
fn config_lines(members: &[Member]) -> String {
    members
        .iter()
        .filter(|m| {
            m.voter
                || ServerSpec::parse(m.id, &m.spec).is_ok_and(|s| s.role == LearnerType::Observer)
        })
        .map(|m| format!("server.{}={}\n", m.id, m.spec))
        .collect()
}

#[cfg(test)]
mod tests;
