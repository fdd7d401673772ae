//! The expiry task. Only the leader expires sessions, so it must hear of every session's activity:
//!
//! - on a member that does not lead, once per tick, the sessions its clients kept active are reported
//!   to the leader;
//! - on the leader, those reports push the sessions' deadlines back; once per tick, live sessions it
//!   does not track yet (created or resumed on other members) get a full timeout, and sessions whose
//!   deadline has passed are handed to the closer. When the member becomes leader, every live session
//!   gets a fresh full timeout (it cannot know how long sessions were silent under the previous
//!   leader).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
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

/// What the expiry task needs from the server.
pub trait ExpiryHost: Send + Sync + 'static {
    /// True while this member leads.
    fn is_leader(&self) -> bool;
    /// Every live session with its timeout (from the replicated state).
    fn live_sessions(&self) -> Vec<(i64, i32)>;
    /// Called once each time this member becomes leader, after the tracker was reset.
    fn elected(&self);
    /// Closes an expired session (proposes its close through the log).
    fn close_session(self: Arc<Self>, session_id: i64)
    -> impl Future<Output = ()> + Send + 'static;
    /// Tells the leader that `sessions`, whose clients are connected here, were active.
    fn report_activity(
        self: Arc<Self>,
        sessions: Vec<i64>,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// Runs until shutdown, checking once per `tick`; `reports` carries other members' reports of session
/// activity (see the module documentation).
pub async fn run_expiry<H: ExpiryHost>(
    host: Arc<H>,
    tracker: Arc<SessionTracker>,
    tick: Duration,
    mut reports: mpsc::Receiver<Vec<i64>>,
    mut shutdown: Shutdown,
) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut leading = false;
    let mut reports_open = true;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            report = reports.recv(), if reports_open => {
                match report {
                    Some(sessions) if leading => {
                        let now = now_ms();
                        for id in sessions {
                            tracker.touch(id, now);
                        }
                    }
                    Some(_) => {}
                    None => reports_open = false,
                }
                continue;
            }
            _ = shutdown.recv() => return,
        }
        let is_leader = host.is_leader();
        if is_leader && !leading {
            tracker.reset(host.live_sessions(), now_ms());
            host.elected();
        }
        leading = is_leader;
        let active = tracker.take_active();
        if !is_leader {
            if !active.is_empty() {
                tokio::spawn(host.clone().report_activity(active));
            }
            continue;
        }
        tracker.align(host.live_sessions(), now_ms());
        for id in tracker.take_expired(now_ms()) {
            info!(session = format_args!("0x{id:x}"), "session expired");
            tokio::spawn(host.clone().close_session(id));
        }
    }
}
