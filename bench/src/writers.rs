//! Client sessions writing continuously while the ensemble changes (a reconfig, a member killed), each write
//! timestamped when sent and when acknowledged, and what the acknowledgements say about write availability
//! around one instant.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use zk_proto::{OpCode, SetDataRequest};

use crate::session::{Credentials, Session, SessionError};

/// Pause before reconnecting a writer whose connection failed, or writing again after a failed write.
const RECONNECT_PAUSE: Duration = Duration::from_millis(2);

/// What a writer does when a write or a connection fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// A new session on the same member, whatever failed.
    NewSession,
    /// As a ZooKeeper client does: a lost connection (or one that could not be made) is followed by the
    /// same session, resumed with its id and password, on the next member in turn; a write answered with
    /// an error code leaves the connection as it is. An expired session is replaced by a new one.
    ResumeOnNext,
}

/// One acknowledged write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// When the request was written.
    pub invoked: Instant,
    /// When its successful reply was read.
    pub acked: Instant,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A write: answered with an error code, or its connection lost before the reply.
    Write,
    /// A connection or session could not be made (or resumed).
    Connect,
}

/// A write or connection that failed: when, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// When the failure was seen.
    pub at: Instant,
    /// A write or a connection.
    pub kind: FailureKind,
    /// What went wrong.
    pub why: String,
}

/// What the writers saw, over all sessions.
#[derive(Debug, Clone, Default)]
pub struct WriteLog {
    /// Every acknowledged write, in no particular order.
    pub acks: Vec<Ack>,
    /// Every failed write or connection attempt, in no particular order.
    pub failures: Vec<Failure>,
    /// Sessions resumed on another connection ([`Reconnect::ResumeOnNext`]), in no particular order.
    pub resumed: Vec<Instant>,
}

impl WriteLog {
    /// Records a failure seen now.
    fn fail(&mut self, kind: FailureKind, why: String) {
        self.failures.push(Failure {
            at: Instant::now(),
            kind,
            why,
        });
    }
}

/// Sessions writing in a loop until stopped.
#[derive(Debug)]
pub struct Writers {
    stop: Arc<AtomicBool>,
    /// The latest acknowledgement of any writer.
    latest: Arc<Mutex<Option<Ack>>>,
    tasks: Vec<JoinHandle<WriteLog>>,
}

impl Writers {
    /// Creates one node per writer under `parent` (and `parent` itself, a child of the root or of an
    /// existing node), then starts `count` writers, writer `i` first on `addrs[i % len]`, each setting its
    /// own node again and again, one write at a time, reconnecting as `reconnect` says.
    pub async fn start(
        addrs: &[SocketAddr],
        parent: &str,
        count: usize,
        reconnect: Reconnect,
    ) -> Result<Self, SessionError> {
        let mut setup = Session::connect(addrs[0]).await?;
        for path in ["/zkbench", parent] {
            setup.ensure_node(path).await?;
        }
        for i in 0..count {
            setup.ensure_node(&node(parent, i)).await?;
        }
        setup.close().await?;
        let stop = Arc::new(AtomicBool::new(false));
        let latest = Arc::new(Mutex::new(None));
        let addrs: Arc<[SocketAddr]> = addrs.into();
        let tasks = (0..count)
            .map(|i| {
                let writer = Writer {
                    addrs: Arc::clone(&addrs),
                    member: i % addrs.len(),
                    reconnect,
                    stop: Arc::clone(&stop),
                    latest: Arc::clone(&latest),
                };
                tokio::spawn(writer.run(node(parent, i)))
            })
            .collect();
        Ok(Writers {
            stop,
            latest,
            tasks,
        })
    }

    /// Whether some write was acknowledged after `instant`.
    pub fn acked_since(&self, instant: Instant) -> bool {
        self.latest().is_some_and(|a| a.acked > instant)
    }

    /// Whether the latest acknowledged write was sent at or after `instant`.
    pub fn sent_and_acked_since(&self, instant: Instant) -> bool {
        self.latest().is_some_and(|a| a.invoked >= instant)
    }

