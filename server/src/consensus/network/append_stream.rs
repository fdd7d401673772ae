//! Replication on a pipelined stream: the leader sends a member its append-entries one after
//! another on a connection of their own, without waiting for the answer to the previous one, and
//! the member appends them in arrival order and answers each, in the same order, once it is
//! durable (as Apache's leader streams proposals to each follower). A write thus leaves for the
//! followers as soon as the leader has it, instead of waiting for the round trip of the batch
//! before it, and a follower's fsync of one batch overlaps the arrival of the next.
//!
//! The connection is opened with [`PeerRequest::AppendStream`], which the member acknowledges
//! with [`PeerResponse::AppendStreamOpen`]; requests are then [`PeerRequest::AppendEntries`]
//! frames and answers [`PeerResponse::Appended`] frames. A member that answers the opening by
//! closing the connection predates streams: append-entries then go to it one call at a time on
//! the ordinary connection, and a stream is tried again after [`STREAM_RETRY_AFTER`] (a member
//! upgraded meanwhile gets streams back).
//!
//! A stream that ends cleanly (every request answered) leaves its connection for the next one;
//! one that fails, times out, meets a refusal (a log conflict, a higher vote), or is dropped
//! with answers outstanding closes it, since answers still on their way could be taken for the
//! next stream's.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use openraft::base::BoxStream;
use openraft::errors::{NetworkError, RPCError};
use openraft::raft::{AppendEntriesRequest, StreamAppendError, StreamAppendResult};
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use super::client::{CallError, append_time_limit};
use super::transport::{PeerStream, Transport};
use super::wire::{MAX_FRAME, PeerRequest, PeerResponse, push_frame, write_frame};
use crate::consensus::codec;
use crate::consensus::sync_phase::LeaderContact;
use crate::consensus::typ::{Raft, TypeConfig};

/// How many append-entries may be unanswered on one stream. It bounds what a member holds for
/// the leader (and so what either side buffers while the other is slow).
const MAX_IN_FLIGHT: usize = 64;

/// How long a member that closed a stream at its opening gets its append-entries one call at a
/// time before a stream is tried again.
pub(crate) const STREAM_RETRY_AFTER: Duration = Duration::from_secs(30);

/// An open stream's connection: frames read as they come, requests written whole.
pub(crate) struct AppendConn {
    reader: FramedRead<ReadHalf<PeerStream>, LengthDelimitedCodec>,
    writer: WriteHalf<PeerStream>,
}

/// The framing of `wire` (`u32` big-endian length, then the message) as a codec.
fn frames() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// Reads the next message of a framed stream; `Ok(None)` when the peer closed it.
async fn next_message<T: serde::de::DeserializeOwned>(
    reader: &mut FramedRead<ReadHalf<PeerStream>, LengthDelimitedCodec>,
) -> io::Result<Option<T>> {
    match reader.next().await {
        Some(frame) => codec::decode(&frame?).map(Some),
        None => Ok(None),
    }
}

/// Opens a stream to member `target` at `addr`, waiting at most `wait` for its acknowledgement.
/// `Ok(None)` when the member closed the connection instead: it does not take streams.
pub(crate) async fn open(
    transport: &Transport,
    target: u64,
    addr: Option<&str>,
    wait: Duration,
) -> Result<Option<AppendConn>, RPCError<TypeConfig>> {
    let stream = transport
        .connect(target, addr)
        .await
        .map_err(CallError::into_rpc)?;
    let (read, mut writer) = tokio::io::split(stream);
    let mut reader = FramedRead::new(read, frames());
    let opening = async {
        write_frame(&mut writer, &PeerRequest::AppendStream).await?;
        next_message::<PeerResponse>(&mut reader).await
    };
    match tokio::time::timeout(wait, opening).await {
        Ok(Ok(Some(PeerResponse::AppendStreamOpen))) => Ok(Some(AppendConn { reader, writer })),
        Ok(Ok(None)) => Ok(None),
        Ok(Ok(Some(_))) => Err(network_error(io::Error::other(
            "unexpected answer to the opening of an append stream",
        ))),
        Ok(Err(e)) => Err(network_error(e)),
        Err(_) => Err(network_error(io::Error::new(
            io::ErrorKind::TimedOut,
            "no answer in time to the opening of an append stream",
        ))),
    }
}

