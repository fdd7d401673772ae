//! The AdminServer: Apache's HTTP command interface (`admin.enableServer`, `admin.serverPort`,
//! `admin.commandURL`). `GET <commandURL>/<name>` answers JSON with Apache's keys, plus `command` (the
//! primary name) and `error`; `GET <commandURL>` lists the commands. Kubernetes probes and monitoring tools
//! use it, so a command that needs a serving member answers 503 while the member does not serve.
//!
//! - `commands` — the command table and each command's JSON.
//! - `leader_transfer` — the one command of our own: leadership handed to a synced follower.
//! - `snapshot` — Apache 3.9's `snapshot`: the tree at one zxid, as Apache's snapshot file.
//! - `http` — the HTTP listener (axum).

mod commands;
mod http;
mod leader_transfer;
mod snapshot;

pub use commands::{CommandOutput, run_command};
pub use http::{AdminTargets, router, serve};
pub use leader_transfer::{LeaderTransfer, Transfer};
pub use snapshot::{SnapshotSource, Taking};
