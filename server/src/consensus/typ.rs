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
/// the peer address (host and quorum port) is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerNode {
    /// The spec after `server.N=`, e.g. `127.0.0.1:2888:3888:participant;127.0.0.1:2181`.
    pub(crate) spec: String,
    /// Removed by a membership change: still replicated to (as Apache keeps a removed server
    /// following), but not a member any more.
    pub(crate) departed: bool,
}

impl PeerNode {
    /// A current member with this spec.
    pub(crate) fn new(spec: &str) -> PeerNode {
        PeerNode {
            spec: spec.to_string(),
            departed: false,
        }
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
