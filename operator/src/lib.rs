//! Kubernetes operator for elastic ZooKeeper ensembles.
//!
//! Layout:
//! - [`types`]: the `ZkEnsemble` custom resource (spec and status).
//! - [`ensemble_config`]: the dynamic configuration text of `/zookeeper/config`.
//! - [`member_ids`]: the id ranges of voters and observers.
//! - [`planner`]: the pure decision of the next step from desired and observed state.
//! - [`validate`]: checks of a spec beyond what its schema enforces.
//! - [`images`]: the default member image of each flavour, and the check that an image runs its flavour.
//! - [`resources`]: one builder per Kubernetes kind the operator creates.
//! - [`zk`]: the adapter over the ZooKeeper client and the four-letter-word reader.
//! - [`controller`]: fetch → validate → plan → build → apply → status, and the controller's wiring.
//! - [`metrics`], [`leader_election`], [`http`]: the operator process around the controller.

pub mod controller;
pub mod ensemble_config;
pub mod http;
pub mod images;
pub mod leader_election;
pub mod member_ids;
pub mod metrics;
pub mod planner;
pub mod resources;
pub mod types;
pub mod validate;
pub mod zk;

/// Everything a reconcile can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What the operator was doing.
        action: &'static str,
        /// The client's error.
        source: kube::Error,
    },
    /// Talking to the ensemble failed.
    #[error(transparent)]
    ZooKeeper(#[from] zk::ZkError),
    /// The spec cannot be acted on.
    #[error(transparent)]
    InvalidSpec(#[from] validate::InvalidSpec),
    /// The Secret of `spec.auth.saslUsersSecret` is missing or cannot make a JAAS file.
    #[error("SASL users secret {secret}: {reason}")]
    SaslUsers {
        /// Secret name.
        secret: String,
        /// What is wrong.
        reason: String,
    },
    /// A Secret the operator reads (credentials, TLS) exists but lacks a key.
    #[error("secret {secret} has no {key:?} key")]
    Credentials {
        /// Secret name.
        secret: String,
        /// The missing key.
        key: &'static str,
    },
    /// A certificate could not be issued.
    #[error(transparent)]
    Tls(#[from] resources::tls::TlsError),
}

impl Error {
    /// Label of the error in metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube { .. } => "kube",
            Error::ZooKeeper(e) => e.label(),
            Error::InvalidSpec(_) => "invalid_spec",
            Error::Credentials { .. } => "credentials",
            Error::Tls(_) => "tls",
            Error::SaslUsers { .. } => "sasl_users",
        }
    }
}

/// Result of reconcile steps.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps a Kubernetes client error with what the operator was doing.
pub(crate) fn kube_err(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Kube { action, source }
}
