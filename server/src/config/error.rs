//! Why a configuration could not be loaded: each error names the key or file at fault.

use std::path::PathBuf;

use thiserror::Error;

use super::server_spec::ServerSpecError;

/// A configuration that stops start-up.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A key has a value of the wrong kind or out of range.
    #[error("invalid value {value:?} for {key}: {reason}")]
    InvalidValue {
        /// The configuration key (as written in zoo.cfg or as a system property).
        key: String,
        /// The offending value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A `server.N` line is malformed.
    #[error("{key}: {source}")]
    ServerSpec {
        /// The key, `server.N`.
        key: String,
        /// Apache's description of the problem.
        #[source]
        source: ServerSpecError,
    },
    /// A required key is missing or the keys contradict each other (Apache's wording).
    #[error("{0}")]
    Invalid(String),
}
