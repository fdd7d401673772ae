//! Running a workload over many sessions at once: connect them all (one after the other, before the row's
//! clock starts, so that set-up is neither warm-up nor measured), drive them together under one
//! [`RowClock`], merge what they measured, close them. Populating a pool of nodes and the memory load are
//! runs of the same machinery without warm-up or time limit. A connect row ([`churn`]) times whole
//! sessions instead: connection, handshakes and close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use zk_proto::{OpCode, SyncRequest};

use crate::driver::{Phase, RowClock, SessionOutcome, drive};
use crate::session::{Endpoint, Session, SessionError};
use crate::stats::RowStats;
use crate::workload::{Concurrency, Workload};

/// How long a run without a time limit may take at most.
const UNTIMED: Duration = Duration::from_secs(3_600);

/// Why a run measured nothing.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A session's task panicked or was cancelled.
    #[error("load task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// No request was answered in the measured phase.
    #[error("no request completed in the measured phase")]
    NothingMeasured,
}

/// How long a row runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Untimed warm-up.
    pub warmup: Duration,
    /// Longest measured phase.
    pub duration: Duration,
    /// Most measured requests.
    pub max_ops: u64,
}

impl Limits {
    /// Exactly `ops` requests, all measured, however long they take.
    pub fn ops(ops: u64) -> Self {
        Limits {
            warmup: Duration::ZERO,
            duration: UNTIMED,
            max_ops: ops,
        }
    }
}

/// Runs `workload` with `concurrency` against `endpoints` (session `i` connects to
/// `endpoints[i % len]`).
pub async fn run(
    endpoints: &[Endpoint],
    workload: &Workload,
    concurrency: Concurrency,
    limits: Limits,
) -> Result<RowStats, RunError> {
    let connecting = Instant::now();
    let mut sessions = Vec::with_capacity(concurrency.sessions);
    for i in 0..concurrency.sessions {
        sessions.push(Session::open(&endpoints[i % endpoints.len()]).await?);
    }
    tracing::debug!(
        sessions = sessions.len(),
        ms = connecting.elapsed().as_millis() as u64,
        "sessions connected"
    );
    let workload = Arc::new(workload.clone());
    let clock = Arc::new(RowClock::new(
        Instant::now(),
        limits.warmup,
        limits.duration,
        limits.max_ops,
    ));
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(worker, mut session)| {
            let workload = Arc::clone(&workload);
            let clock = Arc::clone(&clock);
            tokio::spawn(async move {
                let outcome = drive(
                    &mut session,
                    worker,
                    concurrency.in_flight,
                    &workload,
                    &clock,
                )
                .await?;
                session.close().await?;
                Ok::<SessionOutcome, SessionError>(outcome)
            })
        })
        .collect();
    merge(tasks, &clock).await
}

/// A connect row: `sessions` tasks (task `i` on `endpoints[i % len]`), each opening a session (TCP
/// connection, TLS handshake if the endpoint has TLS, connect request) and closing it, again and again
/// until the row's clock ends; each open-and-close is one timed operation.
pub async fn churn(
    endpoints: &[Endpoint],
    sessions: usize,
    limits: Limits,
) -> Result<RowStats, RunError> {
    let clock = Arc::new(RowClock::new(
        Instant::now(),
        limits.warmup,
        limits.duration,
        limits.max_ops,
    ));
    let tasks: Vec<_> = (0..sessions)
        .map(|i| {
            let endpoint = endpoints[i % endpoints.len()].clone();
            let clock = Arc::clone(&clock);
            tokio::spawn(async move {
                let mut outcome = SessionOutcome::default();
                loop {
                    let started = Instant::now();
                    let phase = clock.admit(started);
                    if phase == Phase::Done {
                        return Ok::<SessionOutcome, SessionError>(outcome);
                    }
                    Session::open(&endpoint).await?.close().await?;
                    if phase == Phase::Measured {
                        let ended = Instant::now();
                        outcome.latencies.push(ended - started);
                        outcome.last_reply = Some(ended);
                    }
                }
            })
        })
        .collect();
    merge(tasks, &clock).await
}

/// Waits for the session tasks of a row and merges what they measured.
async fn merge(
    tasks: Vec<JoinHandle<Result<SessionOutcome, SessionError>>>,
    clock: &RowClock,
) -> Result<RowStats, RunError> {
    let mut latencies = Vec::new();
    let mut last_reply = None;
    for task in tasks {
        let outcome = task.await??;
        latencies.extend(outcome.latencies);
        last_reply = last_reply.max(outcome.last_reply);
    }
    let window = last_reply
        .map(|last| last.saturating_duration_since(clock.warmup_end()))
        .unwrap_or_default();
    RowStats::from_samples(latencies, window).ok_or(RunError::NothingMeasured)
}

/// Makes `parent` and `count` nodes of `value` under it, named as [`Workload::on_pool`] expects.
pub async fn populate(
    addr: SocketAddr,
    parent: &str,
    count: u64,
    value: &[u8],
) -> Result<RowStats, RunError> {
    ensure_path(addr, parent).await?;
    let pipelined = Concurrency {
        sessions: 1,
        in_flight: 32,
    };
    run(
        &[Endpoint::plain(addr)],
        &Workload::create(parent, value.to_vec()),
        pipelined,
        Limits::ops(count),
    )
    .await
}

/// Has every member in `addrs` catch up with the leader on `path` (sync), so nodes made through one member
/// are visible through all.
pub async fn sync_all(addrs: &[SocketAddr], path: &str) -> Result<(), SessionError> {
    for &addr in addrs {
        let mut session = Session::connect(addr).await?;
        let request = SyncRequest {
            path: path.to_owned(),
        };
        match session.call(OpCode::Sync, &request).await? {
            0 => session.close().await?,
            code => return Err(session.reply_error(OpCode::Sync, code)),
        }
    }
    Ok(())
}

/// Creates `path` and its ancestors (empty, open ACL) where missing.
pub async fn ensure_path(addr: SocketAddr, path: &str) -> Result<(), SessionError> {
    let mut session = Session::connect(addr).await?;
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        session.ensure_node(&prefix).await?;
    }
    session.close().await
}