fn network_error(e: io::Error) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::new(&e))
}

/// What one stream's output yields.
type Answer = Result<StreamAppendResult<TypeConfig>, RPCError<TypeConfig>>;

/// Sends `input` on `conn` as it comes and yields the member's answers in order. Each answer
/// must come within its request's time limit (`client::append_time_limit` of `hard_ttl`) of the
/// previous answer (or of its request when none was outstanding). Once every request is answered
/// and `input` has ended, the connection goes back to `slot` for the next stream.
pub(crate) fn pipeline<'s, S>(
    conn: AppendConn,
    input: S,
    hard_ttl: Duration,
    slot: &'s mut Option<AppendConn>,
) -> BoxStream<'s, Answer>
where
    S: Stream<Item = AppendEntriesRequest<TypeConfig>> + Send + Unpin + 'static,
{
    let pipe = Pipe {
        conn,
        input: Some(input),
        in_flight: VecDeque::new(),
        waiting_since: Instant::now(),
        hard_ttl,
        slot,
    };
    Box::pin(futures::stream::unfold(Some(pipe), |pipe| async move {
        let mut pipe = pipe?;
        match pipe.step().await {
            Step::Answer(Ok(answer)) => {
                let more = answer.is_ok().then_some(pipe);
                Some((Ok(answer), more))
            }
            Step::Answer(Err(e)) => Some((Err(e), None)),
            Step::Done => {
                *pipe.slot = Some(pipe.conn);
                None
            }
        }
    }))
}

/// One stream in progress.
struct Pipe<'s, S> {
    conn: AppendConn,
    /// `None` once the input has ended.
    input: Option<S>,
    /// The time limit of each unanswered request, oldest first.
    in_flight: VecDeque<Duration>,
    /// Since when the oldest unanswered request has been awaited.
    waiting_since: Instant,
    /// openraft's time limit for one request.
    hard_ttl: Duration,
    slot: &'s mut Option<AppendConn>,
}

/// What a step of a stream came to.
enum Step {
    Answer(Answer),
    Done,
}

impl<S> Pipe<'_, S>
where
    S: Stream<Item = AppendEntriesRequest<TypeConfig>> + Unpin,
{
    /// Sends what the input has until the next answer arrives (or the stream is over).
    async fn step(&mut self) -> Step {
        loop {
            if self.input.is_none() && self.in_flight.is_empty() {
                return Step::Done;
            }
            let accepting = self.input.is_some() && self.in_flight.len() < MAX_IN_FLIGHT;
            let deadline = self.waiting_since + self.in_flight.front().copied().unwrap_or_default();
            tokio::select! {
                biased;
                answer = next_message::<PeerResponse>(&mut self.conn.reader),
                    if !self.in_flight.is_empty() => {
                    self.in_flight.pop_front();
                    self.waiting_since = Instant::now();
                    return Step::Answer(match answer {
                        Ok(Some(PeerResponse::Appended(result))) => Ok(result),
                        Ok(Some(PeerResponse::Failed(reason))) => {
                            Err(network_error(io::Error::other(reason)))
                        }
                        Ok(Some(_)) => Err(network_error(io::Error::other(
                            "unexpected answer on an append stream",
                        ))),
                        Ok(None) => Err(network_error(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the member closed the append stream",
                        ))),
                        Err(e) => Err(network_error(e)),
                    });
                }
                () = tokio::time::sleep_until(deadline.into()), if !self.in_flight.is_empty() => {
                    return Step::Answer(Err(network_error(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no answer in time on the append stream",
                    ))));
                }
                request = next_request(&mut self.input), if accepting => match request {
                    Some(rpc) => {
                        let ttl = append_time_limit(&rpc, self.hard_ttl);
                        let request = PeerRequest::AppendEntries(rpc);
                        if let Err(e) = write_frame(&mut self.conn.writer, &request).await {
                            return Step::Answer(Err(network_error(e)));
                        }
                        if self.in_flight.is_empty() {
                            self.waiting_since = Instant::now();
                        }
                        self.in_flight.push_back(ttl);
                    }
                    None => self.input = None,
                },
            }
        }
    }
}