    /// The latest acknowledgement of any writer.
    fn latest(&self) -> Option<Ack> {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops the writers and returns what they saw.
    pub async fn stop(self) -> WriteLog {
        self.stop.store(true, Ordering::Relaxed);
        let mut log = WriteLog::default();
        for task in self.tasks {
            match task.await {
                Ok(mine) => {
                    log.acks.extend(mine.acks);
                    log.failures.extend(mine.failures);
                    log.resumed.extend(mine.resumed);
                }
                Err(e) => tracing::warn!("writer task: {e}"),
            }
        }
        log
    }
}

/// Writer `i`'s node under `parent`.
fn node(parent: &str, i: usize) -> String {
    format!("{parent}/w{i}")
}

/// One writer: where it connects, how it reconnects, and what it shares with the others.
struct Writer {
    addrs: Arc<[SocketAddr]>,
    /// Index in `addrs` of the member it connects to next.
    member: usize,
    reconnect: Reconnect,
    stop: Arc<AtomicBool>,
    latest: Arc<Mutex<Option<Ack>>>,
}

impl Writer {
    /// Writes `path` until stopped.
    async fn run(mut self, path: String) -> WriteLog {
        let mut log = WriteLog::default();
        let request = SetDataRequest {
            path,
            data: Some(vec![b'w'; 16]),
            version: -1,
        };
        let mut session: Option<Session> = None;
        // The session to resume once the connection is lost ([`Reconnect::ResumeOnNext`]).
        let mut resumable: Option<Credentials> = None;
        while !self.stop.load(Ordering::Relaxed) {
            let current = match session {
                Some(ref mut s) => s,
                None => match self.open(resumable.as_ref(), &mut log).await {
                    Ok(s) => {
                        if self.reconnect == Reconnect::ResumeOnNext {
                            resumable = Some(s.credentials().clone());
                        }
                        session.insert(s)
                    }
                    Err(why) => {
                        if why == NotOpened::Expired {
                            resumable = None;
                        }
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                        continue;
                    }
                },
            };
            let invoked = Instant::now();
            match current.call(OpCode::SetData, &request).await {
                Ok(0) => {
                    let ack = Ack {
                        invoked,
                        acked: Instant::now(),
                    };
                    log.acks.push(ack);
                    let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
                    if latest.is_none_or(|l| l.acked < ack.acked) {
                        *latest = Some(ack);
                    }
                }
                Ok(code) => {
                    let why = current.reply_error(OpCode::SetData, code).to_string();
                    log.fail(FailureKind::Write, why);
                    if self.reconnect == Reconnect::NewSession {
                        session = None;
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
                Err(e) => {
                    log.fail(FailureKind::Write, e.to_string());
                    session = None;
                    self.lost();
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        }
        log
    }

    /// Connects to the current member: resumes `resumable` when given, else a new session. A failure is
    /// logged.
    async fn open(
        &mut self,
        resumable: Option<&Credentials>,
        log: &mut WriteLog,
    ) -> Result<Session, NotOpened> {
        let addr = self.addrs[self.member];
        let opened = match resumable {
            Some(credentials) => Session::resume(addr, credentials).await,
            None => Session::connect(addr).await,
        };
        match opened {
            Ok(s) => {
                if resumable.is_some() {
                    log.resumed.push(Instant::now());
                }
                Ok(s)
            }
            Err(SessionError::Refused(_)) if resumable.is_some() => {
                let why = format!("{addr} refused to resume the session (expired)");
                log.fail(FailureKind::Connect, why);
                Err(NotOpened::Expired)
            }
            Err(e) => {
                log.fail(FailureKind::Connect, format!("connect: {e}"));
                self.lost();
                Err(NotOpened::Failed)
            }
        }
    }

    /// The connection was lost or could not be made: a resuming writer moves on to the next member.
    fn lost(&mut self) {
        if self.reconnect == Reconnect::ResumeOnNext {
            self.member = (self.member + 1) % self.addrs.len();
        }
    }
}

/// Why a writer has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotOpened {
    /// The session to resume has expired: the next attempt makes a new one.
    Expired,
    /// The connection or handshake failed.
    Failed,
}

/// Write availability around an event (a change sent, a member killed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteGap {
    /// From the event to the first acknowledgement of a write sent at or after it.
    pub first_ack: Duration,
    /// The longest stretch without any acknowledgement, from the start of the window on (the event, or a
    /// lead-in before it: then the stretch across the event counts from the last acknowledgement before it).
    pub longest_pause: Duration,
}

impl WriteGap {
    /// Measures `acks` around `event`, in a window that starts `lead_in` before it; `None` when no write
    /// sent at or after the event was acknowledged.
    pub fn measure(acks: &[Ack], event: Instant, lead_in: Duration) -> Option<Self> {
        let first_ack = acks
            .iter()
            .filter(|a| a.invoked >= event)
            .map(|a| a.acked)
            .min()?;
        let from = event.checked_sub(lead_in).unwrap_or(event);
        let mut after: Vec<Instant> = acks
            .iter()
            .map(|a| a.acked)
            .filter(|&t| t >= from)
            .collect();
        after.sort_unstable();
        let longest_pause = std::iter::once(from)
            .chain(after.iter().copied())
            .zip(after.iter().copied())
            .map(|(before, next)| next - before)
            .max()
            .unwrap_or_default();
        Some(WriteGap {
            first_ack: first_ack - event,
            longest_pause,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_counts_from_the_change_to_writes_resuming() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let ack = |invoked: u64, acked: u64| Ack {
            invoked: at(invoked),
            acked: at(acked),
        };
        // Change sent at 100: one write sent before it is acked at 102, then nothing until 350.
        let acks = [
            ack(90, 95),
            ack(98, 102),
            ack(101, 350),
            ack(99, 360),
            ack(351, 355),
        ];
        let gap = WriteGap::measure(&acks, at(100), Duration::ZERO).unwrap();
        assert_eq!(gap.first_ack, Duration::from_millis(250));
        assert_eq!(gap.longest_pause, Duration::from_millis(248));
        assert_eq!(WriteGap::measure(&acks[..2], at(100), Duration::ZERO), None);
    }

    #[test]
    fn with_a_lead_in_the_pause_across_the_event_counts_from_the_last_ack_before_it() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let ack = |invoked: u64, acked: u64| Ack {
            invoked: at(invoked),
            acked: at(acked),
        };
        // Killed at 1000; acks every 10 ms until 990, then nothing until 1400.
        let mut acks: Vec<Ack> = (0..100).map(|i| ack(i * 10, i * 10 + 1)).collect();
        acks.push(ack(1395, 1400));
        acks.push(ack(1401, 1405));
        let gap = WriteGap::measure(&acks, at(1000), Duration::from_millis(500)).unwrap();
        assert_eq!(gap.longest_pause, Duration::from_millis(1400 - 991));
        assert_eq!(gap.first_ack, Duration::from_millis(400));
    }
}
