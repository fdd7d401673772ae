//! The error every helper returns.

use std::time::Duration;

/// What went wrong in an end-to-end step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What the test was doing.
        action: String,
        /// The client's error.
        source: kube::Error,
    },
    /// A command could not be started.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// A command exited unsuccessfully.
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its standard error, or output when that is empty.
        output: String,
    },
    /// A bounded wait ran out.
    #[error("timed out after {waited:?} waiting for {what}; last seen: {last}\n{diagnostics}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last observation that did not satisfy the wait.
        last: String,
        /// Ensemble status, Events and pod states at the time.
        diagnostics: String,
    },
    /// A ZooKeeper request failed.
    #[error("ZooKeeper at {address}: {source}")]
    ZooKeeper {
        /// Where the client was connected.
        address: String,
        /// The client's error.
        source: zookeeper_client::Error,
    },
    /// Something observed in the cluster is not what the scenario expects.
    #[error("{0}")]
    Unexpected(String),
}

/// Result of the end-to-end helpers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps a `kube::Error` to [`Error::Kube`] with the action that failed.
pub fn kube_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}
