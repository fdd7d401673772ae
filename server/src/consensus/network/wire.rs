//! Messages between members and their framing: `u32 length (big-endian) | postcard message`.

use std::io;

use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, StreamAppendResult,
    TransferLeaderRequest, TransferLeaderResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::consensus::Member;
use crate::consensus::bootstrap::JoinAnswer;
use crate::consensus::codec;
use crate::consensus::membership::ChangeRefusal;
use crate::consensus::typ::{SnapshotMeta, TypeConfig, Vote};

/// The largest frame accepted: a whole snapshot travels in one frame.
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// A request from one member to another.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) enum PeerRequest {
    /// Raft: replicate entries, or heartbeat.
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    /// Raft: request a vote.
    Vote(VoteRequest<TypeConfig>),
    /// Raft: ask whether a vote would be granted, without disturbing the term.
    PreVote(VoteRequest<TypeConfig>),
    /// Raft: install a whole snapshot.
    Snapshot {
        /// The leader's vote.
        vote: Vote,
        /// What the snapshot covers.
        meta: SnapshotMeta,
        /// The state machine's bytes.
        data: Vec<u8>,
    },
    /// Raft: take over leadership from the sender.
    TransferLeader(TransferLeaderRequest<TypeConfig>),
    /// A write forwarded by a member that does not lead.
    Propose(Vec<u8>),
    /// Turns the connection into an ordered stream of forwarded writes (`write_stream`).
    WriteStream,
    /// Writes on a stream, in submission order, each with its sequence number.
    Writes(Vec<(u64, Vec<u8>)>),
    /// Turns the connection into a leader watch (`leader_watch`): the receiver holds it open and
    /// answers nothing, so that its end tells the sender the receiver's process may be gone.
    Watch,
    /// The leader's current commit point, confirmed with a quorum (for `sync`).
    ReadIndex,
    /// Sessions of clients connected to the sender that were active since its last report: the
    /// leader, which decides expiry, pushes their deadlines back.
    SessionsActive(Vec<i64>),
    /// A member starting with an empty log asks to join the ensemble.
    Join {
        /// The joiner's id.
        id: u64,
        /// The joiner's Apache server spec.
        spec: String,
    },
    /// A membership change forwarded to the leader.
    ChangeMembership {
        /// The whole new membership.
        members: Vec<Member>,
        /// The config version it was computed from, if it must still be current.
        expected_version: Option<i64>,
    },
    /// The sender, leading in `term`, is about to hand leadership over (`transfer`): requests
    /// should wait for its successor rather than go to it.
    HandingOver {
        /// The sender's id.
        leader: u64,
        /// Its term.
        term: u64,
    },
    /// Turns the connection into a pipelined stream of append-entries (`append_stream`).
    AppendStream,
}

/// The answer to a [`PeerRequest`].
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) enum PeerResponse {
    /// Answer to [`PeerRequest::AppendEntries`].
    AppendEntries(AppendEntriesResponse<TypeConfig>),
    /// Answer to [`PeerRequest::Vote`] and [`PeerRequest::PreVote`].
    Vote(VoteResponse<TypeConfig>),
    /// Answer to [`PeerRequest::Snapshot`].
    Snapshot(SnapshotResponse<TypeConfig>),
    /// Answer to [`PeerRequest::TransferLeader`].
    TransferLeader(TransferLeaderResponse<TypeConfig>),
    /// The forwarded write is committed at `index`; `reply` is the leader's apply output.
    Proposed {
        /// Log index of the entry.
        index: u64,
        /// What the state machine returned for it.
        reply: Vec<u8>,
    },
    /// Outcomes of writes on a stream, by sequence number: applied, or why not.
    Written(Vec<(u64, Result<(), String>)>),
    /// Everything up to `index` was committed when the request arrived.
    ReadIndex {
        /// Log index to wait for.
        index: u64,
    },
    /// The leader took [`PeerRequest::SessionsActive`] into account.
    SessionsNoted,
    /// Answer to [`PeerRequest::Join`].
    Joined(JoinAnswer),
    /// Outcome of [`PeerRequest::ChangeMembership`]: the new config version, or why not.
    MembershipChanged(Result<i64, ChangeRefusal>),
    /// The receiver does not lead; `leader` is the one it knows of.
    NotLeader {
        /// The current leader, if known.
        leader: Option<u64>,
    },
    /// The receiver failed the request.
    Failed(String),
    /// Answer to [`PeerRequest::HandingOver`].
    HandoverNoted,
    /// The receiver takes append-entries on this connection as a stream (`append_stream`).
    AppendStreamOpen,
    /// The outcome of one append-entries on a stream, in the order they were sent.
    Appended(StreamAppendResult<TypeConfig>),
}

/// Writes one framed message.
pub(crate) async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    out: &mut W,
    message: &T,
) -> io::Result<()> {
    let mut frame = Vec::new();
    push_frame(&mut frame, message)?;
    out.write_all(&frame).await?;
    out.flush().await
}

/// Appends one framed message to `frames`, to be written with others at once.
pub(crate) fn push_frame<T: Serialize>(frames: &mut Vec<u8>, message: &T) -> io::Result<()> {
    let body = codec::encode(message)?;
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    frames.reserve(4 + body.len());
    frames.extend_from_slice(&len.to_be_bytes());
    frames.extend_from_slice(&body);
    Ok(())
}

/// Reads one framed message; `Ok(None)` when the peer closed the connection between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin, T: serde::de::DeserializeOwned>(
    input: &mut R,
) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("peer frame of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    input.read_exact(&mut body).await?;
    codec::decode(&body).map(Some)
}
