//! One client connection: a four-letter word recognised in the first four bytes, else length-prefixed
//! frames — the connect request first, then requests handled in order by the session's dispatcher as
//! they are read, while a writer task sends replies and notifications from one queue. A frame over
//! `jute.maxbuffer`, bytes that do not decode, or a truncated frame at end of stream close this
//! connection only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};
use zk_proto::frame::{FrameError, record_frame, split_frame};
use zk_proto::{ConnectRequest, Id, Reader, Record, RequestHeader};

use super::context::Context;
use super::dispatch::{Dispatcher, Request, SessionKind};
use super::handshake::{Handshake, handshake};
use super::registry::ConnectionEntry;
use super::stats::ServerStats;
use super::stream::{ClientStream, ReadHalf, WriteHalf};
use crate::fourlw;
use crate::session::now_ms;
use crate::shutdown::Shutdown;

/// Why reading stopped.
#[derive(Debug)]
enum ReadEnd {
    /// End of stream, a read error, a close request or shutdown.
    Closed,
    /// A frame over `jute.maxbuffer` or with a negative length.
    BadFrame(FrameError),
}

/// Serves one accepted connection to its end.
pub async fn serve(
    ctx: Arc<Context>,
    socket: ClientStream,
    remote: SocketAddr,
    certificate_ids: Vec<Id>,
    mut shutdown: Shutdown,
) {
    socket.set_nodelay();
    let (mut reader, writer) = socket.split();
    let entry = ctx.registry.add(remote, now_ms(), certificate_ids);
    ctx.stats.alive_connections.fetch_add(1, Relaxed);
    ServerStats::bump(if remote.ip().is_loopback() {
        &ctx.stats.non_mtls_local_connections
    } else {
        &ctx.stats.non_mtls_remote_connections
    });
    let mut buf = BytesMut::with_capacity(4096);
    // A connection that never completes its handshake is dropped after the longest session timeout, as
    // Apache expires sessionless connections.
    let handshake_limit = Duration::from_millis(u64::from(ctx.config.max_session_timeout_ms));
    let session = tokio::select! {
        session = tokio::time::timeout(handshake_limit, open(&ctx, &entry, &mut reader, writer, &mut buf)) => {
            session.unwrap_or_else(|_| {
                debug!(client = %remote, "no handshake in time; closing");
                None
            })
        }
        _ = shutdown.recv() => None,
    };
    if let Some(opened) = session {
        run_session(&ctx, &entry, opened, reader, buf, shutdown).await;
    }
    if let Some(session_id) = ctx.registry.remove(&entry) {
        ctx.state.watches().remove_session(session_id);
    }
    ctx.stats.alive_connections.fetch_sub(1, Relaxed);
    debug!(client = %remote, "connection closed");
}

/// An established session and the write half of its connection.
struct Opened {
    session_id: i64,
    /// A read-only session local to this member.
    read_only: bool,
    writer: WriteHalf,
}

