//! The pipelined load loop of one session: keep `in_flight` requests outstanding, send the next as each
//! reply arrives, and time the requests of the measured phase. A shared [`RowClock`] decides, request by
//! request, whether it is warm-up, measured, or past the row's end (time limit or op budget).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::session::{REPLY_HEADER_LEN, Session, SessionError};
use crate::workload::{Op, Workload};

/// The phase a request is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sent during warm-up: answered but not timed.
    Warmup,
    /// Timed and counted.
    Measured,
    /// The row is over: send nothing more.
    Done,
}

/// The limits of one row, shared by all its sessions.
#[derive(Debug)]
pub struct RowClock {
    warmup_end: Instant,
    end: Instant,
    max_ops: u64,
    admitted: AtomicU64,
}

impl RowClock {
    /// A row starting at `start`: `warmup` untimed, then at most `duration` or `max_ops` measured requests,
    /// whichever comes first.
    pub fn new(start: Instant, warmup: Duration, duration: Duration, max_ops: u64) -> Self {
        let warmup_end = start + warmup;
        RowClock {
            warmup_end,
            end: warmup_end + duration,
            max_ops,
            admitted: AtomicU64::new(0),
        }
    }

    /// When the measured phase starts.
    pub fn warmup_end(&self) -> Instant {
        self.warmup_end
    }

    /// The phase of a request about to be sent at `now`; a measured answer takes one op from the budget.
    pub fn admit(&self, now: Instant) -> Phase {
        if now < self.warmup_end {
            Phase::Warmup
        } else if now >= self.end || self.admitted.fetch_add(1, Ordering::Relaxed) >= self.max_ops {
            Phase::Done
        } else {
            Phase::Measured
        }
    }
}

/// What one session measured.
#[derive(Debug, Default)]
pub struct SessionOutcome {
    /// Latency of every measured request.
    pub latencies: Vec<Duration>,
    /// When the last measured reply arrived.
    pub last_reply: Option<Instant>,
}

/// One request on the wire.
struct Outstanding {
    xid: i32,
    op: Op,
    sent: Instant,
    measured: bool,
}

/// Runs `workload` as session number `worker` until `clock` says the row is over and every outstanding
/// request is answered. A failed request, or a reply without what was asked for (see
/// [`Workload::check_reply`]), fails the session: a row whose requests fail measures nothing.
pub async fn drive(
    session: &mut Session,
    worker: usize,
    in_flight: usize,
    workload: &Workload,
    clock: &RowClock,
) -> Result<SessionOutcome, SessionError> {
    let mut outcome = SessionOutcome::default();
    let mut pending: VecDeque<Outstanding> = VecDeque::with_capacity(in_flight);
    let mut out = BytesMut::new();
    let mut frames: Vec<Bytes> = Vec::new();
    let mut seq = 0u64;
    let mut done = false;
    loop {
        let now = Instant::now();
        while !done && pending.len() < in_flight {
            match clock.admit(now) {
                Phase::Done => done = true,
                phase => {
                    let xid = session.next_xid();
                    let op = workload.encode(&mut out, xid, worker, seq);
                    seq += 1;
                    pending.push_back(Outstanding {
                        xid,
                        op,
                        sent: now,
                        measured: phase == Phase::Measured,
                    });
                }
            }
        }
        if !out.is_empty() {
            session.write(&out).await?;
            out.clear();
        }
        if pending.is_empty() {
            return Ok(outcome);
        }
        session.read_frames(&mut frames).await?;
        let received = Instant::now();
        for frame in frames.drain(..) {
            let Some(header) = session.reply_header(&frame, pending.front().map(|p| p.xid))? else {
                continue;
            };
            let answered = pending
                .pop_front()
                .expect("a reply matched an outstanding request");
            let op = answered.op;
            if header.err != 0 {
                return Err(session.reply_error(op.code(), header.err));
            }
            let body = frame.get(REPLY_HEADER_LEN..).unwrap_or_default();
            if let Err(why) = workload.check_reply(op, body) {
                let addr = session.addr();
                let op = op.code();
                return Err(SessionError::WrongReply { addr, op, why });
            }
            if answered.measured {
                outcome.latencies.push(received - answered.sent);
                outcome.last_reply = Some(received);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_phases_follow_time_and_budget() {
        let start = Instant::now();
        let clock = RowClock::new(start, Duration::from_secs(1), Duration::from_secs(5), 2);
        assert_eq!(clock.admit(start), Phase::Warmup);
        assert_eq!(
            clock.admit(start + Duration::from_millis(999)),
            Phase::Warmup
        );
        let measuring = start + Duration::from_secs(2);
        assert_eq!(clock.admit(measuring), Phase::Measured);
        assert_eq!(clock.admit(measuring), Phase::Measured);
        assert_eq!(clock.admit(measuring), Phase::Done, "budget of 2 spent");
    }

    #[test]
    fn clock_ends_at_the_time_limit() {
        let start = Instant::now();
        let clock = RowClock::new(start, Duration::ZERO, Duration::from_secs(5), u64::MAX);
        assert_eq!(clock.admit(start), Phase::Measured);
        assert_eq!(clock.admit(start + Duration::from_secs(5)), Phase::Done);
        assert_eq!(clock.warmup_end(), start);
    }
}
