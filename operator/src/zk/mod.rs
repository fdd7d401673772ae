//! Talking to a running ensemble: the committed configuration and reconfig through the `zookeeper-client`
//! crate, each member's role and sync state through the `mntr` four-letter word and whether it refuses writes
//! through `isro`, and a leader's hand-over through `zk-server`'s AdminServer. Client-port connections go over
//! TLS when the ensemble has no plain client port (`transport`). Every call is bounded by a timeout.

mod admin;
mod ensemble;
mod four_letter;
mod transport;

pub use admin::{TRANSFER_TIMEOUT, leader_transfer};
pub use ensemble::EnsembleClient;
pub use four_letter::{MemberState, mntr, parse_mntr, refuses_writes};
pub use transport::{Endpoint, Transport, Tunnel};

use crate::ensemble_config::ConfigParseError;

/// A failure talking to an ensemble or one of its members.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// The call did not finish in time.
    #[error("{0} timed out")]
    Timeout(&'static str),
    /// The ZooKeeper client reported an error.
    #[error("{call}: {source}")]
    Client {
        /// Which call failed.
        call: &'static str,
        /// The client's error.
        source: zookeeper_client::Error,
    },
    /// A socket error in a four-letter-word or AdminServer exchange.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS material does not make a client configuration.
    #[error("TLS: {0}")]
    TlsSetup(String),
    /// A member's pod has no IP address to reach its server at.
    #[error("member {0} has no pod address")]
    NoAddress(u32),
    /// An HTTP exchange with a member's AdminServer failed.
    #[error("AdminServer: {0}")]
    Http(hyper::Error),
    /// A member's AdminServer refused a command.
    #[error("{command} answered {status}: {reason}")]
    Admin {
        /// The command.
        command: &'static str,
        /// The HTTP status.
        status: u16,
        /// What the member said.
        reason: String,
    },
    /// The committed configuration text could not be parsed.
    #[error("committed configuration: {0}")]
    Config(#[from] ConfigParseError),
    /// The configuration changed under a conditional reconfig, and not into the wanted one.
    #[error("configuration moved from version {expected:x} to {found:x} without the wanted change")]
    ConfigMoved {
        /// Version the reconfig was conditioned on.
        expected: i64,
        /// Version found afterwards.
        found: i64,
    },
}

impl ZkError {
    /// Short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ZkError::Timeout(_) => "timeout",
            ZkError::Client { .. } => "client",
            ZkError::Io(_) => "io",
            ZkError::TlsSetup(_) => "tls_setup",
            ZkError::NoAddress(_) => "no_address",
            ZkError::Http(_) => "http",
            ZkError::Admin { .. } => "admin",
            ZkError::Config(_) => "config",
            ZkError::ConfigMoved { .. } => "config_moved",
        }
    }
}