/// Reads the first bytes: answers a four-letter word, or runs the handshake. Returns the established
/// session, or `None` when the connection is done.
async fn open(
    ctx: &Arc<Context>,
    entry: &Arc<ConnectionEntry>,
    reader: &mut ReadHalf,
    mut writer: WriteHalf,
    buf: &mut BytesMut,
) -> Option<Opened> {
    while buf.len() < 4 {
        if reader.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
    if let Some(command) = fourlw::command_of([buf[0], buf[1], buf[2], buf[3]]) {
        count_received(ctx, entry, 4);
        let text = fourlw::execute(command, ctx.as_ref());
        let _ = writer.write_all(text.as_bytes()).await;
        let _ = writer.shutdown().await;
        return None;
    }
    let frame = match next_frame(ctx, entry, reader, buf).await {
        Ok(frame) => frame,
        Err(ReadEnd::BadFrame(e)) => {
            warn!(client = %entry.remote, error = %e, "refusing the connect frame; closing");
            return None;
        }
        Err(ReadEnd::Closed) => return None,
    };
    ServerStats::bump(&ctx.stats.connection_requests);
    let Ok(request) = ConnectRequest::from_bytes(&frame) else {
        warn!(client = %entry.remote, "malformed connect request; closing");
        return None;
    };
    match handshake(ctx, &request, entry.remote).await {
        Handshake::Refuse => None,
        Handshake::Reject(response) => {
            let _ = writer.write_all(&record_frame(&response)).await;
            let _ = writer.shutdown().await;
            None
        }
        Handshake::Established {
            session_id,
            timeout_ms,
            read_only,
            response,
        } => {
            ctx.registry.bind_session(entry, session_id, timeout_ms);
            writer.write_all(&record_frame(&response)).await.ok()?;
            ServerStats::bump(&ctx.stats.packets_sent);
            ServerStats::bump(&entry.stats.sent);
            Some(Opened {
                session_id,
                read_only,
                writer,
            })
        }
    }
}

/// Reads requests until the connection ends; replies and notifications go out through the writer task.
async fn run_session(
    ctx: &Arc<Context>,
    entry: &Arc<ConnectionEntry>,
    opened: Opened,
    mut reader: ReadHalf,
    mut buf: BytesMut,
    mut shutdown: Shutdown,
) {
    let Opened {
        session_id,
        read_only,
        writer,
    } = opened;
    let (out_tx, out_rx) = mpsc::unbounded_channel::<BytesMut>();
    let (finish_tx, finish_rx) = oneshot::channel();
    ctx.state
        .watches()
        .register_session(session_id, out_tx.clone());
    let writer_task = tokio::spawn(write_frames(
        writer,
        out_rx,
        finish_rx,
        ctx.clone(),
        entry.clone(),
    ));
    let mut dispatcher = Dispatcher::new(
        ctx,
        entry,
        SessionKind {
            id: session_id,
            read_only,
        },
        out_tx,
    );
    // What ends the connection besides its client, each one future for the connection's life.
    let pipeline = dispatcher.pipeline();
    let failed = pipeline.failed();
    let closed = entry.closed();
    let stopped = shutdown.recv();
    tokio::pin!(failed, closed, stopped);
    let mut quorum_check = tokio::time::interval(quorum_check_period(ctx));
    loop {
        let frame = tokio::select! {
            biased;
            reason = &mut failed => {
                warn!(session = format_args!("0x{session_id:x}"), %reason,
                      "write failed; closing the connection");
                break;
            }
            frame = next_frame(ctx, entry, &mut reader, &mut buf) => frame,
            _ = &mut closed => break,
            _ = &mut stopped => break,
            // A member cut off from the quorum ends its read-write sessions' connections, so that
            // their clients reconnect to a member that can serve them (Apache's closes them when it
            // starts looking for a leader; a mere leader change closes nothing here).
            _ = quorum_check.tick(), if !read_only => {
                if ctx.cut_off() {
                    debug!(session = format_args!("0x{session_id:x}"),
                           "not in contact with a quorum; closing the connection");
                    break;
                }
                continue;
            }
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(ReadEnd::BadFrame(e)) => {
                ServerStats::bump(&ctx.stats.large_requests_rejected);
                warn!(client = %entry.remote, session = format_args!("0x{session_id:x}"), error = %e,
                      "refusing a frame; closing the connection");
                break;
            }
            Err(ReadEnd::Closed) => break,
        };
        let mut r = Reader::new(&frame);
        let Ok(header) = RequestHeader::read(&mut r) else {
            warn!(client = %entry.remote, "undecodable request header; closing the connection");
            break;
        };
        if read_only {
            // A read-only session lasts while the member is cut off: once it rejoins a quorum, the
            // client reconnects, to a member that serves writes if it can.
            if !ctx.read_only() {
                debug!(
                    session = format_args!("0x{session_id:x}"),
                    "quorum back; ending a read-only session"
                );
                break;
            }
        } else {
            // Every packet touches the session. A session closed or expired elsewhere (by the leader,
            // or by another connection) ends this connection: the client reconnects and learns it
            // expired.
            let Some(timeout_ms) = ctx.state.session_timeout(session_id) else {
                debug!(
                    session = format_args!("0x{session_id:x}"),
                    "session no longer live; closing"
                );
                break;
            };
            if !ctx.tracker.touch(session_id, now_ms()) {
                ctx.tracker.add(session_id, timeout_ms, now_ms());
            }
        }
        let body = frame.slice(frame.len() - r.remaining()..);
        ctx.stats.outstanding.fetch_add(1, Relaxed);
        entry.stats.outstanding.fetch_add(1, Relaxed);
        let request = Request {
            xid: header.xid,
            op_code: header.op_type,
            body,
            received: Instant::now(),
        };
        // Most requests are handled at once; the few that wait (for the session's earlier writes,
        // a leader, the ensemble) still give way to the connection's end.
        let keep = tokio::select! {
            keep = dispatcher.handle(request, entry.remote) => keep,
            _ = &mut closed => false,
            _ = &mut stopped => false,
        };
        if !keep {
            break;
        }
    }
    drop(dispatcher);
    // Requests not answered when the connection ended never are.
    let unanswered = entry.stats.outstanding.swap(0, Relaxed);
    ctx.stats.outstanding.fetch_sub(unanswered, Relaxed);
    let _ = finish_tx.send(());
    let _ = writer_task.await;
}

/// How often a connection checks that its member is still in contact with a quorum: half a tick.
fn quorum_check_period(ctx: &Context) -> Duration {
    Duration::from_millis(u64::from(ctx.config.tick_time_ms / 2).max(10))
}

/// Reads until a whole frame is buffered.
async fn next_frame(
    ctx: &Context,
    entry: &ConnectionEntry,
    reader: &mut ReadHalf,
    buf: &mut BytesMut,
) -> Result<Bytes, ReadEnd> {
    loop {
        match split_frame(buf, ctx.config.jute_max_buffer) {
            Ok(Some(frame)) => {
                count_received(ctx, entry, frame.len() + 4);
                return Ok(frame);
            }
            Ok(None) => {}
            Err(e) => return Err(ReadEnd::BadFrame(e)),
        }
        match reader.read_buf(buf).await {
            Ok(0) => {
                if !buf.is_empty() {
                    debug!(client = %entry.remote, bytes = buf.len(), "stream ended inside a frame");
                }
                return Err(ReadEnd::Closed);
            }
            Ok(_) => {}
            Err(_) => return Err(ReadEnd::Closed),
        }
    }
}

fn count_received(ctx: &Context, entry: &ConnectionEntry, bytes: usize) {
    ServerStats::bump(&ctx.stats.packets_received);
    ctx.stats.bytes_received.fetch_add(bytes as u64, Relaxed);
    ServerStats::bump(&entry.stats.received);
}

/// Writes queued frames in order; on `finish`, sends what is already queued and closes the stream.
async fn write_frames(
    writer: WriteHalf,
    mut frames: mpsc::UnboundedReceiver<BytesMut>,
    mut finish: oneshot::Receiver<()>,
    ctx: Arc<Context>,
    entry: Arc<ConnectionEntry>,
) {
    let mut writer = BufWriter::new(writer);
    loop {
        // Ends after `finish`, or when every sender is gone (the session moved to another connection).
        let (first, finishing) = tokio::select! {
            biased;
            frame = frames.recv() => (frame, false),
            _ = &mut finish => (None, true),
        };
        let finishing = finishing || first.is_none();
        let mut batch: Vec<BytesMut> = first.into_iter().collect();
        while let Ok(frame) = frames.try_recv() {
            batch.push(frame);
        }
        for frame in &batch {
            if writer.write_all(frame).await.is_err() {
                return;
            }
            ServerStats::bump(&ctx.stats.packets_sent);
            ServerStats::bump(&entry.stats.sent);
            ctx.stats.record_sent(frame);
        }
        if writer.flush().await.is_err() || finishing {
            break;
        }
    }
    let _ = writer.shutdown().await;
}
