//! Forwarded writes on one ordered, long-lived stream from a member to its leader (as Apache's
//! `Learner.request`): the member sends its sessions' writes in the order they were submitted,
//! batched per flush, without waiting for earlier ones; the leader proposes each in arrival order
//! and answers with its outcome once applied, tagged with the sequence number it came with.
//!
//! A successful write needs no answer to reach its client: the member answers it when it applies
//! the entry itself. The answers matter for failures: a write the leader refused, or one whose
//! fate became unknown because the stream broke or its leader was replaced, is reported to the
//! submitter's failure callback, and nothing sent after it on the same stream is sent anywhere
//! else (a new stream is a new route, which a session only takes once its earlier writes are
//! settled).

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::rt::watch::WatchReceiver;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use super::quorum_addr;
use super::transport::{PeerStream, Transport};
use super::wire::{PeerRequest, PeerResponse, read_frame, write_frame};
use crate::consensus::OnFailure;
use crate::consensus::typ::{CallbackResponder, Command, Raft};

/// One write waiting to be sent.
struct Forwarded {
    command: Vec<u8>,
    on_failure: OnFailure,
}

/// The sending end of the stream to one leader.
struct Stream {
    /// Distinguishes this stream from earlier ones to the same leader.
    generation: u64,
    queue: mpsc::UnboundedSender<Forwarded>,
}

/// This member's streams of forwarded writes, one per leader it has forwarded to.
pub(crate) struct Forwarder {
    streams: Mutex<HashMap<u64, Stream>>,
    generations: AtomicU64,
    /// How long a stream may try to reach a leader before it fails what it holds.
    connect_timeout: Duration,
    /// How streams are opened (plain or TLS).
    transport: Transport,
}

impl Forwarder {
    /// No stream yet; a stream gives up reaching a leader after `connect_timeout`; streams are
    /// opened over `transport`.
    pub(crate) fn new(connect_timeout: Duration, transport: Transport) -> Forwarder {
        Forwarder {
            streams: Mutex::default(),
            generations: AtomicU64::new(0),
            connect_timeout,
            transport,
        }
    }

    /// The generation of the open stream to `leader`, opening one if there is none or the last
    /// one ended.
    pub(crate) fn stream_to(&self, raft: &Raft, leader: u64) -> u64 {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(stream) = streams.get(&leader)
            && !stream.queue.is_closed()
        {
            return stream.generation;
        }
        let generation = 1 + self.generations.fetch_add(1, Ordering::Relaxed);
        let (queue, pending) = mpsc::unbounded_channel();
        let deadline = Instant::now() + self.connect_timeout;
        tokio::spawn(run(
            raft.clone(),
            self.transport.clone(),
            leader,
            pending,
            deadline,
        ));
        streams.insert(leader, Stream { generation, queue });
        generation
    }

    /// Queues `command` on the stream of `generation` to `leader`; if that stream has ended (or
    /// was replaced), the write is not sent and `on_failure` is called at once.
    pub(crate) fn send(
        &self,
        leader: u64,
        generation: u64,
        command: Vec<u8>,
        on_failure: OnFailure,
    ) {
        let forwarded = Forwarded {
            command,
            on_failure,
        };
        let streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let refused = match streams.get(&leader) {
            Some(stream) if stream.generation == generation => stream.queue.send(forwarded).err(),
            _ => Some(mpsc::error::SendError(forwarded)),
        };
        drop(streams);
        if let Some(mpsc::error::SendError(forwarded)) = refused {
            (forwarded.on_failure)("the stream of writes to the leader has ended".into());
        }
    }
}

/// Writes sent and not yet answered, by sequence number.
type InFlight = Arc<Mutex<HashMap<u64, OnFailure>>>;

/// How long answers of a leader that was replaced are still awaited.
const DEPOSED_LEADER_GRACE: Duration = Duration::from_millis(200);

/// How often a stream that could not reach its leader looks for one again.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Runs one stream until it breaks, its leader is replaced or the forwarder is gone; then every
/// write in flight or still queued is failed. While nothing has been sent, a leader that cannot
/// be reached is not a failure: the stream goes to whichever member leads next (the writes keep
/// their order), until `deadline`.
async fn run(
    raft: Raft,
    transport: Transport,
    mut leader: u64,
    mut pending: mpsc::UnboundedReceiver<Forwarded>,
    deadline: Instant,
) {
    let in_flight: InFlight = Arc::default();
    let reason = loop {
        match transport
            .connect(leader, leader_addr(&raft, leader).as_deref())
            .await
        {
            Ok(conn) => {
                break match carry(&raft, leader, conn, &mut pending, &in_flight).await {
                    Ok(reason) => reason,
                    Err(e) => format!("the stream of writes to member {leader} broke: {e}"),
                };
            }
            Err(e) if Instant::now() >= deadline => break e.to_string(),
            Err(_) => {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                let metrics = raft.metrics().borrow_watched().clone();
                match metrics.current_leader {
                    Some(next) if next == metrics.id => {
                        break "this member became the leader".to_string();
                    }
                    Some(next) => leader = next,
                    None => {}
                }
            }
        }
    };
    tracing::debug!(leader, %reason, "stream of forwarded writes ended");
    pending.close();
    let unanswered: Vec<OnFailure> = in_flight
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .map(|(_, f)| f)
        .collect();
    for on_failure in unanswered {
        on_failure(reason.clone());
    }
    while let Ok(forwarded) = pending.try_recv() {
        (forwarded.on_failure)(reason.clone());
    }
}

