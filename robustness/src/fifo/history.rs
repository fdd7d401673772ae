//! What the pipelined sessions did: for every write, its submission number, the connection attempt it was
//! sent on, when it was sent, how it ended and when the client learned that.

/// How a write ended, as its client learned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged: the server created this znode (the path carries the sequence suffix).
    Created {
        /// The created znode's path.
        path: String,
    },
    /// The server answered with this error code.
    Failed {
        /// The `ErrorCode` of the reply.
        code: i32,
    },
    /// No answer: the connection was closed or timed out first; the write may or may not have committed.
    Unknown,
}

/// One write of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The session's own number for it: increasing in the order the session sent its writes, never
    /// reused; the znode's data.
    pub submission: u64,
    /// The connection attempt (of this session, counted from 0) it was sent on.
    pub attempt: u32,
    /// When it was written to the connection, in nanoseconds since the load began.
    pub invoked: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// When the client learned the outcome, in nanoseconds since the load began.
    pub learned: u64,
}

impl Write {
    /// Whether the server acknowledged it.
    pub fn acknowledged(&self) -> bool {
        matches!(self.outcome, Outcome::Created { .. })
    }
}

/// Every write of one session, in submission order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionHistory {
    /// Which session (its writes live under `/fifo/s<session>`).
    pub session: u32,
    /// Its writes, in submission order.
    pub writes: Vec<Write>,
}

/// How many writes ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Acknowledged.
    pub acknowledged: usize,
    /// Answered with an error.
    pub failed: usize,
    /// Not answered.
    pub unknown: usize,
}

impl OutcomeCounts {
    /// The counts over `histories`.
    pub fn of(histories: &[SessionHistory]) -> Self {
        let mut counts = OutcomeCounts::default();
        for write in histories.iter().flat_map(|h| &h.writes) {
            match write.outcome {
                Outcome::Created { .. } => counts.acknowledged += 1,
                Outcome::Failed { .. } => counts.failed += 1,
                Outcome::Unknown => counts.unknown += 1,
            }
        }
        counts
    }
}
