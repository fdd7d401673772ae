//! A ZooKeeper-compatible server.
//!
//! Layout, from the outside in:
//! - `config` — `zoo.cfg`, its dynamic file, `myid` and `-Dzookeeper.*` system properties.
//! - `net` — the client listener: connection limits, framing, the connect handshake, per-connection
//!   request dispatch in FIFO order, notifications and pings.
//! - `session` — session ids, passwords, and the leader's session tracker (expiry).
//! - `fourlw` — the four-letter words (`ruok`, `srvr`, `mntr`, ...).
//! - `admin` — the AdminServer (HTTP `/commands/<name>`).
//! - `consensus` — the replicated log every write goes through.
//! - `server` — wiring it all together; `shutdown` — graceful shutdown.

pub mod config;
pub mod consensus;
pub mod fourlw;
pub mod session;
pub mod shutdown;
