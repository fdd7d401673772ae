//! The client side of the server: listener, connections, handshake, request dispatch.
//!
//! - `listener` — accepts connections, `maxClientCnxns` per IP.
//! - `connection` — one connection: four-letter words, framing with `jute.maxbuffer`, reader and writer.
//! - `handshake` — the connect request: new, resumed, refused and expired sessions.
//! - `dispatch` — requests of one session in FIFO order: reads, writes, pings, auth, sync, close.
//! - `context` — what connections share.
//! - `registry` — open connections and the connection of each session.
//! - `limiter` — the per-IP connection limit.
//! - `secure` — TLS on `secureClientPort` (and port unification), identities of client certificates.
//! - `stream` — a connection's read and write halves, plain or TLS.
//! - `stats` — request counters.
//! - `report` — the four-letter words' and AdminServer's view of the running server.

mod connection;
mod context;
mod dispatch;
mod handshake;
mod limiter;
mod listener;
mod registry;
mod report;
mod secure;
mod stats;
mod stream;

pub use context::{Context, ProposeError};
pub use listener::run as run_listener;
pub use registry::{ConnectionEntry, Registry};
pub use secure::{ListenerMode, SecureSide};
pub use stats::{ConnectionStats, ServerStats};
