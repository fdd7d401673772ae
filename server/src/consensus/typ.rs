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

openraft::declare_raft_types!(
    /// Raft types of the ZooKeeper server: opaque command bytes in, reply bytes out.
    pub(crate) TypeConfig:
        D = Command,
        R = Vec<u8>,
        NodeId = u64,
        Node = PeerNode,
);

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
