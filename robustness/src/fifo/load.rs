//! The pipelined load: each session keeps up to a window of creates in flight on its connection, numbered
//! by submission. When a write fails or the connection is lost, the session sends nothing more on that
//! connection, learns the outcome of everything it had sent there (unknown once the connection is gone),
//! and only then opens a new connection (to the next member) resuming the same session, where it carries
//! on with new submission numbers. So every write sent on a later connection attempt was sent after the
//! client learned of every loss on the earlier ones.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::history::{Outcome, SessionHistory, Write};
use super::wire::{Connection, Credentials, WireError};
use super::{PREFIX, ROOT, parent};
use crate::workload::{SESSION_TIMEOUT, WorkloadError, connect, create_empty};

/// How long a connection may stay silent while writes are outstanding before it is given up.
const REPLY_LIMIT: Duration = Duration::from_secs(5);
/// How long a session may go without reaching any member before it is given up.
const GIVE_UP: Duration = Duration::from_secs(30);
/// Pause between two failed connection attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// How the load runs.
#[derive(Debug, Clone)]
pub struct FifoSpec {
    /// How many sessions.
    pub sessions: u32,
    /// How many writes each session keeps in flight at most.
    pub window: usize,
}

/// What the load saw.
#[derive(Debug)]
pub struct FifoReport {
    /// Every session's writes.
    pub histories: Vec<SessionHistory>,
    /// What went wrong besides lost connections (a session given up, a reply out of request order).
    pub problems: Vec<String>,
}

/// A running load; [`FifoLoad::stop`] ends it.
pub struct FifoLoad {
    clock: Instant,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<(SessionHistory, Vec<String>)>,
}

impl FifoLoad {
    /// Creates [`ROOT`] and the sessions' parents through `members`, then starts the sessions, session
    /// `k` connecting first to member `k mod n`.
    pub async fn start(members: &[SocketAddr], spec: &FifoSpec) -> Result<Self, WorkloadError> {
        let connect_string = members
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let setup = connect(&connect_string).await?;
        create_empty(
            &setup,
            std::iter::once(ROOT.to_owned()).chain((0..spec.sessions).map(parent)),
        )
        .await?;
        let clock = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for session in 0..spec.sessions {
            let run = SessionRun {
                session,
                members: members.to_vec(),
                window: spec.window,
                clock,
                stop: stop.clone(),
                history: SessionHistory {
                    session,
                    writes: Vec::new(),
                },
                problems: Vec::new(),
                submitted: 0,
            };
            tasks.spawn(run.run());
        }
        Ok(FifoLoad { clock, stop, tasks })
    }

    /// The load's clock: nanoseconds since it began.
    pub fn now(&self) -> u64 {
        nanos_since(self.clock)
    }

    /// Stops sending, waits for the outcome of every write sent, and returns what the load saw.
    pub async fn stop(mut self) -> FifoReport {
        self.stop.store(true, Ordering::Relaxed);
        let mut report = FifoReport {
            histories: Vec::new(),
            problems: Vec::new(),
        };
        while let Some(done) = self.tasks.join_next().await {
            let (history, problems) = done.expect("a pipelined session panicked");
            report.histories.push(history);
            report.problems.extend(problems);
        }
        report.histories.sort_by_key(|h| h.session);
        report
    }
}