/// The next request of `input`; never ready once it has ended.
async fn next_request<S: Stream + Unpin>(input: &mut Option<S>) -> Option<S::Item> {
    match input {
        Some(input) => input.next().await,
        None => std::future::pending().await,
    }
}

/// The member's end of a stream opened with [`PeerRequest::AppendStream`]: hands the requests to
/// Raft in arrival order as they come and answers each as Raft does (once durable), in order.
/// Ends when the leader closes the stream, or after an answer that refuses (a conflict, a higher
/// vote): Raft takes nothing more on that stream. Every request handed to Raft is followed to its
/// outcome, even once the leader has closed the stream or its answers cannot be sent: an accepted
/// append is contact with the leader (`LeaderContact`), as on the call path, where it is recorded
/// before the answer leaves.
pub(crate) async fn serve(
    conn: PeerStream,
    raft: Raft,
    contact: Arc<LeaderContact>,
) -> io::Result<()> {
    let (read, mut writer) = tokio::io::split(conn);
    let mut reader = FramedRead::new(read, frames());
    write_frame(&mut writer, &PeerResponse::AppendStreamOpen).await?;
    let (requests, pending) = mpsc::channel(MAX_IN_FLIGHT);
    // The leader's term and the commit count of each request handed over, in order.
    let (terms, mut answered) = mpsc::unbounded_channel::<(u64, u64)>();
    let arrivals = contact.clone();
    // Owns the senders: once it ends, Raft's input ends after what was handed over.
    let receiving = async move {
        while let Some(request) = next_message::<PeerRequest>(&mut reader).await? {
            let PeerRequest::AppendEntries(rpc) = request else {
                return Err(io::Error::other("unexpected request on an append stream"));
            };
            let term = rpc.vote.leader_id.term;
            arrivals.request_arrived(term);
            let committed = rpc.leader_commit.map_or(0, |c| c.index + 1);
            let _ = terms.send((term, committed));
            if requests.send(rpc).await.is_err() {
                break;
            }
        }
        Ok(())
    };
    let answering = async {
        let input = futures::stream::unfold(pending, |mut pending| async move {
            pending.recv().await.map(|rpc| (rpc, pending))
        });
        // Answers ready together (a group fsync makes several durable at once) leave together.
        let output = raft.stream_append(input).ready_chunks(MAX_IN_FLIGHT);
        tokio::pin!(output);
        let mut frames = Vec::new();
        let mut unsent: Option<io::Error> = None;
        while let Some(outcomes) = output.next().await {
            frames.clear();
            let mut ended = false;
            for outcome in outcomes {
                let Some((term, committed)) = answered.recv().await else {
                    ended = true;
                    break;
                };
                let result = match outcome {
                    Ok(result) => result,
                    Err(fatal) => {
                        push_frame(&mut frames, &PeerResponse::Failed(fatal.to_string()))?;
                        ended = true;
                        break;
                    }
                };
                if !matches!(result, Err(StreamAppendError::HigherVote(_))) {
                    contact.append_accepted(term, committed);
                }
                ended = result.is_err();
                push_frame(&mut frames, &PeerResponse::Appended(result))?;
                if ended {
                    break;
                }
            }
            if unsent.is_none()
                && let Err(e) = send_all(&mut writer, &frames).await
            {
                unsent = Some(e);
            }
            if ended {
                break;
            }
        }
        unsent.map_or(Ok(()), Err)
    };
    tokio::pin!(receiving, answering);
    tokio::select! {
        received = &mut receiving => {
            let answered = answering.await;
            received.and(answered)
        }
        answered = &mut answering => answered,
    }
}

