//! The pipeline of one session's requests on the member its client is connected to: requests are
//! taken in order without waiting for earlier ones, and answered in order, with ZooKeeper's rules
//! (Apache's `CommitProcessor`):
//!
//! - a write is submitted to the log at once and answered when this member applies it — in the
//!   state machine's apply, so its reply leaves after the watch events of earlier entries and
//!   before those of later ones, as on Apache's wire;
//! - a read (or a ping) waits only for the same session's earlier writes: with none pending it is
//!   answered at once, otherwise when the last write before it is applied;
//! - on the first write that fails or whose outcome becomes unknown, the pipeline fails: the
//!   connection is closed and nothing after it is submitted (the client reconnects and sends
//!   again), so a session's writes never commit out of order.
//!
//! Lock order: the state machine's lock, then a pipeline's. The state calls
//! [`Pipeline::serve_local`] and [`Pipeline::write_applied`] under its lock and answers the reads
//! they hand back with it held; nothing holding a pipeline's lock takes the state's.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;
use zk_proto::Id;

/// A request answered from this member's state: a read, or a ping.
#[derive(Debug, Clone)]
pub struct LocalRequest {
    /// The session.
    pub session: i64,
    /// The client's xid.
    pub xid: i32,
    /// The op code.
    pub op_code: i32,
    /// The body after the request header.
    pub body: Bytes,
    /// The session's identities when the request arrived.
    pub auth: Arc<[Id]>,
    /// When it was read.
    pub received: Instant,
}

/// Told of every answer sent: op code, xid, and when the request was read (for latency and
/// outstanding-request counts).
pub type AnswerHook = Box<dyn Fn(i32, i32, Instant) + Send + Sync>;

/// A request waiting for its answer.
#[derive(Debug)]
enum Slot {
    /// A write submitted to the log, answered when applied here.
    Write {
        xid: i32,
        op_code: i32,
        received: Instant,
    },
    /// A request answered from local state once the writes before it are applied.
    Local(LocalRequest),
}

struct Inner {
    slots: VecDeque<Slot>,
    failure: Option<String>,
}

/// One session's requests in flight on this member, and where their answers go.
pub struct Pipeline {
    inner: Mutex<Inner>,
    /// The connection's outgoing queue (shared with the session's watch events).
    out: UnboundedSender<BytesMut>,
    on_answer: AnswerHook,
    /// Woken when the pipeline empties or fails.
    settled: Notify,
    /// Woken when the pipeline fails.
    failing: Notify,
}

impl Pipeline {
    /// An empty pipeline sending answers to `out`.
    pub fn new(out: UnboundedSender<BytesMut>, on_answer: AnswerHook) -> Pipeline {
        Pipeline {
            inner: Mutex::new(Inner {
                slots: VecDeque::new(),
                failure: None,
            }),
            out,
            on_answer,
            settled: Notify::new(),
            failing: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, frame: BytesMut, op_code: i32, xid: i32, received: Instant) {
        // A closed queue means the connection is gone: the answer has nowhere to go.
        let _ = self.out.send(frame);
        (self.on_answer)(op_code, xid, received);
    }

    /// Answers `request` with `answer` now if no write of the session is pending, else queues it
    /// behind them. Called with the state machine's lock held.
    pub fn serve_local(
        &self,
        request: LocalRequest,
        answer: impl FnOnce(&LocalRequest) -> BytesMut,
    ) {
        let mut inner = self.lock();
        if inner.slots.is_empty() {
            drop(inner);
            self.send(
                answer(&request),
                request.op_code,
                request.xid,
                request.received,
            );
        } else {
            inner.slots.push_back(Slot::Local(request));
        }
    }

    /// Records a write about to be submitted to the log (before it is submitted, so that its
    /// apply always finds it).
    pub fn push_write(&self, xid: i32, op_code: i32, received: Instant) {
        self.lock().slots.push_back(Slot::Write {
            xid,
            op_code,
            received,
        });
    }

    /// The session's write `xid` was applied here with reply `frame`: sends it, then answers the
    /// reads queued behind it with `answer`, up to the next pending write. A write this pipeline
    /// is not waiting for (sent on another connection of the session) is ignored. Called with
    /// the state machine's lock held.
    pub fn write_applied(
        &self,
        xid: i32,
        frame: BytesMut,
        mut answer: impl FnMut(&LocalRequest) -> BytesMut,
    ) {
        let mut inner = self.lock();
        match inner.slots.front() {
            Some(Slot::Write { xid: pending, .. }) if *pending == xid => {}
            _ => return,
        }
        if let Some(Slot::Write {
            xid,
            op_code,
            received,
        }) = inner.slots.pop_front()
        {
            self.send(frame, op_code, xid, received);
        }
        while let Some(Slot::Local(_)) = inner.slots.front() {
            if let Some(Slot::Local(request)) = inner.slots.pop_front() {
                self.send(
                    answer(&request),
                    request.op_code,
                    request.xid,
                    request.received,
                );
            }
        }
        if inner.slots.is_empty() {
            self.settled.notify_waiters();
        }
    }

    /// The session's write `xid` failed or its outcome became unknown: if this pipeline still
    /// waits for it, the pipeline fails.
    pub fn fail(&self, xid: i32, reason: String) {
        let mut inner = self.lock();
        let waiting = inner
            .slots
            .iter()
            .any(|slot| matches!(slot, Slot::Write { xid: pending, .. } if *pending == xid));
        if waiting && inner.failure.is_none() {
            inner.failure = Some(reason);
            self.settled.notify_waiters();
            self.failing.notify_waiters();
        }
    }

    /// Sends a frame for a request handled outside the pipeline's order (after
    /// [`Pipeline::settled`], so nothing is ahead of it).
    pub fn send_now(&self, frame: BytesMut, op_code: i32, xid: i32, received: Instant) {
        self.send(frame, op_code, xid, received);
    }

    /// Why the pipeline failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }

    /// Resolves once every request in the pipeline is answered, or it failed.
    pub async fn settled(&self) {
        Self::wait_for(&self.settled, || {
            let inner = self.lock();
            inner.slots.is_empty() || inner.failure.is_some()
        })
        .await;
    }

    /// Resolves with the reason once the pipeline failed (not woken by answers, only by the
    /// failure).
    pub async fn failed(&self) -> String {
        Self::wait_for(&self.failing, || self.lock().failure.is_some()).await;
        self.failure().unwrap_or_default()
    }

    async fn wait_for(signal: &Notify, done: impl Fn() -> bool) {
        loop {
            let notified = signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done() {
                return;
            }
            notified.await;
        }
    }
}

/// The pipelines of the sessions connected to this member, by session id.
#[derive(Default)]
pub struct Pipelines(Mutex<HashMap<i64, Arc<Pipeline>>>);

impl Pipelines {
    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Arc<Pipeline>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Routes `session`'s applied writes to `pipeline` (replacing an earlier connection's).
    pub fn register(&self, session: i64, pipeline: Arc<Pipeline>) {
        self.lock().insert(session, pipeline);
    }

