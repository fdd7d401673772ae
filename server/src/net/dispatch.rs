//! Request dispatch for one established session, on its connection's reader, pipelined in
//! ZooKeeper's order (see `crate::pipeline`): reads and pings go to the session's pipeline,
//! answered at once or after the session's pending writes; writes are submitted to the log without
//! waiting for earlier ones and answered when this member applies them; watch events go through the
//! same outgoing queue, pushed while the write that fires them is applied, so they precede the
//! reply that reveals the change. The rare requests that change the session itself or wait on the
//! ensemble (closeSession, sync, auth, SASL, reconfig, unknown op codes) wait until the pipeline is
//! empty and are answered here. A read-only session (read-only mode) is served reads only: every
//! request that would change state, and `sync`, gets NotReadOnly, as from Apache's
//! `ReadOnlyRequestProcessor`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, info, warn};
use zk_proto::frame::reply_frame;
use zk_proto::{AuthPacket, ErrorCode, Id, OpCode, Record, ReplyHeader, SyncRequest, SyncResponse};

use super::context::Context;
use super::registry::ConnectionEntry;
use super::stats::ServerStats;
use crate::acl;
use crate::consensus::Route;
use crate::pipeline::{AnswerHook, LocalRequest, Pipeline};
use crate::sasl::SaslExchange;
use crate::session::now_ms;
use crate::state::{Command, OpClass, ZkState};

/// One request as read from the connection.
#[derive(Debug)]
pub struct Request {
    /// The client's xid.
    pub xid: i32,
    /// The op code.
    pub op_code: i32,
    /// The body after the request header.
    pub body: Bytes,
    /// When it was read.
    pub received: Instant,
}

/// What to do after a request answered outside the pipeline.
enum Step {
    /// Send this frame and go on.
    Reply(BytesMut),
    /// Send this frame, then close the connection.
    ReplyAndClose(BytesMut),
    /// Close the connection without a reply.
    Close,
}

/// Which session a connection serves.
#[derive(Debug, Clone, Copy)]
pub struct SessionKind {
    /// The session id.
    pub id: i64,
    /// A read-only session local to this member (read-only mode).
    pub read_only: bool,
}

/// Per-session dispatch state, driven by the connection's reader: each request is handled as it
/// is read, without a hand-off to another task. Its pipeline stays registered with the state
/// machine until it is dropped.
pub struct Dispatcher<'a> {
    ctx: &'a Context,
    id: i64,
    read_only: bool,
    auth: Arc<[Id]>,
    /// The identities of the connection's client certificate.
    certificate_ids: Vec<Id>,
    pipeline: Arc<Pipeline>,
    /// Where this session's last write went.
    route: Option<Route>,
    /// The connection's SASL exchange.
    sasl: SaslExchange,
}

impl Drop for Dispatcher<'_> {
    fn drop(&mut self) {
        self.ctx
            .state
            .pipelines()
            .unregister(self.id, &self.pipeline);
    }
}

impl<'a> Dispatcher<'a> {
    /// Starts dispatching for `session` on the connection `entry`, answers going to `out`.
    pub fn new(
        ctx: &'a Arc<Context>,
        entry: &Arc<ConnectionEntry>,
        session: SessionKind,
        out: UnboundedSender<BytesMut>,
    ) -> Dispatcher<'a> {
        let pipeline = Arc::new(Pipeline::new(out, answer_hook(ctx, entry)));
        ctx.state.pipelines().register(session.id, pipeline.clone());
        Dispatcher {
            ctx,
            id: session.id,
            read_only: session.read_only,
            auth: std::iter::once(acl::ip_id(entry.remote.ip()))
                .chain(entry.certificate_ids.iter().cloned())
                .collect(),
            certificate_ids: entry.certificate_ids.clone(),
            pipeline,
            route: None,
            sasl: SaslExchange::default(),
        }
    }

    /// The session's pipeline (its [`Pipeline::failed`] tells when the connection must close).
    pub fn pipeline(&self) -> Arc<Pipeline> {
        self.pipeline.clone()
    }
}

/// Updates counters as each request is answered.
fn answer_hook(ctx: &Arc<Context>, entry: &Arc<ConnectionEntry>) -> AnswerHook {
    let (ctx, entry) = (ctx.clone(), entry.clone());
    Box::new(move |op_code, xid, received| record_done(&ctx, &entry, op_code, xid, received))
}