/// Writes `frames` and flushes them.
async fn send_all(writer: &mut WriteHalf<PeerStream>, frames: &[u8]) -> io::Result<()> {
    writer.write_all(frames).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use futures::StreamExt;
    use openraft::EntryPayload;
    use openraft::network::{RPCOption, RaftNetworkV2};
    use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
    use openraft::testing::log_id;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::super::client::PeerClient;
    use super::super::transport::Transport;
    use super::super::wire::{PeerRequest, PeerResponse, read_frame, write_frame};
    use super::Answer;
    use crate::consensus::typ::{Entry, TypeConfig, Vote};

    /// A heartbeat of the leader of term 2.
    fn heartbeat() -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(2, 1),
            prev_log_id: None,
            leader_commit: None,
            entries: Vec::new(),
        }
    }

    /// A listener standing for member 2, and a client of it.
    async fn member_and_client() -> (TcpListener, PeerClient) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = PeerClient::new(2, &format!("127.0.0.1:{port}:3888"), &Transport::default());
        (listener, client)
    }

    /// Streams `count` heartbeats to the client's member; its answers.
    async fn heartbeats(client: &mut PeerClient, count: usize, ttl: Duration) -> Vec<Answer> {
        let requests = futures::stream::iter(std::iter::repeat_with(heartbeat).take(count));
        let answers = client.stream_append(requests, RPCOption::new(ttl)).await;
        answers.unwrap().collect().await
    }

    async fn next_request(conn: &mut TcpStream) -> PeerRequest {
        read_frame::<_, PeerRequest>(conn).await.unwrap().unwrap()
    }

    async fn send(conn: &mut TcpStream, response: PeerResponse) {
        write_frame(conn, &response).await.unwrap();
    }

    /// Answers the next request on `conn`, an append-entries call, with success.
    async fn answer_call(conn: &mut TcpStream) {
        let call = next_request(conn).await;
        assert!(matches!(call, PeerRequest::AppendEntries(_)));
        let success = AppendEntriesResponse::<TypeConfig>::Success;
        send(conn, PeerResponse::AppendEntries(success)).await;
    }

    /// The next connection to `listener`, once it asked for a stream (`open`: and got it).
    async fn stream_asked(listener: &TcpListener, open: bool) -> TcpStream {
        let (mut conn, _) = listener.accept().await.unwrap();
        let opening = next_request(&mut conn).await;
        assert!(matches!(opening, PeerRequest::AppendStream));
        if open {
            send(&mut conn, PeerResponse::AppendStreamOpen).await;
        }
        conn
    }

    #[tokio::test]
    async fn requests_leave_before_earlier_ones_are_answered_and_answers_come_in_order() {
        let (listener, mut client) = member_and_client().await;
        let member = tokio::spawn(async move {
            let mut conn = stream_asked(&listener, true).await;
            // All three arrive before any is answered: a client waiting for each answer would
            // never send the second.
            let mut terms = Vec::new();
            for _ in 0..3 {
                let PeerRequest::AppendEntries(rpc) = next_request(&mut conn).await else {
                    panic!("not an append-entries");
                };
                terms.push(rpc.vote.leader_id.term);
            }
            for _ in 0..3 {
                send(&mut conn, PeerResponse::Appended(Ok(None))).await;
            }
            // The connection stays for the next stream.
            for _ in 0..2 {
                let next = next_request(&mut conn).await;
                assert!(matches!(next, PeerRequest::AppendEntries(_)));
            }
            for _ in 0..2 {
                send(&mut conn, PeerResponse::Appended(Ok(None))).await;
            }
            terms
        });
        let ttl = Duration::from_secs(5);
        let answers = heartbeats(&mut client, 3, ttl).await;
        assert!(matches!(
            answers[..],
            [Ok(Ok(None)), Ok(Ok(None)), Ok(Ok(None))]
        ));
        let again = heartbeats(&mut client, 2, ttl).await;
        assert!(matches!(again[..], [Ok(Ok(None)), Ok(Ok(None))]));
        assert_eq!(member.await.unwrap(), vec![2, 2, 2]);
    }

    #[tokio::test]
    async fn a_member_silent_on_a_stream_fails_it_in_time_and_its_connection_is_dropped() {
        let (listener, mut client) = member_and_client().await;
        let member = tokio::spawn(async move {
            let mut silent = stream_asked(&listener, true).await;
            for _ in 0..2 {
                next_request(&mut silent).await;
            }
            // The second stream comes on a connection of its own; this one is closed.
            let mut next = stream_asked(&listener, true).await;
            next_request(&mut next).await;
            assert!(
                read_frame::<_, PeerRequest>(&mut silent)
                    .await
                    .unwrap()
                    .is_none()
            );
        });
        let started = Instant::now();
        let answers = heartbeats(&mut client, 2, Duration::from_millis(200)).await;
        assert!(matches!(answers[..], [Err(_)]), "{answers:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        // Answered by the member closing the connection once it has the request.
        let again = heartbeats(&mut client, 2, Duration::from_secs(5)).await;
        assert!(matches!(again[..], [Err(_)]), "{again:?}");
        member.await.unwrap();
    }

    #[tokio::test]
    async fn a_member_without_streams_gets_one_call_at_a_time() {
        let (listener, mut client) = member_and_client().await;
        let member = tokio::spawn(async move {
            // As a member that predates streams: it cannot read the opening and closes.
            let mut opening = stream_asked(&listener, false).await;
            opening.shutdown().await.unwrap();
            drop(opening);
            let (mut calls, _) = listener.accept().await.unwrap();
            for _ in 0..4 {
                answer_call(&mut calls).await;
            }
        });
        for _ in 0..2 {
            let answers = heartbeats(&mut client, 2, Duration::from_secs(5)).await;
            assert!(
                matches!(answers[..], [Ok(Ok(None)), Ok(Ok(None))]),
                "{answers:?}"
            );
        }
        member.await.unwrap();
    }

    #[tokio::test]
    async fn a_lone_request_with_entries_goes_on_a_stream() {
        let (listener, mut client) = member_and_client().await;
        let member = tokio::spawn(async move {
            let mut conn = stream_asked(&listener, true).await;
            let PeerRequest::AppendEntries(rpc) = next_request(&mut conn).await else {
                panic!("not an append-entries");
            };
            send(&mut conn, PeerResponse::Appended(Ok(None))).await;
            rpc.entries.len()
        });
        let mut rpc = heartbeat();
        rpc.entries = vec![Entry {
            log_id: log_id::<TypeConfig>(2, 1, 1),
            payload: EntryPayload::Blank,
        }];
        // As openraft's request streams, it must not be polled once it has ended.
        let requests = Box::pin(futures::stream::unfold(Some(rpc), |rpc| async move {
            rpc.map(|rpc| (rpc, None))
        }));
        let option = RPCOption::new(Duration::from_secs(5));
        let answers: Vec<Answer> = client
            .stream_append(requests, option)
            .await
            .unwrap()
            .collect()
            .await;
        assert!(matches!(answers[..], [Ok(Ok(None))]), "{answers:?}");
        assert_eq!(member.await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_lone_heartbeat_is_a_call_not_a_stream() {
        let (listener, mut client) = member_and_client().await;
        let member = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            // No stream is asked for: the heartbeat comes at once, on the ordinary connection.
            answer_call(&mut conn).await;
        });
        let answers = heartbeats(&mut client, 1, Duration::from_secs(5)).await;
        assert!(matches!(answers[..], [Ok(Ok(None))]), "{answers:?}");
        member.await.unwrap();
    }
}
