//! The expiry task: once per tick, sessions whose deadline has passed are handed to the closer, while
//! this member leads. Followers keep their tracker but never expire sessions themselves.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::info;

use super::tracker::SessionTracker;
use crate::shutdown::Shutdown;

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs until shutdown: every tick, if `is_leader()`, takes the expired sessions and calls `close` for each
/// (which proposes the session's close through consensus).
pub async fn run_expiry<L, C, F>(
    tracker: Arc<SessionTracker>,
    tick: Duration,
    is_leader: L,
    close: C,
    mut shutdown: Shutdown,
) where
    L: Fn() -> bool,
    C: Fn(i64) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.recv() => return,
        }
        if !is_leader() {
            continue;
        }
        for id in tracker.take_expired(now_ms()) {
            info!(session = format_args!("0x{id:x}"), "session expired");
            tokio::spawn(close(id));
        }
    }
}
