//! `dump`, `wchs`, `wchc`, `wchp`: sessions, ephemerals, connections and watches.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::info::ServerInfo;
use super::stat::java_socket_address;
use crate::session::now_ms;

/// `dump`: the session tracker's buckets, the ephemerals per session, and the connections grouped by the
/// expiry bucket of their session.
pub fn dump(info: &dyn ServerInfo) -> String {
    let buckets = info.session_buckets();
    let mut out = String::from("SessionTracker dump:\n");
    let total: usize = buckets.iter().map(|b| b.sessions.len()).sum();
    let _ = writeln!(out, "Session Sets ({})/({total}):", buckets.len());
    for bucket in &buckets {
        let _ = writeln!(
            out,
            "{} expire at {}:",
            bucket.sessions.len(),
            java_date(bucket.expires_at_ms)
        );
        for id in &bucket.sessions {
            let _ = writeln!(out, "\t0x{id:x}");
        }
    }
    out.push_str("ephemeral nodes dump:\n");
    let ephemerals = info.ephemerals();
    let _ = writeln!(out, "Sessions with Ephemerals ({}):", ephemerals.len());
    for (session, paths) in &ephemerals {
        let _ = writeln!(out, "0x{session:x}:");
        for path in paths {
            let _ = writeln!(out, "\t{path}");
        }
    }
    out.push_str("Connections dump:\n");
    let tick = i64::from(info.config().tick_time_ms.max(1));
    let next_tick = (now_ms() / tick + 1) * tick;
    let deadline_of: BTreeMap<i64, i64> = buckets
        .iter()
        .flat_map(|b| b.sessions.iter().map(move |id| (*id, b.expires_at_ms)))
        .collect();
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for connection in info.connections() {
        let id = connection.session.as_ref().map(|s| s.id).unwrap_or(0);
        let at = deadline_of.get(&id).copied().unwrap_or(next_tick);
        groups.entry(at).or_default().push(format!(
            "\tip: {} sessionId: 0x{id:x}",
            java_socket_address(&connection.remote)
        ));
    }
    let connections: usize = groups.values().map(Vec::len).sum();
    let _ = writeln!(out, "Connections Sets ({})/({connections}):", groups.len());
    for (at, lines) in groups {
        let _ = writeln!(out, "{} expire at {}:", lines.len(), java_date(at));
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// `wchs`: how many sessions watch how many paths.
pub fn watch_summary(info: &dyn ServerInfo) -> String {
    let summary = info.data_summary();
    format!(
        "{} connections watching {} paths\nTotal watches:{}\n",
        summary.watching_sessions, summary.watched_paths, summary.data_watches
    )
}

/// `wchp` (by path) or `wchc` (by session).
pub fn watches(info: &dyn ServerInfo, by_path: bool) -> String {
    let mut out = String::new();
    if by_path {
        for (path, sessions) in info.watches_by_path() {
            let _ = writeln!(out, "{path}");
            for id in sessions {
                let _ = writeln!(out, "\t0x{id:x}");
            }
        }
    } else {
        for (id, paths) in info.watches_by_session() {
            let _ = writeln!(out, "0x{id:x}");
            for path in paths {
                let _ = writeln!(out, "\t{path}");
            }
        }
    }
    out.push('\n');
    out
}

/// A time as Java's `Date.toString()` prints it in UTC: `Wed Nov 25 08:23:30 UTC 2026`.
pub fn java_date(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%a %b %d %H:%M:%S UTC %Y").to_string(),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_java_does() {
        // 2026-11-25T08:23:30Z
        assert_eq!(java_date(1_795_595_010_000), "Wed Nov 25 08:23:30 UTC 2026");
    }
}
