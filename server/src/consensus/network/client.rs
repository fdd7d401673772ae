//! The outgoing side of the peer protocol: Raft's network for one target member, also used to
//! forward writes and read-index requests to the leader.

use std::future::Future;
use std::io;
use std::time::Duration;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};

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
    fn into_rpc(self) -> RPCError<TypeConfig> {
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

/// One connection to one peer, opened on first use and re-opened after an error.
pub(crate) struct PeerClient {
    target: u64,
    addr: Option<String>,
    transport: Transport,
    conn: Option<PeerStream>,
}

impl PeerClient {
    /// A client for member `target` whose Apache server spec is `spec`, connecting over `transport`.
    pub(crate) fn new(target: u64, spec: &str, transport: &Transport) -> PeerClient {
        PeerClient {
            target,
            addr: quorum_addr(spec),
            transport: transport.clone(),
            conn: None,
        }
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
        let timeout = if rpc.entries.is_empty() {
            option.hard_ttl()
        } else {
            option.hard_ttl() * PAYLOAD_TIME_FACTOR
        };
        let response = self
            .call(&PeerRequest::AppendEntries(rpc), timeout)
            .await
            .map_err(CallError::into_rpc)?;
        match response {
            PeerResponse::AppendEntries(response) => Ok(response),
            other => Err(unexpected(other)),
        }
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