    /// Stops routing to `pipeline`, unless another connection of the session took over.
    pub fn unregister(&self, session: i64, pipeline: &Arc<Pipeline>) {
        let mut pipelines = self.lock();
        if pipelines
            .get(&session)
            .is_some_and(|p| Arc::ptr_eq(p, pipeline))
        {
            pipelines.remove(&session);
        }
    }

    /// The pipeline of `session` on this member, if its client is connected here.
    pub fn get(&self, session: i64) -> Option<Arc<Pipeline>> {
        self.lock().get(&session).cloned()
    }
}

impl std::fmt::Debug for Pipelines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipelines")
            .field("sessions", &self.lock().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::mpsc;

    fn frame(tag: u8) -> BytesMut {
        BytesMut::from(&[tag][..])
    }

    fn read(xid: i32) -> LocalRequest {
        LocalRequest {
            session: 1,
            xid,
            op_code: 4,
            body: Bytes::new(),
            auth: Arc::from(Vec::new()),
            received: Instant::now(),
        }
    }

    fn pipeline() -> (
        Arc<Pipeline>,
        mpsc::UnboundedReceiver<BytesMut>,
        Arc<AtomicUsize>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let answered = Arc::new(AtomicUsize::new(0));
        let count = answered.clone();
        let hook: AnswerHook = Box::new(move |_, _, _| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        (Arc::new(Pipeline::new(tx, hook)), rx, answered)
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<BytesMut>) -> Vec<u8> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|f| f[0])
            .collect()
    }

    #[test]
    fn reads_wait_only_for_earlier_writes_and_answers_keep_request_order() {
        let (p, mut rx, answered) = pipeline();
        p.serve_local(read(1), |r| frame(r.xid as u8));
        assert_eq!(
            drain(&mut rx),
            vec![1],
            "no write pending: answered at once"
        );
        p.push_write(2, 5, Instant::now());
        p.serve_local(read(3), |r| frame(r.xid as u8));
        p.push_write(4, 5, Instant::now());
        p.serve_local(read(5), |r| frame(r.xid as u8));
        assert!(
            drain(&mut rx).is_empty(),
            "reads wait behind the pending write"
        );
        p.write_applied(4, frame(40), |r| frame(r.xid as u8));
        assert!(
            drain(&mut rx).is_empty(),
            "a write out of turn is not answered"
        );
        p.write_applied(2, frame(2), |r| frame(r.xid as u8));
        assert_eq!(drain(&mut rx), vec![2, 3], "up to the next pending write");
        p.write_applied(4, frame(4), |r| frame(r.xid as u8));
        assert_eq!(drain(&mut rx), vec![4, 5]);
        assert_eq!(answered.load(Ordering::Relaxed), 5);
    }

    #[tokio::test]
    async fn a_failed_write_fails_the_pipeline_and_a_settled_one_does_not() {
        let (p, _rx, _) = pipeline();
        p.push_write(1, 5, Instant::now());
        p.write_applied(1, frame(1), |r| frame(r.xid as u8));
        p.fail(1, "late report of an applied write".into());
        assert!(p.failure().is_none());
        p.settled().await;
        p.push_write(2, 5, Instant::now());
        p.push_write(3, 5, Instant::now());
        p.fail(2, "leader lost".into());
        assert_eq!(p.failed().await, "leader lost");
        p.settled().await;
    }

    #[test]
    fn registry_keeps_the_newest_connection_of_a_session() {
        let pipelines = Pipelines::default();
        let (old, _rx1, _) = pipeline();
        let (new, _rx2, _) = pipeline();
        pipelines.register(7, old.clone());
        pipelines.register(7, new.clone());
        pipelines.unregister(7, &old);
        assert!(Arc::ptr_eq(&pipelines.get(7).unwrap(), &new));
        pipelines.unregister(7, &new);
        assert!(pipelines.get(7).is_none());
    }
}
