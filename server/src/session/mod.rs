//! Sessions as the front of the server sees them: ids, passwords, and the leader's expiry tracker.
//!
//! Session records themselves (timeout, ephemerals) are replicated state; this module decides when a
//! session has been silent for too long and reports it so the leader can propose its close.
//!
//! - `id` — session ids shaped as Apache's: server id in the high byte, start time below.
//! - `password` — the 16-byte session password, derived from the id as Apache derives it.
//! - `tracker` — expiry buckets per tick, touched on every packet.
//! - `expiry` — the task that closes expired sessions while this member leads.

mod expiry;
mod id;
mod password;
mod tracker;

pub use expiry::{ExpiryHost, now_ms, run_expiry};
pub use id::{SessionIdGenerator, initial_session_id};
pub use password::{PASSWORD_LEN, session_password};
pub use tracker::{ExpiryBucket, SessionTracker};
