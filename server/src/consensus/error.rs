//! Errors of the consensus layer.

/// A command could not be proposed, or the consensus layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// No leader is known right now (election running, or cut off from the quorum); retry later.
    #[error("no leader is known")]
    NoLeader,
    /// The leader could not be reached to forward a request.
    #[error("leader {leader_id} is unreachable: {reason}")]
    LeaderUnreachable {
        /// The member believed to lead.
        leader_id: u64,
        /// Why the forward failed.
        reason: String,
    },
    /// The member is shutting down or has shut down.
    #[error("consensus is shut down")]
    Shutdown,
    /// Reading or writing the log, the vote or a snapshot failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The configuration given to `start` is unusable.
    #[error("invalid consensus configuration: {0}")]
    Config(String),
    /// A membership change was based on another config version than the current one (`-v`).
    #[error("the config version is {current:#x}, not the expected one")]
    BadVersion {
        /// The current config version (the zxid of the membership entry in force).
        current: i64,
    },
    /// Another membership change is still being committed.
    #[error("a membership change is in progress")]
    ReconfigInProgress,
    /// A new member could not connect and catch up with the leader in time.
    #[error("the new config has no quorum: {0}")]
    NewConfigNoQuorum(String),
    /// The requested membership is not usable (e.g. no voter left).
    #[error("invalid membership: {0}")]
    InvalidMembership(String),
    /// Raft refused or failed the request for another reason.
    #[error("consensus error: {0}")]
    Raft(String),
}

/// A snapshot could not be restored (corrupt or from an incompatible version).
#[derive(Debug, thiserror::Error)]
#[error("invalid snapshot: {0}")]
pub struct SnapshotError(pub String);

/// Leadership could not be handed over ([`Consensus::transfer_leadership`](super::Consensus::transfer_leadership)).
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// This member does not lead; the leader it knows of, if any.
    #[error("this member does not lead (leader: {leader:?})")]
    NotLeader {
        /// The member believed to lead.
        leader: Option<u64>,
    },
    /// The requested member is not in the configuration.
    #[error("member {0} is not in the configuration")]
    UnknownMember(u64),
    /// The requested member does not vote (an observer, or a joiner not added yet).
    #[error("member {0} is not a voter")]
    NotVoter(u64),
    /// The requested member is not connected and caught up with the leader.
    #[error("member {0} is not synced with the leader")]
    NotSynced(u64),
    /// No voter but the leader is connected and caught up.
    #[error("no other voter is synced with the leader")]
    NoSyncedFollower,
    /// No other member took over in time (an election follows, as after any silent leader).
    #[error("no other member took over within {0:?}")]
    TimedOut(std::time::Duration),
    /// The member is shutting down or has shut down.
    #[error("consensus is shut down")]
    Shutdown,
}
