//! The connect handshake, as Apache's `processConnectRequest`: a client that has seen a newer zxid than
//! this member is refused (connection closed); the timeout is clamped to the configured bounds; a new
//! session is created through the log; a resumed session needs the right password and must still be live,
//! else the reply carries timeout 0 and session id 0 and the connection is closed. A client that sent no
//! `readOnly` byte (an old client) gets a reply without it. In read-only mode (see
//! [`Context::read_only`]) a client that allows it gets a read-only session local to this member: it is
//! not replicated, never resumed elsewhere, and ends when the member rejoins a quorum.

use std::net::SocketAddr;

use tracing::{info, warn};
use zk_proto::ConnectRequest;
use zk_proto::ConnectResponse;

use super::context::Context;
use crate::session::{PASSWORD_LEN, now_ms, session_password};
use crate::state::Command;

/// The handshake's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// Close the connection without a reply.
    Refuse,
    /// Send this reply (timeout 0, session 0), then close.
    Reject(ConnectResponse),
    /// The session is established with this reply.
    Established {
        /// The session.
        session_id: i64,
        /// The negotiated timeout.
        timeout_ms: i32,
        /// A read-only session local to this member.
        read_only: bool,
        /// The reply to send.
        response: ConnectResponse,
    },
}

/// Runs the handshake for `request` from `remote`.
pub async fn handshake(ctx: &Context, request: &ConnectRequest, remote: SocketAddr) -> Handshake {
    let our_zxid = ctx.state.last_zxid();
    if request.last_zxid_seen > our_zxid {
        info!(
            "Refusing session(0x{:x}) request for client {remote} as it has seen zxid 0x{:x} our last zxid is \
             0x{our_zxid:x} client must try another server",
            request.session_id, request.last_zxid_seen
        );
        return Handshake::Refuse;
    }
    let timeout_ms = ctx.config.clamp_session_timeout(request.timeout);
    // Old clients sent no readOnly byte and get none back.
    let reply = |timeout: i32, session_id: i64| ConnectResponse {
        protocol_version: 0,
        timeout,
        session_id,
        passwd: if session_id == 0 {
            vec![0; PASSWORD_LEN]
        } else {
            session_password(session_id).to_vec()
        },
        read_only: request.read_only.map(|_| false),
    };
    if request.read_only == Some(true) && ctx.read_only() {
        let session_id = ctx.session_ids.next_id();
        info!(session = format_args!("0x{session_id:x}"), timeout_ms, client = %remote, "read-only session established");
        return Handshake::Established {
            session_id,
            timeout_ms,
            read_only: true,
            response: ConnectResponse {
                read_only: Some(true),
                ..reply(timeout_ms, session_id)
            },
        };
    }
    // A member cut off from the quorum serves no read-write session (as Apache's, which stops its
    // server while it looks for a leader): the client tries another member.
    if ctx.cut_off() {
        info!(session = format_args!("0x{:x}", request.session_id), client = %remote,
              "refusing a session: not in contact with a quorum");
        return Handshake::Refuse;
    }
    let session_id = if request.session_id == 0 {
        let session_id = ctx.session_ids.next_id();
        let password = session_password(session_id).to_vec();
        if let Err(e) = ctx
            .propose(Command::CreateSession {
                session_id,
                timeout_ms,
                password,
            })
            .await
        {
            warn!(client = %remote, error = %e, "could not create a session");
            return Handshake::Refuse;
        }
        ctx.tracker.add(session_id, timeout_ms, now_ms());
        info!(session = format_args!("0x{session_id:x}"), timeout_ms, client = %remote, "session established");
        session_id
    } else {
        let session_id = request.session_id;
        let valid = request.passwd == session_password(session_id)
            && ctx.state.session_timeout(session_id).is_some();
        if !valid {
            info!(session = format_args!("0x{session_id:x}"), client = %remote, "invalid session or password");
            return Handshake::Reject(reply(0, 0));
        }
        if !ctx.tracker.touch(session_id, now_ms()) {
            ctx.tracker.add(session_id, timeout_ms, now_ms());
        }
        info!(session = format_args!("0x{session_id:x}"), timeout_ms, client = %remote, "session reopened");
        session_id
    };
    Handshake::Established {
        session_id,
        timeout_ms,
        read_only: false,
        response: reply(timeout_ms, session_id),
    }
}
