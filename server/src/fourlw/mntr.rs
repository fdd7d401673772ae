//! `mntr`: metrics as `key<TAB>value` lines with Apache's key names (the AdminServer's `monitor` returns
//! the same list as JSON).

use super::info::{Mode, ServerInfo};
use super::stat::java_double;
use super::version::full_version;

/// One metric value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// An integer counter or gauge.
    Int(i64),
    /// A floating-point gauge (averages).
    Float(f64),
    /// A text value.
    Text(String),
}

impl MetricValue {
    /// The value as `mntr` prints it.
    pub fn render(&self) -> String {
        match self {
            MetricValue::Int(v) => v.to_string(),
            MetricValue::Float(v) => java_double(*v),
            MetricValue::Text(v) => v.clone(),
        }
    }
}

/// The metrics this server reports, in the order Apache's leader printed them. Leader-only metrics appear
/// only on the leader, quorum metrics only on a quorum peer, as in Apache.
pub fn metrics(info: &dyn ServerInfo) -> Vec<(&'static str, MetricValue)> {
    use MetricValue::{Float, Int, Text};
    let stats = info.stats();
    let data = info.data_summary();
    let quorum = info.quorum_summary();
    let mode = info.mode();
    let leader = mode == Mode::Leader;
    let distributed = info.config().is_distributed();
    let (last_proposal, min_proposal, max_proposal) = quorum.proposal_sizes;
    let n = |v: u64| Int(v as i64);
    let mut out: Vec<(&'static str, MetricValue)> = vec![
        ("zk_version", Text(full_version())),
        ("zk_server_state", Text(mode.as_str().to_string())),
    ];
    if distributed {
        out.push(("zk_peer_state", Text(mode.peer_state().to_string())));
    }
    out.extend([
        ("zk_ephemerals_count", n(data.ephemerals_count)),
        ("zk_num_alive_connections", n(stats.alive_connections)),
        ("zk_avg_latency", Float(stats.avg_latency_ms)),
    ]);
    if leader {
        out.push(("zk_min_proposal_size", Int(min_proposal)));
    }
    out.extend([
        ("zk_outstanding_requests", n(stats.outstanding_requests)),
        ("zk_znode_count", n(data.znode_count)),
        ("zk_global_sessions", n(data.global_sessions)),
        ("zk_packets_sent", n(stats.packets_sent)),
        ("zk_packets_received", n(stats.packets_received)),
    ]);
    if leader {
        out.extend([
            ("zk_max_proposal_size", Int(max_proposal)),
            ("zk_synced_followers", n(quorum.synced_followers)),
        ]);
    }
    out.push(("zk_watch_count", n(data.watch_count)));
    if leader {
        out.extend([
            (
                "zk_synced_non_voting_followers",
                n(quorum.synced_non_voting_followers),
            ),
            ("zk_synced_observers", n(quorum.synced_observers)),
        ]);
    }
    out.extend([
        ("zk_auth_failed_count", n(stats.auth_failed)),
        ("zk_min_latency", n(stats.min_latency_ms)),
        ("zk_max_file_descriptor_count", Int(max_file_descriptors())),
        ("zk_approximate_data_size", n(data.approximate_data_size)),
        (
            "zk_open_file_descriptor_count",
            Int(open_file_descriptors()),
        ),
    ]);
    if leader {
        out.extend([
            ("zk_last_proposal_size", Int(last_proposal)),
            ("zk_pending_syncs", Int(0)),
            ("zk_leader_uptime", n(quorum.leader_uptime_ms)),
        ]);
    }
    out.extend([
        ("zk_local_sessions", Int(0)),
        ("zk_uptime", n(info.uptime_ms())),
        ("zk_max_latency", n(stats.max_latency_ms)),
    ]);
    if leader {
        out.push(("zk_learners", n(quorum.learners)));
    }
    if distributed {
        out.push(("zk_quorum_size", n(quorum.quorum_size)));
    }
    if leader {
        out.push(("zk_proposal_count", n(quorum.proposal_count)));
    }
    out.extend([
        (
            "zk_large_requests_rejected",
            n(stats.large_requests_rejected),
        ),
        ("zk_connection_rejected", n(stats.connections_rejected)),
        ("zk_bytes_received_count", n(stats.bytes_received)),
    ]);
    out
}

/// `mntr`'s text.
pub fn mntr(info: &dyn ServerInfo) -> String {
    metrics(info)
        .into_iter()
        .map(|(key, value)| format!("{key}\t{}\n", value.render()))
        .collect()
}

/// Open file descriptors of this process (-1 when unknown).
fn open_file_descriptors() -> i64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as i64)
        .unwrap_or(-1)
}

/// The soft limit on open files (-1 when unknown).
fn max_file_descriptors() -> i64 {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return -1;
    };
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(-1)
}
