//! A ZooKeeper-compatible server.
//!
//! Layout, from the outside in:
//! - `config` — `zoo.cfg`, its dynamic file, `myid` and `-Dzookeeper.*` system properties.
//! - `net` — the client listener: connection limits, framing, the connect handshake, per-connection
//!   request dispatch, notifications and pings; `pipeline` — a session's requests in flight,
//!   answered in ZooKeeper's order.
//! - `session` — session ids, passwords, and the leader's session tracker (expiry).
//! - `fourlw` — the four-letter words (`ruok`, `srvr`, `mntr`, ...).
//! - `admin` — the AdminServer (HTTP `/commands/<name>`); `metrics` — Prometheus `/metrics`.
//! - `state` — the replicated state machine; `ops` — one module per request type; `tree` — the data
//!   tree; `acl` — access control; `watch` — watches and notifications.
//! - `consensus` — the replicated log every write goes through; `reconfig` — membership changes
//!   requested by clients (op 16).
//! - `apache_data` — Apache ZooKeeper's snapshots and transaction logs: import and export;
//!   `backup` — a running member's snapshot fetched through the AdminServer and kept.
//! - `server` — wiring it all together; `shutdown` — graceful shutdown; `summary` — count, sum,
//!   min and max of a stream of values (latencies, batch sizes, fsync times); `quantiles` — their
//!   quantiles over the last ten minutes; `logging` — what the log shows and how.

pub mod acl;
pub mod admin;
pub mod apache_data;
pub mod backup;
pub mod config;
pub mod consensus;
pub mod fourlw;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod ops;
pub mod pipeline;
pub mod quantiles;
pub mod reconfig;
pub mod sasl;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod state;
pub mod summary;
pub mod tls;
pub mod tree;
pub mod watch;
