//! The outgoing side of the peer protocol: Raft's network for one target member, also used to
//! forward writes and read-index requests to the leader.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use futures::{FutureExt, Stream, StreamExt};
use openraft::base::{BoxFuture, BoxStream};
use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2, stream_append_sequential};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, StreamAppendResult,
    TransferLeaderRequest, TransferLeaderResponse, VoteRequest, VoteResponse,
};

use super::append_stream::{self, AppendConn, STREAM_RETRY_AFTER};
use super::quorum_addr;
use super::transport::{PeerStream, Transport};
use super::wire::{PeerRequest, PeerResponse, read_frame, write_frame};
use crate::consensus::typ::{PeerNode, Snapshot, TypeConfig, Vote};

/// How many times openraft's time limit an append-entries that carries entries may take.
/// openraft gives every append-entries the heartbeat interval (a quarter of the shortest election
/// timeout: 62 ms at tickTime 500), enough for a heartbeat but not for a payload of thousands of
/// entries to a member that fell behind (encoded, sent, decoded and appended on a busy machine):
/// such a call timed out every time and was sent again whole, and the member never caught up.
/// Eight times is the longest election timeout; heartbeats travel separately meanwhile.
const PAYLOAD_TIME_FACTOR: u32 = 8;

/// How long the answer to `rpc` may take, given openraft's limit `hard_ttl`: that limit for a
/// heartbeat, [`PAYLOAD_TIME_FACTOR`] times it for a request that carries entries.
pub(crate) fn append_time_limit(
    rpc: &AppendEntriesRequest<TypeConfig>,
    hard_ttl: Duration,
) -> Duration {
    match rpc.entries.is_empty() {
        true => hard_ttl,
        false => hard_ttl * PAYLOAD_TIME_FACTOR,
    }
}

/// Why a call to a peer failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// No connection could be opened (peer down, or no address in its spec).
    #[error("member {target} is unreachable: {source}")]
    Unreachable {
        /// The member called.
        target: u64,
        /// The connect error.
        source: io::Error,
    },
    /// The connection failed or timed out during the call.
    #[error("call to member {target} failed: {source}")]
    Network {
        /// The member called.
        target: u64,
        /// The I/O error.
        source: io::Error,
    },
}

impl CallError {
    /// The error as openraft takes it.
    pub(crate) fn into_rpc(self) -> RPCError<TypeConfig> {
        match self {
            CallError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&self)),
            CallError::Network { .. } => RPCError::Network(NetworkError::new(&self)),
        }
    }
}

/// Creates a [`PeerClient`] per target, as Raft asks for them.
pub(crate) struct PeerNetwork(pub(crate) Transport);

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &PeerNode) -> PeerClient {
        PeerClient::new(target, &node.spec, &self.0)
    }
}

/// One connection to one peer for calls, opened on first use and re-opened after an error, and
/// one for append-entries streams (`append_stream`), kept between streams that end cleanly.
pub(crate) struct PeerClient {
    target: u64,
    addr: Option<String>,
    transport: Transport,
    conn: Option<PeerStream>,
    append: Option<AppendConn>,
    /// When the peer last closed a stream at its opening (it predates streams).
    streams_refused_at: Option<Instant>,
}

impl PeerClient {
    /// A client for member `target` whose Apache server spec is `spec`, connecting over `transport`.
    pub(crate) fn new(target: u64, spec: &str, transport: &Transport) -> PeerClient {
        PeerClient {
            target,
            addr: quorum_addr(spec),
            transport: transport.clone(),
            conn: None,
            append: None,
            streams_refused_at: None,
        }
    }

    /// The open append stream, or a new one; `None` while the peer does not take streams.
    async fn append_conn(
        &mut self,
        wait: Duration,
    ) -> Result<Option<AppendConn>, RPCError<TypeConfig>> {
        if let Some(conn) = self.append.take() {
            return Ok(Some(conn));
        }
        if self
            .streams_refused_at
            .is_some_and(|at| at.elapsed() < STREAM_RETRY_AFTER)
        {
            return Ok(None);
        }
        let target = self.target;
        let opened =
            append_stream::open(&self.transport, target, self.addr.as_deref(), wait).await?;
        match &opened {
            Some(_) => self.streams_refused_at = None,
            None => {
                tracing::info!(
                    member = target,
                    "the member does not take append streams: replicating to it one call at a time"
                );
                self.streams_refused_at = Some(Instant::now());
            }
        }
        Ok(opened)
    }

