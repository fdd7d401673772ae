//! The four-letter words: a connection whose first four bytes are a known command gets its text answer
//! and is closed. Output formats follow Apache ZooKeeper line for line; commands outside
//! `4lw.commands.whitelist` get Apache's refusal text.
//!
//! - `info` — the data the reports are made of, supplied by the server through [`ServerInfo`].
//! - `version` — the version string.
//! - `stat` — `stat`, `srvr`, `cons`, `crst`, `srst`.
//! - `conf` — `conf`, `envi`, `dirs`.
//! - `dump` — `dump`, `wchs`, `wchc`, `wchp`.
//! - `mntr` — `mntr` and the metric list.

mod conf;
mod dump;
mod info;
mod mntr;
mod stat;
mod version;

#[cfg(test)]
mod tests;

pub use conf::{directory_size, environment};
pub use dump::java_date;
pub use info::{
    ConnectionInfo, ConnectionSession, DataSummary, Mode, QuorumSummary, ServerInfo, StatsSnapshot,
    WritePathSummary,
};
pub use mntr::{MetricValue, metrics, recent_quantiles};
pub use stat::connection_line;
pub use version::{ZOOKEEPER_COMPATIBLE_VERSION, full_version};

use crate::config::ALL_COMMANDS;

/// What a serving check prints when the member does not serve (Apache's `ZK_NOT_SERVING`).
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The command named by a connection's first four bytes, if they are one.
pub fn command_of(first: [u8; 4]) -> Option<&'static str> {
    ALL_COMMANDS.iter().copied().find(|c| c.as_bytes() == first)
}

/// Runs `command` (one of [`ALL_COMMANDS`]) and returns its text, or the whitelist refusal.
pub fn execute(command: &str, info: &dyn ServerInfo) -> String {
    if !info.config().four_letter_whitelist.allows(command) {
        return format!("{command} is not executed because it is not in the whitelist.\n");
    }
    let serving = info.is_serving();
    match command {
        "ruok" => "imok".to_string(),
        "envi" => conf::envi(),
        // A member whose volume is full refuses writes whatever its state (a follower that can no
        // longer keep up is soon cut off, and not serving): `ro` tells why.
        "isro" if info.is_read_only() => "ro".to_string(),
        "isro" if !serving => "null".to_string(),
        "isro" => "rw".to_string(),
        // Apache's syncing member answers no command but `ruok`; its phase is worth seeing.
        "mntr" if info.synchronizing() => mntr::mntr(info),
        _ if !serving => NOT_SERVING.to_string(),
        "srvr" => stat::stat(info, false),
        "stat" => stat::stat(info, true),
        "cons" => stat::cons(info),
        "crst" => stat::reset_connections(info),
        "srst" => stat::reset_server(info),
        "conf" => conf::conf(info),
        "dirs" => conf::dirs(info),
        "dump" => dump::dump(info),
        "wchs" => dump::watch_summary(info),
        "wchc" => dump::watches(info, false),
        "wchp" => dump::watches(info, true),
        "mntr" => mntr::mntr(info),
        other => format!("{other} is not executed because it is not in the whitelist.\n"),
    }
}
