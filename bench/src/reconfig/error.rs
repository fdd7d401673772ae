//! Why a reconfiguration measurement could not be made.

use std::time::Duration;

use zk_proto::ErrorCode;

use crate::launch::LaunchError;
use crate::session::SessionError;
use crate::wait::TimedOut;

/// Why a round of the reconfiguration benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconfigError {
    /// A member could not be started.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A request was answered with an error code.
    #[error("{what} failed with error {code}{}", name.map(|n| format!(" ({n:?})")).unwrap_or_default())]
    Rejected {
        /// The request, e.g. `reconfig -remove 3`.
        what: String,
        /// The error code.
        code: i32,
        /// Its name, when known.
        name: Option<ErrorCode>,
    },
    /// Something awaited did not happen in time.
    #[error("{what}: not after {waited:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it was awaited.
        waited: Duration,
    },
    /// A reply or a state did not say what it should have.
    #[error("{0}")]
    Unexpected(String),
}

impl ReconfigError {
    /// The error for `what` answered with `code`.
    pub fn rejected(what: impl Into<String>, code: i32) -> Self {
        ReconfigError::Rejected {
            what: what.into(),
            code,
            name: ErrorCode::from_i32(code),
        }
    }

    /// Whether the request may succeed if sent again a little later (the leader does not count the joiner
    /// as synced yet, or the previous change is still being committed).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ReconfigError::Rejected {
                name: Some(ErrorCode::NewConfigNoQuorum | ErrorCode::ReconfigInProgress),
                ..
            }
        )
    }
}

impl From<TimedOut> for ReconfigError {
    fn from(TimedOut { what, waited }: TimedOut) -> Self {
        ReconfigError::Timeout { what, waited }
    }
}