/// The quorum address of `leader` in the membership this member knows.
fn leader_addr(raft: &Raft, leader: u64) -> Option<String> {
    let metrics = raft.metrics();
    let now = metrics.borrow_watched();
    let node = now.membership_config.membership().get_node(&leader)?;
    quorum_addr(&node.spec)
}

/// Sends queued writes and reads answers until one side ends; the reason it ended.
async fn carry(
    raft: &Raft,
    leader: u64,
    conn: PeerStream,
    pending: &mut mpsc::UnboundedReceiver<Forwarded>,
    in_flight: &InFlight,
) -> io::Result<String> {
    let (mut reader, mut writer) = tokio::io::split(conn);
    write_frame(&mut writer, &PeerRequest::WriteStream).await?;
    let mut metrics = raft.server_metrics();
    let sending = send_batches(&mut writer, pending, in_flight);
    let answers = read_answers(&mut reader, in_flight);
    tokio::pin!(answers);
    let leader_changed = async {
        while metrics.borrow_and_update().current_leader == Some(leader) {
            if metrics.changed().await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        sent = sending => return sent.map(|()| "this member is shutting down".to_string()),
        read = &mut answers => {
            return read.map(|()| format!("member {leader} closed the stream of writes"));
        }
        () = leader_changed => {}
    }
    // A deposed leader that still runs answers what it had begun (or refuses it) at once; one
    // that is cut off would leave the writes waiting: give up on it after a short grace.
    let settled = async {
        while !in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        read = answers => read?,
        () = settled => {}
        () = tokio::time::sleep(DEPOSED_LEADER_GRACE) => {}
    }
    Ok(format!("member {leader} no longer leads"))
}

async fn send_batches(
    writer: &mut WriteHalf<PeerStream>,
    pending: &mut mpsc::UnboundedReceiver<Forwarded>,
    in_flight: &InFlight,
) -> io::Result<()> {
    let mut next_seq = 0u64;
    while let Some(first) = pending.recv().await {
        let mut batch = Vec::new();
        {
            let mut flight = in_flight.lock().unwrap_or_else(|e| e.into_inner());
            let mut add = |forwarded: Forwarded| {
                next_seq += 1;
                flight.insert(next_seq, forwarded.on_failure);
                batch.push((next_seq, forwarded.command));
            };
            add(first);
            while let Ok(forwarded) = pending.try_recv() {
                add(forwarded);
            }
        }
        write_frame(writer, &PeerRequest::Writes(batch)).await?;
    }
    Ok(())
}

async fn read_answers(reader: &mut ReadHalf<PeerStream>, in_flight: &InFlight) -> io::Result<()> {
    while let Some(response) = read_frame::<_, PeerResponse>(reader).await? {
        let PeerResponse::Written(answers) = response else {
            return Err(io::Error::other(
                "unexpected answer on the stream of writes",
            ));
        };
        let failed: Vec<(OnFailure, String)> = {
            let mut flight = in_flight.lock().unwrap_or_else(|e| e.into_inner());
            answers
                .into_iter()
                .filter_map(|(seq, outcome)| {
                    let on_failure = flight.remove(&seq)?;
                    outcome.err().map(|reason| (on_failure, reason))
                })
                .collect()
        };
        for (on_failure, reason) in failed {
            on_failure(reason);
        }
    }
    Ok(())
}

/// The leader's end of a stream opened with [`PeerRequest::WriteStream`]: proposes every write in
/// arrival order without waiting for it, and answers each once applied (or refused).
pub(crate) async fn serve(conn: PeerStream, raft: Raft) -> io::Result<()> {
    let (mut reader, mut writer) = tokio::io::split(conn);
    let (answer, mut answers) = mpsc::unbounded_channel::<(u64, Result<(), String>)>();
    let proposing = async {
        while let Some(request) = read_frame::<_, PeerRequest>(&mut reader).await? {
            let PeerRequest::Writes(batch) = request else {
                return Err(io::Error::other(
                    "unexpected request on the stream of writes",
                ));
            };
            for (seq, command) in batch {
                let answer = answer.clone();
                let responder = CallbackResponder::new(move |result: Result<_, _>| {
                    let _ = answer.send((seq, result.map(|_| ()).map_err(|e| format!("{e}"))));
                });
                raft.client_write_ff(Command(command), Some(responder))
                    .await
                    .map_err(io::Error::other)?;
            }
        }
        Ok(())
    };
    let answering = async {
        while let Some(first) = answers.recv().await {
            let mut batch = vec![first];
            while let Ok(next) = answers.try_recv() {
                batch.push(next);
            }
            write_frame(&mut writer, &PeerResponse::Written(batch)).await?;
        }
        Ok::<(), io::Error>(())
    };
    tokio::select! {
        proposed = proposing => proposed,
        answered = answering => answered,
    }
}