fn nanos_since(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A write sent and not yet answered.
struct InFlight {
    xid: i32,
    submission: u64,
    invoked: u64,
}

/// One session's loop.
struct SessionRun {
    session: u32,
    members: Vec<SocketAddr>,
    window: usize,
    clock: Instant,
    stop: Arc<AtomicBool>,
    history: SessionHistory,
    problems: Vec<String>,
    /// The last submission number used.
    submitted: u64,
}

impl SessionRun {
    /// Connection attempt after connection attempt, until stopped or no member can be reached.
    async fn run(mut self) -> (SessionHistory, Vec<String>) {
        let mut credentials: Option<Credentials> = None;
        let mut last_zxid = 0;
        let mut member = self.session as usize;
        let mut attempt = 0;
        let mut last_contact = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            let addr = self.members[member % self.members.len()];
            member += 1;
            match Connection::open(
                addr,
                credentials.as_ref(),
                SESSION_TIMEOUT,
                last_zxid,
                REPLY_LIMIT,
            )
            .await
            {
                Ok((mut connection, resumed)) => {
                    credentials = Some(resumed);
                    self.pipeline(&mut connection, attempt).await;
                    last_zxid = connection.last_zxid();
                    attempt += 1;
                    last_contact = Instant::now();
                }
                Err(WireError::Expired) => {
                    self.problems
                        .push(format!("session {}: expired", self.session));
                    break;
                }
                Err(e) if last_contact.elapsed() > GIVE_UP => {
                    self.problems.push(format!(
                        "session {}: no member reached for {GIVE_UP:?} (last: {addr}: {e})",
                        self.session
                    ));
                    break;
                }
                Err(e) => {
                    tracing::debug!(session = self.session, %addr, "connect: {e}");
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
        (self.history, self.problems)
    }

    /// Keeps up to the window of writes in flight on `connection` until a write fails, the connection
    /// is lost or the load stops; returns once every write sent on it has its outcome.
    async fn pipeline(&mut self, connection: &mut Connection, attempt: u32) {
        let prefix = format!("{}/{PREFIX}", parent(self.session));
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut failed = false;
        loop {
            while !failed && !self.stop.load(Ordering::Relaxed) && in_flight.len() < self.window {
                let submission = self.next_submission();
                let invoked = nanos_since(self.clock);
                match connection
                    .send_create(
                        &prefix,
                        submission.to_string().as_bytes(),
                        zk_proto::CreateMode::PersistentSequential,
                    )
                    .await
                {
                    Ok(xid) => in_flight.push_back(InFlight {
                        xid,
                        submission,
                        invoked,
                    }),
                    Err(_) => {
                        // Part of it may have gone out: its outcome is unknown like the others'.
                        in_flight.push_back(InFlight {
                            xid: 0,
                            submission,
                            invoked,
                        });
                        self.lose(attempt, in_flight);
                        return;
                    }
                }
            }
            let Some(oldest) = in_flight.front() else {
                return;
            };
            match connection.reply().await {
                Ok(reply) if reply.xid == oldest.xid => {
                    let sent = in_flight.pop_front().expect("an oldest write");
                    let outcome = match reply.path {
                        Some(path) if reply.err == 0 => Outcome::Created { path },
                        _ => Outcome::Failed { code: reply.err },
                    };
                    failed |= !matches!(outcome, Outcome::Created { .. });
                    self.record(attempt, sent, outcome);
                }
                Ok(reply) => {
                    self.problems.push(format!(
                        "session {}: reply to xid {} while xid {} (write {}) was the oldest unanswered",
                        self.session, reply.xid, oldest.xid, oldest.submission
                    ));
                    self.lose(attempt, in_flight);
                    return;
                }
                Err(e) => {
                    tracing::debug!(session = self.session, attempt, "connection lost: {e}");
                    self.lose(attempt, in_flight);
                    return;
                }
            }
        }
    }

    /// The submission number of the next write: one more than the last.
    fn next_submission(&mut self) -> u64 {
        self.submitted += 1;
        self.submitted
    }

    /// Records the outcome of a write, learned now.
    fn record(&mut self, attempt: u32, sent: InFlight, outcome: Outcome) {
        self.history.writes.push(Write {
            submission: sent.submission,
            attempt,
            invoked: sent.invoked,
            outcome,
            learned: nanos_since(self.clock),
        });
    }

    /// Records every write still in flight as unknown: the connection is gone.
    fn lose(&mut self, attempt: u32, in_flight: VecDeque<InFlight>) {
        for sent in in_flight {
            self.record(attempt, sent, Outcome::Unknown);
        }
    }
}
