//! Client sessions writing continuously while the ensemble changes, each write timestamped when sent and
//! when acknowledged, and what the acknowledgements say about write availability around one instant.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use zk_proto::{OpCode, SetDataRequest};

use crate::session::{Session, SessionError};

/// Parent of the writers' nodes.
const PARENT: &str = "/zkbench/reconfig";
/// Pause before reconnecting a writer whose connection failed.
const RECONNECT_PAUSE: Duration = Duration::from_millis(2);

/// One acknowledged write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// When the request was written.
    pub invoked: Instant,
    /// When its successful reply was read.
    pub acked: Instant,
}

/// A write that failed: when, and how (an error code, or the connection lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// When the failure was seen.
    pub at: Instant,
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
}

/// Sessions writing in a loop until stopped.
#[derive(Debug)]
pub struct Writers {
    stop: Arc<AtomicBool>,
    /// The latest acknowledgement of any writer.
    latest: Arc<Mutex<Option<Instant>>>,
    tasks: Vec<JoinHandle<WriteLog>>,
}

impl Writers {
    /// Creates one node per writer, then starts `count` writers, writer `i` on `addrs[i % len]`, each
    /// setting its own node again and again, one write at a time.
    pub async fn start(addrs: &[SocketAddr], count: usize) -> Result<Self, SessionError> {
        let mut setup = Session::connect(addrs[0]).await?;
        for path in ["/zkbench", PARENT] {
            setup.ensure_node(path).await?;
        }
        for i in 0..count {
            setup.ensure_node(&node(i)).await?;
        }
        setup.close().await?;
        let stop = Arc::new(AtomicBool::new(false));
        let latest = Arc::new(Mutex::new(None));
        let tasks = (0..count)
            .map(|i| {
                let shared = (Arc::clone(&stop), Arc::clone(&latest));
                tokio::spawn(write_loop(addrs[i % addrs.len()], node(i), shared))
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
        let latest = *self.latest.lock().unwrap_or_else(|e| e.into_inner());
        latest.is_some_and(|t| t > instant)
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
                }
                Err(e) => tracing::warn!("writer task: {e}"),
            }
        }
        log
    }
}

/// Writer `i`'s node.
fn node(i: usize) -> String {
    format!("{PARENT}/w{i}")
}

/// The stop flag and the latest acknowledgement, shared by the writers.
type Shared = (Arc<AtomicBool>, Arc<Mutex<Option<Instant>>>);

/// Writes `path` at `addr` until stopped; a failed write or connection is followed by a new session.
async fn write_loop(addr: SocketAddr, path: String, (stop, latest): Shared) -> WriteLog {
    let mut log = WriteLog::default();
    let request = SetDataRequest {
        path,
        data: Some(vec![b'w'; 16]),
        version: -1,
    };
    let mut session = None;
    while !stop.load(Ordering::Relaxed) {
        let current = match session.as_mut() {
            Some(s) => s,
            None => match Session::connect(addr).await {
                Ok(s) => session.insert(s),
                Err(e) => {
                    log.failures.push(Failure {
                        at: Instant::now(),
                        why: format!("connect: {e}"),
                    });
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        let invoked = Instant::now();
        match current.call(OpCode::SetData, &request).await {
            Ok(0) => {
                let acked = Instant::now();
                log.acks.push(Ack { invoked, acked });
                let mut latest = latest.lock().unwrap_or_else(|e| e.into_inner());
                *latest = latest.max(Some(acked));
            }
            outcome => {
                let why = match outcome {
                    Ok(code) => current.reply_error(OpCode::SetData, code).to_string(),
                    Err(e) => e.to_string(),
                };
                log.failures.push(Failure {
                    at: Instant::now(),
                    why,
                });
                session = None;
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
    }
    log
}

/// Write availability around the instant a change was sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteGap {
    /// From the change being sent to the first acknowledgement of a write sent at or after it.
    pub first_ack: Duration,
    /// The longest stretch, from the change being sent on, without any acknowledgement.
    pub longest_pause: Duration,
}

impl WriteGap {
    /// Measures `acks` around `sent`; `None` when no write sent after it was acknowledged.
    pub fn measure(acks: &[Ack], sent: Instant) -> Option<Self> {
        let first_ack = acks
            .iter()
            .filter(|a| a.invoked >= sent)
            .map(|a| a.acked)
            .min()?;
        let mut after: Vec<Instant> = acks
            .iter()
            .map(|a| a.acked)
            .filter(|&t| t >= sent)
            .collect();
        after.sort_unstable();
        let longest_pause = std::iter::once(sent)
            .chain(after.iter().copied())
            .zip(after.iter().copied())
            .map(|(before, next)| next - before)
            .max()
            .unwrap_or_default();
        Some(WriteGap {
            first_ack: first_ack - sent,
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
        let gap = WriteGap::measure(&acks, at(100)).unwrap();
        assert_eq!(gap.first_ack, Duration::from_millis(250));
        assert_eq!(gap.longest_pause, Duration::from_millis(248));
        assert_eq!(WriteGap::measure(&acks[..2], at(100)), None);
    }
}
