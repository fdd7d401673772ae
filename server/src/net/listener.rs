//! The client listener: accepts connections, enforces `maxClientCnxns` per IP, and spawns a task per
//! connection (which runs the TLS handshake first on a secure port). Accept errors (e.g. out of file
//! descriptors) back off instead of spinning.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{info, warn};

use super::connection;
use super::context::Context;
use super::secure::{self, ListenerMode};
use super::stats::ServerStats;
use crate::shutdown::Shutdown;

/// Accepts connections on `listener` until shutdown.
pub async fn run(
    ctx: Arc<Context>,
    listener: TcpListener,
    mode: ListenerMode,
    mut shutdown: Shutdown,
) {
    let secure = !matches!(mode, ListenerMode::Plain);
    if let Ok(address) = listener.local_addr() {
        info!(%address, secure, "listening for client connections");
    }
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.recv() => break,
        };
        let (socket, remote) = match accepted {
            Ok(pair) => {
                backoff = Duration::from_millis(10);
                pair
            }
            Err(e) => {
                warn!(error = %e, "accept failed; backing off");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Some(permit) = ctx.limiter.admit(remote.ip()) else {
            ServerStats::bump(&ctx.stats.connections_rejected);
            warn!(
                "Too many connections from {} - max is {}",
                remote.ip(),
                ctx.config.max_client_cnxns
            );
            drop(socket);
            continue;
        };
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        let mode = mode.clone();
        tokio::spawn(async move {
            if let Some((stream, ids)) = secure::open(&mode, socket, remote).await {
                connection::serve(ctx, stream, remote, ids, shutdown).await;
            }
            drop(permit);
        });
    }
    ctx.registry.close_all();
}
