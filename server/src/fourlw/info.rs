//! What the four-letter words and the AdminServer report, as plain data gathered by the server.

use std::net::SocketAddr;

use crate::config::ServerConfig;
use crate::session::ExpiryBucket;
use crate::summary::QuantileFigures;

/// The server's mode, as `srvr` prints it after `Mode:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A single server not configured as a quorum peer.
    Standalone,
    /// The ensemble's leader (also a one-member ensemble with `standaloneEnabled=false`).
    Leader,
    /// A voting follower.
    Follower,
    /// A non-voting member.
    Observer,
    /// No leader known: not serving.
    Looking,
    /// No leader known, and `readonlymode.enabled`: serving read-only sessions.
    ReadOnly,
}

impl Mode {
    /// Apache's word for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            Mode::Looking => "looking",
            Mode::ReadOnly => "read-only",
        }
    }

    /// `zk_peer_state` of `mntr` (Apache's `QuorumPeer.getDetailedPeerState`): the peer state,
    /// then the Zab phase once past the election — a follower or observer is in
    /// `synchronization` while it catches up with its leader. `None` where Apache prints no
    /// such line: a standalone server, and a member in read-only mode (Apache's read-only server
    /// is no quorum server).
    pub fn peer_state(self, synchronizing: bool) -> Option<&'static str> {
        match (self, synchronizing) {
            (Mode::Standalone | Mode::ReadOnly, _) => None,
            (Mode::Looking, _) => Some("looking"),
            (Mode::Leader, _) => Some("leading - broadcast"),
            (Mode::Follower, true) => Some("following - synchronization"),
            (Mode::Follower, false) => Some("following - broadcast"),
            (Mode::Observer, true) => Some("observing - synchronization"),
            (Mode::Observer, false) => Some("observing - broadcast"),
        }
    }
}

/// Server-wide request counters (Apache's `ServerStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Lowest request latency in ms (0 before the first request).
    pub min_latency_ms: u64,
    /// Mean request latency in ms.
    pub avg_latency_ms: f64,
    /// Highest request latency in ms.
    pub max_latency_ms: u64,
    /// Packets received from clients.
    pub packets_received: u64,
    /// Packets sent to clients.
    pub packets_sent: u64,
    /// Requests received but not yet answered.
    pub outstanding_requests: u64,
    /// Open client connections.
    pub alive_connections: u64,
    /// Bytes received from clients.
    pub bytes_received: u64,
    /// Authentication failures.
    pub auth_failed: u64,
    /// Connections refused for the per-IP limit.
    pub connections_rejected: u64,
    /// Frames refused for exceeding `jute.maxbuffer`.
    pub large_requests_rejected: u64,
    /// Bytes of the last, smallest and largest response sent to a client (-1 before any).
    pub client_response_sizes: (i64, i64, i64),
    /// Bytes of all responses and notifications sent to clients.
    pub response_bytes: u64,
    /// Bytes of the watch notifications sent to clients.
    pub watch_bytes: u64,
    /// Connect requests received.
    pub connection_requests: u64,
    /// Plain (non-TLS) connections accepted from loopback addresses.
    pub non_mtls_local_connections: u64,
    /// Plain (non-TLS) connections accepted from other hosts.
    pub non_mtls_remote_connections: u64,
    /// Latencies in ms of the requests without a transaction: reads and pings (`readlatency`).
    pub read_latency: QuantileFigures,
    /// Latencies in ms of the requests with a transaction: writes (`updatelatency`).
    pub update_latency: QuantileFigures,
}

/// One client connection (Apache's `ServerCnxn.dumpConnectionInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionInfo {
    /// The client's address.
    pub remote: SocketAddr,
    /// True for a connection whose handshake completed (Apache shows interest ops 1, otherwise 0).
    pub reading: bool,
    /// Requests in flight.
    pub outstanding: u64,
    /// Packets received.
    pub received: u64,
    /// Packets sent.
    pub sent: u64,
    /// The session, once established.
    pub session: Option<ConnectionSession>,
}

/// Session details of a connection, for `cons`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSession {
    /// Session id.
    pub id: i64,
    /// Short name of the last operation (`NA` before any).
    pub last_operation: String,
    /// When the connection was established (ms since the epoch).
    pub established_ms: i64,
    /// Negotiated session timeout.
    pub timeout_ms: i32,
    /// Last client xid seen (-1 before any).
    pub last_cxid: i64,
    /// Last zxid sent to the client.
    pub last_zxid: i64,
    /// When the last response was sent (ms since the epoch).
    pub last_response_ms: i64,
    /// Latency of the last request.
    pub last_latency_ms: u64,
    /// Lowest latency.
    pub min_latency_ms: u64,
    /// Mean latency (integer, as Apache prints it per connection).
    pub avg_latency_ms: u64,
    /// Highest latency.
    pub max_latency_ms: u64,
}