/// Updates counters once a request is answered.
fn record_done(ctx: &Context, entry: &ConnectionEntry, op_code: i32, xid: i32, received: Instant) {
    let latency = received.elapsed().as_millis() as u64;
    ctx.stats.latency.record(latency);
    entry.stats.latency.record(latency);
    // Apache counts a request with a transaction as an update, any other as a read.
    if ZkState::classify(op_code) == OpClass::Write {
        ctx.stats.update_latency.record(latency);
    } else {
        ctx.stats.read_latency.record(latency);
    }
    // A write applied just as its connection ended finds the connection's count already
    // settled (set to zero, and taken off the server's): it counts for neither.
    if entry
        .stats
        .outstanding
        .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        ctx.stats.outstanding.fetch_sub(1, Relaxed);
    }
    entry.stats.last_response_ms.store(now_ms() as u64, Relaxed);
    *entry
        .stats
        .last_operation
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = operation_name(op_code);
    if xid >= 0 {
        *entry
            .stats
            .last_cxid
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = i64::from(xid);
    }
}

fn header(xid: i32, zxid: i64, err: i32) -> ReplyHeader {
    ReplyHeader { xid, zxid, err }
}

impl Dispatcher<'_> {
    /// Takes one request; `false` when the connection must close.
    pub async fn handle(&mut self, request: Request, remote: SocketAddr) -> bool {
        let op = OpCode::from_i32(request.op_code);
        let refused = match op {
            Some(OpCode::Auth | OpCode::Sasl) => None,
            _ if !self.ctx.config.sasl.enforcement.allows(&self.auth) => {
                Some(self.unauthenticated(&request, remote))
            }
            Some(op) if self.read_only => self.read_only_refusal(op, &request),
            _ if ZkState::classify(request.op_code) == OpClass::Write
                && self.ctx.consensus.is_disk_full() =>
            {
                Some(self.disk_full_refusal(&request))
            }
            _ => None,
        };
        if refused.is_none() {
            match (op, ZkState::classify(request.op_code)) {
                (Some(OpCode::Ping), _) | (_, OpClass::Read) => {
                    self.serve_local(request);
                    return true;
                }
                (Some(op), OpClass::Write) if op != OpCode::Reconfig => {
                    return self.submit(request).await;
                }
                _ => {}
            }
        }
        // Everything else is answered once the session's earlier requests are.
        self.pipeline.settled().await;
        if self.pipeline.failure().is_some() {
            return false;
        }
        let step = match (refused, op) {
            (Some(step), _) => step,
            (None, Some(op)) => self.serve(op, &request, remote).await,
            (None, None) => self.unimplemented(&request),
        };
        let (frame, keep) = match step {
            Step::Reply(frame) => (frame, true),
            Step::ReplyAndClose(frame) => (frame, false),
            // The connection's end settles the counters of what it leaves unanswered.
            Step::Close => return false,
        };
        self.pipeline
            .send_now(frame, request.op_code, request.xid, request.received);
        keep
    }

    /// A read or a ping, in the session's order.
    fn serve_local(&self, request: Request) {
        let local = LocalRequest {
            session: self.id,
            xid: request.xid,
            op_code: request.op_code,
            body: request.body,
            auth: self.auth.clone(),
            received: request.received,
        };
        self.ctx.state.serve_in_order(&self.pipeline, local);
    }

    /// Submits a write to the log without waiting for it; `false` when the connection must close.
    async fn submit(&mut self, request: Request) -> bool {
        let ctx = self.ctx;
        let route = match ctx.consensus.route().await {
            Ok(route) => route,
            Err(e) => {
                warn!(session = format_args!("0x{:x}", self.id), error = %e, "write failed; closing the connection");
                return false;
            }
        };
        // Writes still in flight on another route must settle first: a later write must not
        // commit if an earlier one is lost.
        if self.route.is_some_and(|r| r != route) {
            self.pipeline.settled().await;
            if self.pipeline.failure().is_some() {
                return false;
            }
        }
        self.route = Some(route);
        let command = Command::encode_request(
            self.id,
            request.xid,
            now_ms(),
            &self.auth,
            request.op_code,
            &request.body,
        );
        ctx.stats.proposals.record(command.len());
        self.pipeline
            .push_write(request.xid, request.op_code, request.received);
        let (pipeline, xid) = (self.pipeline.clone(), request.xid);
        let on_failure = Box::new(move |reason| pipeline.fail(xid, reason));
        if let Err(e) = ctx.consensus.submit(route, command, on_failure).await {
            warn!(session = format_args!("0x{:x}", self.id), error = %e, "write failed; closing the connection");
            return false;
        }
        true
    }

    /// closeSession, sync, auth, SASL and reconfig, with nothing of the session ahead of them.
    async fn serve(&mut self, op: OpCode, request: &Request, remote: SocketAddr) -> Step {
        let ctx = self.ctx;
        let xid = request.xid;
        match op {
            OpCode::Reconfig => self.reconfig(request).await,
            OpCode::CloseSession => {
                ctx.tracker.remove(self.id);
                let command = Command::CloseSession {
                    session_id: self.id,
                    time_ms: now_ms(),
                };
                match ctx.propose(command).await {
                    Ok(outcome) => {
                        info!(session = format_args!("0x{:x}", self.id), client = %remote, "session closed");
                        Step::ReplyAndClose(reply_frame(&header(xid, outcome.zxid, 0), &[]))
                    }
                    Err(e) => {
                        warn!(session = format_args!("0x{:x}", self.id), error = %e, "closeSession failed");
                        Step::Close
                    }
                }
            }
            OpCode::Auth => self.auth(request, remote),
            OpCode::Sync => self.sync(request).await,
            OpCode::Sasl => self.sasl(request, remote),
            _ => self.unimplemented(request),
        }
    }

    /// sync: this member catches up with the leader's commit point, then answers.
    async fn sync(&self, request: &Request) -> Step {
        let ctx = self.ctx;
        let Ok(sync) = SyncRequest::from_bytes(&request.body) else {
            return Step::Close;
        };
        match ctx.consensus.sync().await {
            Ok(()) => {
                let body = SyncResponse { path: sync.path }.to_bytes();
                Step::Reply(reply_frame(
                    &header(request.xid, ctx.state.last_zxid(), 0),
                    &body,
                ))
            }
            Err(e) => {
                warn!(error = %e, "sync failed; closing the connection");
                Step::Close
            }
        }
    }

    /// For a read-only session: the answer to a request it may not make here (NotReadOnly), or the end
    /// of the session for closeSession (a local session: nothing to replicate); `None` to serve it.
    fn read_only_refusal(&self, op: OpCode, request: &Request) -> Option<Step> {
        let zxid = self.ctx.state.last_zxid();
        match (op, ZkState::classify(request.op_code)) {
            (OpCode::Reconfig | OpCode::Sync, _) => {}
            (OpCode::CloseSession, _) => {
                info!(
                    session = format_args!("0x{:x}", self.id),
                    "read-only session closed"
                );
                return Some(Step::ReplyAndClose(reply_frame(
                    &header(request.xid, zxid, 0),
                    &[],
                )));
            }
            (_, OpClass::Read | OpClass::Special) => return None,
            _ => {}
        }
        Some(Step::Reply(reply_frame(
            &header(request.xid, zxid, ErrorCode::NotReadOnly.code()),
            &[],
        )))
    }

    /// A write while this member's data or log volume is full: refused at once with NotReadOnly,
    /// as a read-only server refuses it (reads are still served), rather than left waiting for
    /// space; the write is not proposed, so the client knows it did not happen.
    fn disk_full_refusal(&self, request: &Request) -> Step {
        debug!(
            session = format_args!("0x{:x}", self.id),
            xid = request.xid,
            "write refused: the data or log volume is full"
        );
        Step::Reply(reply_frame(
            &header(
                request.xid,
                self.ctx.state.last_zxid(),
                ErrorCode::NotReadOnly.code(),
            ),
            &[],
        ))
    }

    /// reconfig: checked here, carried out by the consensus layer (see `crate::reconfig`).
    async fn reconfig(&self, request: &Request) -> Step {
        let ctx = self.ctx;
        match crate::reconfig::serve(ctx, &self.auth, &request.body).await {
            Ok(result) => {
                let (err, body) = match result {
                    Ok(body) => (0, body),
                    Err(code) => (code.code(), Vec::new()),
                };
                let zxid = ctx.state.last_zxid();
                Step::Reply(reply_frame(&header(request.xid, zxid, err), &body))
            }
            Err(e) => {
                warn!(session = format_args!("0x{:x}", self.id), error = %e, "reconfig failed; closing the connection");
                Step::Close
            }
        }
    }

    /// A SASL token (see `crate::sasl`).
    fn sasl(&mut self, request: &Request, remote: SocketAddr) -> Step {
        let session = format_args!("0x{:x}", self.id);
        let reply = match self.sasl.answer(&self.ctx.config.sasl, &request.body) {
            Ok(reply) => reply,
            Err(e) => {
                warn!(%session, client = %remote, error = %e, "malformed SASL packet; closing the connection");
                return Step::Close;
            }
        };
        if let Some(failure) = &reply.failure {
            warn!(%session, client = %remote, %failure, close = reply.close, "SASL authentication failed");
            ServerStats::bump(&self.ctx.stats.auth_failed);
        }
        if !reply.ids.is_empty() {
            info!(%session, client = %remote, ids = ?reply.ids, "SASL authentication succeeded");
            self.add_auth(reply.ids);
        }
        let frame = reply_frame(&header(request.xid, 0, reply.err), &reply.body);
        if reply.close {
            Step::ReplyAndClose(frame)
        } else {
            Step::Reply(frame)
        }
    }

    /// A request from a connection without an identity of an enforced scheme
    /// (`enforce.auth.enabled`): SessionClosedRequireSaslAuth, and the connection closes.
    fn unauthenticated(&self, request: &Request, remote: SocketAddr) -> Step {
        warn!(session = format_args!("0x{:x}", self.id), client = %remote,
              schemes = ?self.ctx.config.sasl.enforcement.schemes,
              "no identity of the required authentication schemes; closing the connection");
        Step::ReplyAndClose(reply_frame(
            &header(
                request.xid,
                0,
                ErrorCode::SessionClosedRequireSaslAuth.code(),
            ),
            &[],
        ))
    }

    /// Adds identities to the session's, without duplicates.
    fn add_auth(&mut self, ids: Vec<Id>) {
        let mut auth = self.auth.to_vec();
        for id in ids {
            if !auth.contains(&id) {
                auth.push(id);
            }
        }
        self.auth = Arc::from(auth);
    }

    /// `addauth`: digest, ip and x509 schemes; anything else fails, and the connection closes (Apache's
    /// way).
    fn auth(&mut self, request: &Request, remote: SocketAddr) -> Step {
        let ctx = self.ctx;
        let xid = request.xid;
        let ids = match AuthPacket::from_bytes(&request.body) {
            Ok(packet) if packet.scheme == "digest" => Some(acl::authenticate_digest(
                packet.auth.as_deref().unwrap_or_default(),
                ctx.config.super_digest.as_deref(),
            )),
            Ok(packet) if packet.scheme == "ip" => Some(vec![acl::ip_id(remote.ip())]),
            // Apache's x509 provider checks the connection's certificate again: none, AuthFailed.
            Ok(packet) if packet.scheme == "x509" && !self.certificate_ids.is_empty() => {
                Some(self.certificate_ids.clone())
            }
            Ok(packet) => {
                warn!(scheme = %packet.scheme, "No authentication provider for scheme");
                None
            }
            Err(_) => None,
        };
        match ids {
            Some(ids) => {
                info!(session = format_args!("0x{:x}", self.id), client = %remote, "auth success");
                self.add_auth(ids);
                Step::Reply(reply_frame(&header(xid, 0, 0), &[]))
            }
            None => {
                ServerStats::bump(&ctx.stats.auth_failed);
                Step::ReplyAndClose(reply_frame(
                    &header(xid, 0, ErrorCode::AuthFailed.code()),
                    &[],
                ))
            }
        }
    }

    /// An op code this server does not serve: Unimplemented, then close (Apache's
    /// `UnimplementedRequestProcessor`).
    fn unimplemented(&self, request: &Request) -> Step {
        debug!(op = request.op_code, "unknown or unsupported op code");
        let zxid = self.ctx.state.last_zxid();
        Step::ReplyAndClose(reply_frame(
            &header(request.xid, zxid, ErrorCode::Unimplemented.code()),
            &[],
        ))
    }
}

/// The short operation names `cons` shows after `lop=`.
fn operation_name(op_code: i32) -> &'static str {
    use OpCode::*;
    match OpCode::from_i32(op_code) {
        Some(Create | Create2 | CreateContainer | CreateTtl) => "CREA",
        Some(Delete) => "DELE",
        Some(Exists) => "EXIS",
        Some(GetData) => "GETD",
        Some(SetData) => "SETD",
        Some(GetAcl) => "GACL",
        Some(SetAcl) => "SACL",
        Some(GetChildren | GetChildren2) => "GETC",
        Some(GetAllChildrenNumber) => "GACN",
        Some(GetEphemerals) => "GETE",
        Some(Sync) => "SYNC",
        Some(Ping) => "PING",
        Some(Check) => "CHEC",
        Some(Multi) => "MULT",
        Some(MultiRead) => "MLTR",
        Some(Reconfig) => "RECO",
        Some(SetWatches | SetWatches2) => "SETW",
        Some(AddWatch) => "ADDW",
        Some(CheckWatches) => "CHKW",
        Some(RemoveWatches) => "REMW",
        Some(WhoAmI) => "WHOA",
        Some(Auth) => "AUTH",
        Some(CloseSession) => "CLOS",
        _ => "UNKN",
    }
}
