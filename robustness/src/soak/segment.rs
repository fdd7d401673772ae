//! The soak's history, cut into segments so that each stays small enough to check: every segment has
//! registers of its own (`/soak/segments/s<k>/r<i>`), created when it opens, and a history of its own.
//! Sessions always work on the current segment; once a newer one has opened and no operation of the old
//! one is still running, the old history holds every operation ever made on its registers and is checked
//! on its own, and its registers are deleted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zookeeper_client::{Acls, Client, CreateMode};

use crate::checker::{Checker, CheckerError, Verdict};
use crate::history::{Recorder, Register};
use crate::workload::{WorkloadError, transient};

/// Where the segments' registers live.
pub const SEGMENTS: &str = "/soak/segments";

/// One segment: its registers and their history.
#[derive(Debug)]
pub struct Segment {
    /// Its number, from 0.
    pub index: u32,
    /// Its registers' paths.
    pub keys: Vec<String>,
    /// Its history.
    pub recorder: Recorder,
    /// When it opened, seconds since the run began.
    pub opened_secs: f64,
    in_flight: AtomicUsize,
}

/// An operation of a segment under way; the segment is not checked while one is.
#[derive(Debug)]
pub struct InFlight(Arc<Segment>);

impl Segment {
    /// Notes that an operation on this segment begins; it ends when the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// The segment's parent znode.
    fn parent(index: u32) -> String {
        format!("{SEGMENTS}/s{index}")
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The current segment, shared by every session.
#[derive(Debug)]
pub struct Segments {
    current: Mutex<Arc<Segment>>,
}

impl Segments {
    /// Starts with `first`.
    pub fn new(first: Segment) -> Self {
        Segments {
            current: Mutex::new(Arc::new(first)),
        }
    }

    /// The segment operations go to now.
    pub fn current(&self) -> Arc<Segment> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Makes `next` current and returns the one it replaces.
    pub fn replace(&self, next: Segment) -> Arc<Segment> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(&mut *current, Arc::new(next))
    }
}

/// The checker's verdict on one segment.
#[derive(Debug, Clone)]
pub struct SegmentVerdict {
    /// The segment's number.
    pub index: u32,
    /// When it opened and closed, seconds since the run began.
    pub span_secs: (f64, f64),
    /// What the checker said.
    pub verdict: Verdict,
}

/// Retries `attempt` while its error is the connection's (the faults make some), at most `tries` times.
async fn retried<T, F: Future<Output = Result<T, zookeeper_client::Error>>>(
    tries: u32,
    mut attempt: impl FnMut() -> F,
) -> Result<T, zookeeper_client::Error> {
    let mut left = tries;
    loop {
        match attempt().await {
            Err(e) if transient(&e) && left > 1 => {
                left -= 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// Creates segment `index`'s `registers` registers (each holding 0) through `admin`.
pub async fn open(
    admin: &Client,
    index: u32,
    registers: usize,
    opened_secs: f64,
) -> Result<Segment, WorkloadError> {
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let zk = |what: String| move |source| WorkloadError::ZooKeeper { what, source };
    let parent = Segment::parent(index);
    // A create retried after a lost answer may find its znode there already.
    let create = |path: String| {
        let persistent = &persistent;
        async move {
            match retried(20, || admin.create(&path, b"0", persistent)).await {
                Ok(_) | Err(zookeeper_client::Error::NodeExists) => Ok(path),
                Err(e) => Err(zk(format!("create {path}"))(e)),
            }
        }
    };
    create(parent.clone()).await?;
    let mut keys = Vec::new();
    let mut initial = BTreeMap::new();
    for i in 0..registers {
        let key = create(format!("{parent}/r{i}")).await?;
        initial.insert(
            key.clone(),
            Register {
                value: 0,
                version: 0,
            },
        );
        keys.push(key);
    }
    Ok(Segment {
        index,
        keys,
        recorder: Recorder::new(initial),
        opened_secs,
        in_flight: AtomicUsize::new(0),
    })
}

/// Waits until no operation of `segment` runs, checks its history with `checker`, and deletes its
/// registers through `admin` (a failed delete only leaves them behind).
pub async fn close(
    segment: Arc<Segment>,
    closed_secs: f64,
    checker: &Checker,
    admin: &Client,
) -> Result<SegmentVerdict, CheckerError> {
    while segment.in_flight.load(Ordering::SeqCst) > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let verdict = checker.check(&segment.recorder.history()).await?;
    tracing::info!(segment = segment.index, %verdict, "segment checked");
    for key in segment
        .keys
        .iter()
        .chain(std::iter::once(&Segment::parent(segment.index)))
    {
        if let Err(e) = retried(10, || admin.delete(key, None)).await {
            tracing::warn!(%key, "delete: {e}");
        }
    }
    Ok(SegmentVerdict {
        index: segment.index,
        span_secs: (segment.opened_secs, closed_secs),
        verdict,
    })
}