    /// Sends one request and waits at most `timeout` for its answer.
    pub(crate) async fn call(
        &mut self,
        request: &PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, CallError> {
        let target = self.target;
        let network = |source| CallError::Network { target, source };
        if self.conn.is_none() {
            self.conn = Some(self.transport.connect(target, self.addr.as_deref()).await?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        let exchange = async {
            write_frame(conn, request).await?;
            read_frame::<_, PeerResponse>(conn).await?.ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed the connection")
            })
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time")),
        };
        if result.is_err() {
            // The stream may hold half a frame: never reuse it.
            self.conn = None;
        }
        result.map_err(network)
    }

    async fn rpc(
        &mut self,
        request: PeerRequest,
        option: &RPCOption,
    ) -> Result<PeerResponse, RPCError<TypeConfig>> {
        self.call(&request, option.hard_ttl())
            .await
            .map_err(CallError::into_rpc)
    }
}

/// The error for an answer of the wrong kind (or a failure reported by the peer).
fn unexpected_answer(response: PeerResponse) -> NetworkError<TypeConfig> {
    let what = match response {
        PeerResponse::Failed(reason) => reason,
        _ => "unexpected answer from peer".to_string(),
    };
    NetworkError::new(&io::Error::other(what))
}

fn unexpected(response: PeerResponse) -> RPCError<TypeConfig> {
    RPCError::Network(unexpected_answer(response))
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let timeout = append_time_limit(&rpc, option.hard_ttl());
        let response = self
            .call(&PeerRequest::AppendEntries(rpc), timeout)
            .await
            .map_err(CallError::into_rpc)?;
        match response {
            PeerResponse::AppendEntries(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }

    fn stream_append<'s, S>(
        &'s mut self,
        input: S,
        option: RPCOption,
    ) -> BoxFuture<
        's,
        Result<
            BoxStream<'s, Result<StreamAppendResult<TypeConfig>, RPCError<TypeConfig>>>,
            RPCError<TypeConfig>,
        >,
    >
    where
        S: Stream<Item = AppendEntriesRequest<TypeConfig>> + Send + Unpin + 'static,
    {
        Box::pin(async move {
            let mut input = input;
            let Some(first) = input.next().await else {
                return Ok(Box::pin(futures::stream::empty()) as BoxStream<'s, _>);
            };
            // A heartbeat is a stream of one request without entries: it is sent as a call on
            // the ordinary connection, as before streams. On a stream of its own, a heartbeat
            // late by more than its time limit (one heartbeat interval, which also covers opening
            // the stream) would close that stream's connection and have the next one open anew.
            let second = input.next().now_or_never();
            let ended = matches!(second, Some(None));
            let heartbeat = ended && first.entries.is_empty();
            let requests = futures::stream::iter(std::iter::once(first).chain(second.flatten()));
            if heartbeat {
                return stream_append_sequential(self, requests, option).await;
            }
            // An input that has ended is not polled again.
            let rest = futures::stream::iter((!ended).then_some(input)).flatten();
            let input = requests.chain(rest);
            match self.append_conn(option.hard_ttl()).await? {
                Some(conn) => Ok(append_stream::pipeline(
                    conn,
                    input,
                    option.hard_ttl(),
                    &mut self.append,
                )),
                None => stream_append_sequential(self, input, option).await,
            }
        })
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.rpc(PeerRequest::Vote(rpc), &option).await? {
            PeerResponse::Vote(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.rpc(PeerRequest::PreVote(rpc), &option).await? {
            PeerResponse::Vote(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let request = PeerRequest::Snapshot {
            vote,
            meta: snapshot.meta,
            data: snapshot.snapshot,
        };
        let response = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            response = self.call(&request, option.hard_ttl()) => response,
        };
        match response {
            Ok(PeerResponse::Snapshot(response)) => Ok(response),
            Ok(other) => Err(StreamingError::Network(unexpected_answer(other))),
            Err(e @ CallError::Unreachable { .. }) => {
                Err(StreamingError::Unreachable(Unreachable::new(&e)))
            }
            Err(e @ CallError::Network { .. }) => {
                Err(StreamingError::Network(NetworkError::new(&e)))
            }
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.rpc(PeerRequest::TransferLeader(req), &option).await? {
            PeerResponse::TransferLeader(response) => Ok(response),
            other => Err(unexpected(other)),
        }
    }
}
