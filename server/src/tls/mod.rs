//! TLS as Apache configures it: the `ssl.*` / `ssl.quorum.*` settings, key and trust stores (PEM,
//! PKCS12, JKS), the rustls configuration they make, and reloading it when the store files change.
//!
//! - `settings` — the properties and their defaults.
//! - `store` — reading key and trust stores.
//! - `jks` — the JKS file format.
//! - `verifier` — certificate checks (webpki, and X.509 version 1 certificates).
//! - `server_config` — settings → `rustls::ServerConfig` (protocols, cipher suites, client auth).
//! - `client_config` — settings → `rustls::ClientConfig`, for a member connecting to another.
//! - `quorum` — mutual TLS between members (`sslQuorum`, `portUnification`).
//! - `reload` — the configuration in force, rebuilt when a store file changes.
//! - `client_name` — the subject of a client certificate as Java's `X500Principal.getName()` writes it.

mod client_config;
mod client_name;
mod jks;
mod quorum;
mod reload;
mod server_config;
mod settings;
mod store;
mod verifier;

use std::path::PathBuf;

pub use client_name::{subject_name, x500_name_is_valid};
pub use quorum::QuorumTls;
pub use reload::ReloadingServerConfig;
pub use server_config::server_config;
pub use settings::{CLIENT_PREFIX, ClientAuth, QUORUM_PREFIX, StoreSettings, TlsSettings};
pub use store::StoreType;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A setting has a value this server does not accept.
    #[error("{0}")]
    Setting(String),
    /// A store file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A store's content is unusable (format, password, missing entry).
    #[error("{0}")]
    Store(String),
    /// rustls refused the configuration (e.g. a key that does not match its certificate).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}
