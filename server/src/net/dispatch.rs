//! Request dispatch for one established session, in FIFO order: each request is answered before the next
//! one starts, so a read that follows a write sees it, and replies leave in request order. Reads are served
//! from the local state; writes go through the log; pings, auth, sync and closeSession are handled here.
//! Watch notifications for the session go through the same outgoing queue, pushed while the write that
//! triggers them is applied, so they precede the reply that reveals the change. A read-only session
//! (read-only mode) is served reads only: every request that would change state, and `sync`, gets
//! NotReadOnly, as from Apache's `ReadOnlyRequestProcessor`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tracing::{debug, info, warn};
use zk_proto::frame::reply_frame;
use zk_proto::{AuthPacket, ErrorCode, Id, OpCode, Record, ReplyHeader, SyncRequest, SyncResponse};

use super::context::Context;
use super::registry::ConnectionEntry;
use super::stats::ServerStats;
use crate::acl;
use crate::session::now_ms;
use crate::state::{OpClass, ZkState};

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

/// What to do after a request.
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

/// Per-session dispatch state.
struct Session<'a> {
    ctx: &'a Context,
    id: i64,
    read_only: bool,
    auth: Vec<Id>,
}

/// Serves `requests` for `session` until the channel closes or a request ends the connection.
pub async fn run(
    ctx: Arc<Context>,
    entry: Arc<ConnectionEntry>,
    session: SessionKind,
    mut requests: UnboundedReceiver<Request>,
    out: UnboundedSender<BytesMut>,
) {
    let mut session = Session {
        ctx: &ctx,
        id: session.id,
        read_only: session.read_only,
        auth: vec![acl::ip_id(entry.remote.ip())],
    };
    while let Some(request) = requests.recv().await {
        let step = session.handle(&request, entry.remote).await;
        let (frame, close) = match step {
            Step::Reply(frame) => (Some(frame), false),
            Step::ReplyAndClose(frame) => (Some(frame), true),
            Step::Close => (None, true),
        };
        record_done(&ctx, &entry, &request);
        if let Some(frame) = frame
            && out.send(frame).is_err()
        {
            break;
        }
        if close {
            entry.close();
            break;
        }
    }
}

/// Updates counters once a request is answered.
fn record_done(ctx: &Context, entry: &ConnectionEntry, request: &Request) {
    let latency = request.received.elapsed().as_millis() as u64;
    ctx.stats.latency.record(latency);
    entry.stats.latency.record(latency);
    ctx.stats.outstanding.fetch_sub(1, Relaxed);
    entry.stats.outstanding.fetch_sub(1, Relaxed);
    entry.stats.last_response_ms.store(now_ms() as u64, Relaxed);
    *entry
        .stats
        .last_operation
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = operation_name(request.op_code);
    if request.xid >= 0 {
        *entry
            .stats
            .last_cxid
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = i64::from(request.xid);
    }
}

fn header(xid: i32, zxid: i64, err: i32) -> ReplyHeader {
    ReplyHeader { xid, zxid, err }
}

impl Session<'_> {
    async fn handle(&mut self, request: &Request, remote: SocketAddr) -> Step {
        let ctx = self.ctx;
        let xid = request.xid;
        let Some(op) = OpCode::from_i32(request.op_code) else {
            return self.unimplemented(request);
        };
        if self.read_only
            && let Some(step) = self.read_only_refusal(op, request)
        {
            return step;
        }
        if op == OpCode::Reconfig {
            return self.reconfig(request).await;
        }
        match ZkState::classify(request.op_code) {
            OpClass::Read => {
                let (err, body) = ctx.state.read(self.id, &self.auth, op, &request.body);
                Step::Reply(reply_frame(&header(xid, ctx.state.last_zxid(), err), &body))
            }
            OpClass::Write => match ctx
                .propose_request(self.id, &self.auth, request.op_code, &request.body)
                .await
            {
                Ok(outcome) => Step::Reply(reply_frame(
                    &header(xid, outcome.zxid, outcome.err),
                    &outcome.body,
                )),
                Err(e) => {
                    warn!(session = format_args!("0x{:x}", self.id), error = %e, "write failed; closing the connection");
                    Step::Close
                }
            },
            OpClass::Session if op == OpCode::CloseSession => {
                ctx.tracker.remove(self.id);
                let command = crate::state::Command::CloseSession {
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
            OpClass::Special => self.special(op, request, remote).await,
            OpClass::Session | OpClass::Unknown => self.unimplemented(request),
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

    /// Ping, auth, SASL, sync.
    async fn special(&mut self, op: OpCode, request: &Request, remote: SocketAddr) -> Step {
        let ctx = self.ctx;
        let xid = request.xid;
        match op {
            OpCode::Ping => Step::Reply(reply_frame(&header(xid, ctx.state.last_zxid(), 0), &[])),
            OpCode::Auth => self.auth(request, remote),
            OpCode::Sync => {
                let Ok(sync) = SyncRequest::from_bytes(&request.body) else {
                    return Step::Close;
                };
                match ctx.consensus.sync().await {
                    Ok(()) => {
                        let body = SyncResponse { path: sync.path }.to_bytes();
                        Step::Reply(reply_frame(&header(xid, ctx.state.last_zxid(), 0), &body))
                    }
                    Err(e) => {
                        warn!(error = %e, "sync failed; closing the connection");
                        Step::Close
                    }
                }
            }
            // SASL is not offered: the client is told authentication failed, and the connection closes,
            // as Apache does when SASL authentication fails.
            _ => {
                warn!(client = %remote, "SASL authentication is not supported; closing the connection");
                ServerStats::bump(&ctx.stats.auth_failed);
                Step::ReplyAndClose(reply_frame(
                    &header(xid, 0, ErrorCode::AuthFailed.code()),
                    &[],
                ))
            }
        }
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

    /// `addauth`: digest and ip schemes; anything else fails, and the connection closes (Apache's way).
    fn auth(&mut self, request: &Request, remote: SocketAddr) -> Step {
        let ctx = self.ctx;
        let xid = request.xid;
        let ids = match AuthPacket::from_bytes(&request.body) {
            Ok(packet) if packet.scheme == "digest" => Some(acl::authenticate_digest(
                packet.auth.as_deref().unwrap_or_default(),
                ctx.config.super_digest.as_deref(),
            )),
            Ok(packet) if packet.scheme == "ip" => Some(vec![acl::ip_id(remote.ip())]),
            Ok(packet) => {
                warn!(scheme = %packet.scheme, "No authentication provider for scheme");
                None
            }
            Err(_) => None,
        };
        match ids {
            Some(ids) => {
                info!(session = format_args!("0x{:x}", self.id), client = %remote, "auth success");
                for id in ids {
                    if !self.auth.contains(&id) {
                        self.auth.push(id);
                    }
                }
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
