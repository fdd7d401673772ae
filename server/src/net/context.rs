//! What every connection shares: configuration, the replicated state, the consensus handle, the session
//! tracker, counters and the connection registry.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::limiter::ConnectionLimiter;
use super::registry::Registry;
use super::stats::ServerStats;
use crate::config::ServerConfig;
use crate::consensus::{Consensus, ConsensusError, Role};
use crate::session::{SessionIdGenerator, SessionTracker, now_ms};
use crate::state::{Command, Outcome, ZkState};

/// The server as connections see it.
pub struct Context {
    /// The configuration in force.
    pub config: ServerConfig,
    /// The replicated state.
    pub state: Arc<ZkState>,
    /// The replicated log.
    pub consensus: Arc<Consensus>,
    /// Session deadlines.
    pub tracker: Arc<SessionTracker>,
    /// New session ids.
    pub session_ids: SessionIdGenerator,
    /// Server-wide counters.
    pub stats: ServerStats,
    /// Open connections.
    pub registry: Registry,
    /// `maxClientCnxns`.
    pub limiter: ConnectionLimiter,
    /// The port the listener bound (differs from the configured one when that was 0).
    pub client_port: AtomicU16,
    /// When the server started.
    pub started: Instant,
    /// When this member last became leader.
    pub leader_since: Mutex<Option<Instant>>,
}

/// Why a proposal did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    /// The log refused or lost it (no quorum, shutting down).
    #[error(transparent)]
    Consensus(#[from] ConsensusError),
    /// The outcome bytes did not decode.
    #[error("undecodable outcome: {0}")]
    Outcome(#[from] zk_proto::DecodeError),
}

impl Context {
    /// Builds the shared context.
    pub fn new(config: ServerConfig, state: Arc<ZkState>, consensus: Arc<Consensus>) -> Context {
        let server_id = config.server_id();
        Context {
            tracker: Arc::new(SessionTracker::new(config.tick_time_ms)),
            session_ids: SessionIdGenerator::new(server_id, now_ms()),
            stats: ServerStats::default(),
            registry: Registry::default(),
            limiter: ConnectionLimiter::new(config.max_client_cnxns),
            client_port: AtomicU16::new(config.client_address.as_ref().map_or(0, |a| a.port)),
            started: Instant::now(),
            leader_since: Mutex::new(None),
            config,
            state,
            consensus,
        }
    }

    /// Proposes a command and decodes its outcome.
    pub async fn propose(&self, command: Command) -> Result<Outcome, ProposeError> {
        let bytes = command.encode();
        self.stats.proposals.record(bytes.len());
        let reply = self.consensus.propose(bytes).await?;
        Ok(Outcome::decode(&reply)?)
    }

    /// Closes a session through the log, then its connection.
    pub async fn close_session(&self, session_id: i64) -> Result<Outcome, ProposeError> {
        self.tracker.remove(session_id);
        let outcome = self
            .propose(Command::CloseSession {
                session_id,
                time_ms: now_ms(),
            })
            .await;
        self.registry.close_session(session_id);
        outcome
    }

    /// The member's role.
    pub fn role(&self) -> Role {
        self.consensus.role()
    }

    /// Out of contact with a quorum for `syncLimit` ticks: read-write sessions are refused and
    /// their connections closed, so that clients move to a member that can serve them.
    pub fn cut_off(&self) -> bool {
        self.consensus.is_cut_off()
    }

    /// Read-only mode (`readonlymode.enabled`): a member of an ensemble that knows no leader serves
    /// read-only sessions from its own state until it rejoins a quorum.
    pub fn read_only(&self) -> bool {
        self.config.read_only_mode_enabled
            && self.config.is_distributed()
            && self.role() == Role::Looking
    }

    /// The port clients connect to.
    pub fn client_port(&self) -> u16 {
        self.client_port.load(Ordering::Relaxed)
    }
}
