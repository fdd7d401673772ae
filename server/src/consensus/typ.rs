//! The Raft type configuration, declared once, and the short aliases used across the module.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One opaque command of the replicated state machine, as proposed by the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Command(pub(crate) Vec<u8>);

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "command({} bytes)", self.0.len())
    }
}

/// What Raft stores about a member in a membership entry: its Apache server spec, from which
/// the peer address (host and quorum port) is taken, and its place in the printed configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredPeerNode", into = "StoredPeerNode")]
pub(crate) struct PeerNode {
    /// The spec after `server.N=`, e.g. `127.0.0.1:2888:3888:participant;127.0.0.1:2181`.
    pub(crate) spec: String,
    /// Removed by a membership change, or an observer that joined and is not added yet: still
    /// replicated to (as Apache keeps a removed server following), but not a member.
    pub(crate) departed: bool,
    /// Its line's place in the configuration text when that is not id order (Apache's order
    /// after an incremental reconfig); `None` for id order.
    pub(crate) rank: Option<u8>,
}

impl PeerNode {
    /// A current member with this spec, listed in id order.
    pub(crate) fn new(spec: &str) -> PeerNode {
        PeerNode::ranked(spec, None)
    }

    /// A current member with this spec and place in the configuration text.
    pub(crate) fn ranked(spec: &str, rank: Option<u8>) -> PeerNode {
        PeerNode {
            spec: spec.to_string(),
            departed: false,
            rank,
        }
    }
}

/// The highest rank [`StoredPeerNode`] can hold; larger memberships are listed in id order.
pub(crate) const MAX_RANK: usize = 126;

/// [`PeerNode`] as stored and sent: the spec and one byte whose bit 0 is `departed` and whose
/// other bits are `rank + 1` (0: no rank). Entries written before ranks existed held `departed`
/// as a bool in that byte (0 or 1) and decode unchanged; an entry with a rank is only written for
/// a configuration whose order is not id order.
#[derive(Serialize, Deserialize)]
struct StoredPeerNode(String, u8);

impl From<StoredPeerNode> for PeerNode {
    fn from(StoredPeerNode(spec, flags): StoredPeerNode) -> PeerNode {
        PeerNode {
            spec,
            departed: flags & 1 == 1,
            rank: (flags >> 1).checked_sub(1),
        }
    }
}

impl From<PeerNode> for StoredPeerNode {
    fn from(node: PeerNode) -> StoredPeerNode {
        let rank = node.rank.map_or(0, |rank| rank.min(MAX_RANK as u8) + 1);
        StoredPeerNode(node.spec, (rank << 1) | u8::from(node.departed))
    }
}

/// Hands the result of a write proposed without waiting for it (`client_write_ff`) to a callback:
/// a pipelined write is answered when it is applied, so its proposer only needs to hear of
/// failures, and no task waits on a channel per write.
pub(crate) struct CallbackResponder<T>(Box<dyn FnOnce(T) + Send>);

impl<T> CallbackResponder<T> {
    /// A responder that calls `callback` with the result.
    pub(crate) fn new(callback: impl FnOnce(T) + Send + 'static) -> CallbackResponder<T> {
        CallbackResponder(Box::new(callback))
    }
}

impl<T: Send + 'static> openraft::raft::responder::Responder<TypeConfig, T>
    for CallbackResponder<T>
{
    fn on_complete(self, result: T) {
        (self.0)(result)
    }
}

/// Raft types of the ZooKeeper server: opaque command bytes in, reply bytes out, writes answered
/// through [`CallbackResponder`]s. Written out in full (openraft's `declare_raft_types!` takes no
/// generic responder); the other types are openraft's defaults.
#[derive(Debug, Clone, Copy, Default, Eq, PartialEq, Ord, PartialOrd)]
pub(crate) struct TypeConfig {}

impl openraft::RaftTypeConfig for TypeConfig {
    type D = Command;
    type R = Vec<u8>;
    type NodeId = u64;
    type Node = PeerNode;
    type Term = u64;
    type LeaderId = openraft::impls::leader_id_adv::LeaderId<u64, u64>;
    type Vote = openraft::impls::Vote<Self::LeaderId>;
    type Payload = openraft::EntryPayload<Self::D, Self::NodeId, Self::Node>;
    type Entry =
        openraft::Entry<<Self::LeaderId as openraft::vote::RaftLeaderId>::Committed, Self::Payload>;
    type AsyncRuntime = openraft::impls::TokioRuntime;
    type Responder<T>
        = CallbackResponder<T>
    where
        T: openraft::OptionalSend + 'static;
    type Batch<T>
        = openraft::impls::InlineBatch<T>
    where
        T: openraft::OptionalSend + 'static;
    type ErrorSource = openraft::impls::BoxedErrorSource;
}

pub(crate) type Raft =
    openraft::Raft<TypeConfig, crate::consensus::state_machine::StateMachineAdapter>;
pub(crate) type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;
pub(crate) type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
pub(crate) type Vote = openraft::type_config::alias::VoteOf<TypeConfig>;
pub(crate) type Membership = openraft::Membership<u64, PeerNode>;
pub(crate) type StoredMembership = openraft::type_config::alias::StoredMembershipOf<TypeConfig>;
pub(crate) type SnapshotMeta = openraft::type_config::alias::SnapshotMetaOf<TypeConfig>;
pub(crate) type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, Vec<u8>>;
pub(crate) type LogState = openraft::LogState<TypeConfig>;
pub(crate) type IoFlushed = openraft::storage::IOFlushed<TypeConfig>;
pub(crate) type RaftMetrics = openraft::RaftMetrics<TypeConfig>;
/// The part of Raft's metrics that changes only with the vote, the role, the leader or the membership:
/// what waits for such a change watches this, not [`RaftMetrics`], which changes with every write.
pub(crate) type RaftServerMetrics = openraft::metrics::RaftServerMetrics<TypeConfig>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::codec;

    /// `PeerNode` as entries written before ranks existed stored it.
    #[derive(Serialize)]
    struct PeerNodeWithoutRank {
        spec: String,
        departed: bool,
    }

    #[test]
    fn nodes_stored_before_ranks_existed_decode_unchanged() {
        for departed in [false, true] {
            let old = PeerNodeWithoutRank {
                spec: "h:1:2:participant".into(),
                departed,
            };
            let node: PeerNode = codec::decode(&codec::encode(&old).unwrap()).unwrap();
            assert_eq!(node.spec, "h:1:2:participant");
            assert_eq!(node.departed, departed);
            assert_eq!(node.rank, None);
        }
    }

    #[test]
    fn an_unranked_node_is_stored_as_before_and_a_ranked_one_round_trips() {
        let plain = PeerNode::new("h:1:2:participant");
        let old = PeerNodeWithoutRank {
            spec: "h:1:2:participant".into(),
            departed: false,
        };
        assert_eq!(codec::encode(&plain).unwrap(), codec::encode(&old).unwrap());
        for rank in [0, 1, 5, MAX_RANK as u8] {
            let mut node = PeerNode::ranked("h:1:2:participant", Some(rank));
            node.departed = rank % 2 == 1;
            let back: PeerNode = codec::decode(&codec::encode(&node).unwrap()).unwrap();
            assert_eq!(back, node);
        }
    }
}
