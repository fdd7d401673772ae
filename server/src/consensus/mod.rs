//! Replicated log behind the server: every write goes through here.
//!
//! The rest of the server sees only this module's API: a [`StateMachine`] it implements, and a
//! [`Consensus`] handle to propose commands, wait for `sync`, and read the member's role. Raft itself
//! (openraft) stays inside this module; none of its types appear in the public API.
//!
//! Layout:
//! - `error` — [`ConsensusError`] and [`SnapshotError`].
//! - `typ` — the Raft type configuration, declared once, with short aliases.
//! - `log_store/` — the durable log under `dataLogDir`: checksummed append-only segments, group commit,
//!   vote and committed index.
//! - `disk_space` — a full volume: writes wait for space (and clients' writes are refused) meanwhile.
//! - `snapshot_store` — snapshot files under `dataDir` and their retention.
//! - `state_machine` — the adapter from Raft's state machine to our [`StateMachine`].
//! - `network/` — the peer protocol on the quorum port (framing, outgoing client, incoming listener,
//!   the ordered stream of forwarded writes).
//! - `leader_watch` — a follower's watch on its leader's process: a leader whose quorum port
//!   refuses connections is replaced at once, without waiting for the election timeout.
//! - `membership` — membership changes (reconfig) with joint consensus, on the leader.
//! - `events` — roles and configurations as they change, logged in ZooKeeper's words.
//! - `sync_phase` — how far a follower has caught up with its leader (Apache's Zab phases
//!   synchronization and broadcast), from the leader's commit index in its append-entries.
//! - `transfer` — leadership handed to a synced follower on request (before a restart).
//! - `bootstrap` — a first start: join the existing ensemble, or found a new one.
//! - `node` — start-up, bootstrap and the [`Consensus`] handle.
//! - `fuzzing` (feature `fuzzing`) — the peer and log decoders, for the fuzz targets.
//! - `offline` — a member's storage while no server runs on it: seeded with a state (an import),
//!   or read back to the state it would start with (an export).

mod background;
mod bootstrap;
mod codec;
mod disk_space;
mod error;
mod events;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod leader_watch;
mod log_store;
mod membership;
mod network;
mod node;
pub mod offline;
mod snapshot_store;
mod state_machine;
mod sync_phase;
mod transfer;
mod typ;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::{ConsensusError, SnapshotError, TransferError};
pub use node::Consensus;
pub use sync_phase::Phase;

/// Called once, with the reason, when a submitted write failed or its outcome became unknown.
pub type OnFailure = Box<dyn FnOnce(String) + Send>;

/// Serializes a state frozen by [`StateMachine::freeze`] into a writer, piece by piece (a snapshot
/// goes to its file without being held whole in memory); callable again, with the same result,
/// if a write failed.
pub type SnapshotEncoder = Box<dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + Send>;

/// Deterministic application state driven by the replicated log.
pub trait StateMachine: Send + Sync + 'static {
    /// Applies one committed command, on every member, in log order. Returns the reply bytes for the proposer.
    /// `zxid` = (term << 32) | (log index & 0xffff_ffff): deterministic on every replica.
    fn apply(&self, zxid: i64, command: &[u8]) -> Vec<u8>;
    /// A membership entry was applied; `zxid` is the new config version (it becomes /zookeeper/config's text
    /// `server.<id>=<spec>` lines + `version=<hex zxid>` and its mzxid).
    fn apply_membership(&self, zxid: i64, members: &[Member]);
    /// Takes a consistent copy of the whole state (tree, sessions, last applied zxid), cheap enough
    /// to take between two applies; the encoder it returns serializes that copy and may run while
    /// later entries are applied.
    fn freeze(&self) -> SnapshotEncoder;
    /// Serializes the whole state at once, in memory.
    fn snapshot(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.freeze()(&mut bytes).expect("writing to memory does not fail");
        bytes
    }
    /// Replaces the state with a snapshot.
    fn restore(&self, snapshot: &[u8]) -> Result<(), SnapshotError>;
}

/// One ensemble member as the consensus layer knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// The server id (`N` in `server.N=`, the content of `myid`).
    pub id: u64,
    /// Apache server spec after `server.N=`, e.g. `127.0.0.1:2888:3888:participant;127.0.0.1:2181`.
    pub spec: String,
    /// True for a participant (votes), false for an observer or a joiner still catching up (learner).
    pub voter: bool,
}

/// The member's role, in Apache's words (as `srvr` prints them after `Mode:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Leads the ensemble: orders and commits every write.
    Leader,
    /// A voter that follows the leader.
    Follower,
    /// A non-voting member that follows the leader (an observer, or a joiner not yet added).
    Observer,
    /// No leader known: an election is running or the member is cut off from the quorum.
    Looking,
}

impl Role {
    /// The word Apache prints for this role (`leader`, `follower`, `observer`, `looking`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Observer => "observer",
            Role::Looking => "looking",
        }
    }
}

/// Where a session's pipelined writes go: to this member's own log as leader, or on one stream
/// to the leader. Writes submitted on one route enter the log in submission order; a session that
/// changes route waits until its writes on the old one are settled (applied or failed), so that a
/// write can never commit after an earlier one of the same session was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The leader the writes go to.
    leader: u64,
    /// The stream to it (0 when this member leads).
    stream: u64,
}

/// How one member keeps up with the leader, as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The member (its `voter` flag tells a follower from an observer or a joiner).
    pub member: Member,
    /// Connected and caught up with the leader.
    pub synced: bool,
}

/// What the consensus layer needs from the server configuration.
#[derive(Debug, Clone)]
pub struct ConsensusOptions {
    /// This member's id (`myid`).
    pub my_id: u64,
    /// `dataDir`: snapshots are written here.
    pub data_dir: PathBuf,
    /// `dataLogDir` (defaults to `dataDir`): the Raft log, vote and committed index are written here.
    pub data_log_dir: PathBuf,
    /// Initial membership from the config (`server.N=` lines); used only on first start. It must
    /// list this member. The member listens on the quorum port of its own spec; a standalone
    /// server (no `server.N=` lines) lists itself with a spec without ports (e.g. empty).
    pub members: Vec<Member>,
    /// `quorumListenOnAllIPs`: listen on the quorum port of every address of the host, not only
    /// on the one the host of this member's own spec resolves to.
    pub listen_on_all_ips: bool,
    /// `tickTime`: the unit of every timeout below.
    pub tick_time: Duration,
    /// `initLimit`, in ticks.
    pub init_limit: u32,
    /// `syncLimit`, in ticks: the election timeout is derived from it.
    pub sync_limit: u32,
    /// `snapCount`: a snapshot is taken every this many log entries.
    pub snap_count: u64,
    /// `autopurge.snapRetainCount`: how many snapshots are kept on disk.
    pub snap_retain_count: u32,
    /// `forceSync`: fsync every batch of log writes before reporting it written.
    pub force_sync: bool,
    /// TLS on the quorum port (`sslQuorum`, `portUnification`); plain TCP without it.
    pub quorum_tls: Option<Arc<crate::tls::QuorumTls>>,
    /// Quorum SASL (`quorum.auth.*`): members authenticate to each other on every new connection;
    /// none without it.
    pub quorum_sasl: Option<Arc<crate::sasl::QuorumSasl>>,
}

#[cfg(test)]
mod tests;