/// Data tree and watch counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataSummary {
    /// Znodes, including `/zookeeper` and its children.
    pub znode_count: u64,
    /// Ephemeral znodes.
    pub ephemerals_count: u64,
    /// Sum of path and data lengths.
    pub approximate_data_size: u64,
    /// Watches in total.
    pub watch_count: u64,
    /// Paths with at least one data watch (`wchs`, which leaves child watches out as Apache does).
    pub watched_paths: u64,
    /// Sessions with at least one data watch.
    pub watching_sessions: u64,
    /// Data watches in total.
    pub data_watches: u64,
    /// Live sessions (replicated).
    pub global_sessions: u64,
}

/// Quorum figures (Apache's leader metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuorumSummary {
    /// Voting followers in sync with the leader.
    pub synced_followers: u64,
    /// Non-voting followers in sync.
    pub synced_non_voting_followers: u64,
    /// Observers in sync.
    pub synced_observers: u64,
    /// Connected learners.
    pub learners: u64,
    /// Votes needed for a quorum.
    pub quorum_size: u64,
    /// Bytes of the last, smallest and largest proposal (-1 before any).
    pub proposal_sizes: (i64, i64, i64),
    /// Proposals made since start.
    pub proposal_count: u64,
    /// Milliseconds since this member became leader.
    pub leader_uptime_ms: u64,
    /// Leader elections the ensemble has held (the Raft term); 0 for a standalone server.
    pub elections: u64,
}

/// The write path's figures (Apache's `ServerMetrics` of its sync and commit processors).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WritePathSummary {
    /// Entries per pass of the log writer, one fsync each (`sync_processor_batch_size`).
    pub log_batch_sizes: QuantileFigures,
    /// Milliseconds per fsync of the log (`fsynctime`).
    pub fsync_ms: QuantileFigures,
    /// Entries this member proposed as leader that were committed (`commit_count`).
    pub commit_count: u64,
}

/// Everything the reports need, supplied by the running server.
pub trait ServerInfo: Send + Sync {
    /// The configuration in force.
    fn config(&self) -> &ServerConfig;
    /// The current mode.
    fn mode(&self) -> Mode;
    /// True while the member serves requests as Apache's would: it knows a leader and has caught
    /// up with it, or it is in read-only mode.
    fn is_serving(&self) -> bool;
    /// True while the member follows a leader but has not caught up with it yet (Apache's
    /// synchronization phase): `srvr` and the like then answer that it is not serving, as
    /// Apache's do, while `mntr` reports the phase.
    fn synchronizing(&self) -> bool;
    /// True while clients' writes are refused with NotReadOnly: in read-only mode, or while the
    /// member's data or log volume is full.
    fn is_read_only(&self) -> bool;
    /// The port clients connect to (as bound).
    fn client_port(&self) -> u16;
    /// Request counters.
    fn stats(&self) -> StatsSnapshot;
    /// Resets the latency, packet and write-path counters (`srst`).
    fn reset_stats(&self);
    /// Open client connections.
    fn connections(&self) -> Vec<ConnectionInfo>;
    /// Resets every connection's counters (`crst`).
    fn reset_connection_stats(&self);
    /// Last zxid applied here.
    fn last_zxid(&self) -> i64;
    /// Tree, watch and session counts.
    fn data_summary(&self) -> DataSummary;
    /// Quorum figures (meaningful on a leader).
    fn quorum_summary(&self) -> QuorumSummary;
    /// Log writer and commit figures.
    fn write_path(&self) -> WritePathSummary;
    /// Watched paths, each with the sessions watching it.
    fn watches_by_path(&self) -> Vec<(String, Vec<i64>)>;
    /// Watching sessions, each with its watched paths.
    fn watches_by_session(&self) -> Vec<(i64, Vec<String>)>;
    /// Sessions owning ephemerals, each with its ephemeral paths.
    fn ephemerals(&self) -> Vec<(i64, Vec<String>)>;
    /// The session tracker's expiry buckets.
    fn session_buckets(&self) -> Vec<ExpiryBucket>;
    /// The committed membership text (`server.N=...` lines and `version=`), as `/zookeeper/config` holds it.
    fn membership_text(&self) -> String;
    /// Milliseconds since the server started.
    fn uptime_ms(&self) -> u64;
    /// The current leader's id, when one is known.
    fn leader_id(&self) -> Option<u64>;
}
