//! `stat`, `srvr`, `cons`, `crst`, `srst`: server and connection statistics in Apache's text format.

use std::fmt::Write;
use std::net::SocketAddr;

use super::info::{ConnectionInfo, Mode, ServerInfo};
use super::version::full_version;

/// `srvr` (without the client list) or `stat` (with it).
pub fn stat(info: &dyn ServerInfo, with_clients: bool) -> String {
    let mut out = format!("Zookeeper version: {}\n", full_version());
    if info.is_read_only() {
        out.push_str("READ-ONLY mode; serving only read-only clients\n");
    }
    if with_clients {
        out.push_str("Clients:\n");
        for connection in info.connections() {
            out.push_str(&connection_line(&connection, true));
            out.push('\n');
        }
        out.push('\n');
    }
    let stats = info.stats();
    let mode = info.mode();
    let _ = write!(
        out,
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\n\
         Mode: {}\nNode count: {}\n",
        stats.min_latency_ms,
        java_double(stats.avg_latency_ms),
        stats.max_latency_ms,
        stats.packets_received,
        stats.packets_sent,
        stats.alive_connections,
        stats.outstanding_requests,
        info.last_zxid(),
        mode.as_str(),
        info.data_summary().znode_count,
    );
    if mode == Mode::Leader {
        let (last, min, max) = info.quorum_summary().proposal_sizes;
        let _ = writeln!(out, "Proposal sizes last/min/max: {last}/{min}/{max}");
    }
    out
}

/// `cons`: every connection in full, then an empty line.
pub fn cons(info: &dyn ServerInfo) -> String {
    let mut out = String::new();
    for connection in info.connections() {
        out.push_str(&connection_line(&connection, false));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// One connection as Apache's `dumpConnectionInfo` prints it (without a line end).
pub fn connection_line(c: &ConnectionInfo, brief: bool) -> String {
    let mut out = format!(
        " {}[{}](queued={},recved={},sent={}",
        java_socket_address(&c.remote),
        if c.reading { "1" } else { "0" },
        c.outstanding,
        c.received,
        c.sent
    );
    if !brief && let Some(s) = &c.session {
        let _ = write!(
            out,
            ",sid=0x{:x},lop={},est={},to={}",
            s.id, s.last_operation, s.established_ms, s.timeout_ms
        );
        if s.last_cxid >= 0 {
            let _ = write!(out, ",lcxid=0x{:x}", s.last_cxid);
        }
        let _ = write!(
            out,
            ",lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
            s.last_zxid,
            s.last_response_ms,
            s.last_latency_ms,
            s.min_latency_ms,
            s.avg_latency_ms,
            s.max_latency_ms
        );
    }
    out.push(')');
    out
}

/// Java's `InetSocketAddress.toString()` for an address without a host name: `/ip:port`.
pub fn java_socket_address(addr: &SocketAddr) -> String {
    format!("/{addr}")
}

/// A double as Java prints it (`0.0`, `3.8333`), after Apache's rounding to four decimals.
pub fn java_double(value: f64) -> String {
    let rounded = (value * 10_000.0).round() / 10_000.0;
    let text = format!("{rounded}");
    if text.contains('.') || text.contains('e') || text.contains("inf") || text.contains("NaN") {
        text
    } else {
        format!("{text}.0")
    }
}

/// `crst`.
pub fn reset_connections(info: &dyn ServerInfo) -> String {
    info.reset_connection_stats();
    "Connection stats reset.\n".to_string()
}

/// `srst`.
pub fn reset_server(info: &dyn ServerInfo) -> String {
    info.reset_stats();
    "Server stats reset.\n".to_string()
}
