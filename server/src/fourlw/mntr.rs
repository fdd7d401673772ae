//! `mntr`: metrics as `key<TAB>value` lines with Apache's key names (the AdminServer's `monitor` returns
//! the same list as JSON).

use super::info::{Mode, ServerInfo};
use super::stat::java_double;
use super::version::full_version;
use crate::quantiles::Percentiles;
use crate::summary::{QuantileFigures, SummaryFigures};

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

/// Apache's counters of parts this server does not have, which therefore never count here: its
/// request-processor queues and response caches, request throttling and connection dropping, TLS and
/// the insecure AdminServer, dead-watcher cleaning, the learner protocol (diffs, snaps, revalidation,
/// ensemble authentication, digests) and stale-request handling. Listed so that tools reading Apache's
/// keys find them; each with the position it has in Apache's output, after the key named first.
const NEVER_COUNTED_AFTER_WATCH_BYTES: [&str; 3] = [
    "zk_outstanding_changes_removed",
    "zk_throttled_ops",
    "zk_stale_requests_dropped",
];
const NEVER_COUNTED_AFTER_LARGE_REQUESTS: [&str; 1] = ["zk_insecure_admin_count"];
const NEVER_COUNTED_AFTER_CONNECTION_REJECTED: [&str; 2] = [
    "zk_cnxn_closed_without_zk_server_running",
    "zk_sessionless_connections_expired",
];
const NEVER_COUNTED_AFTER_LOOKING: [&str; 7] = [
    "zk_dead_watchers_queued",
    "zk_stale_requests",
    "zk_connection_drop_count",
    "zk_learner_proposal_received_count",
    "zk_digest_mismatches_count",
    "zk_dead_watchers_cleared",
    "zk_response_packet_cache_hits",
];
const NEVER_COUNTED_AFTER_BYTES_RECEIVED: [&str; 8] = [
    "zk_add_dead_watcher_stall_time",
    "zk_request_throttle_wait_count",
    "zk_requests_not_forwarded_to_commit_processor",
    "zk_response_packet_cache_misses",
    "zk_ensemble_auth_success",
    "zk_prep_processor_request_queued",
    "zk_learner_commit_received_count",
    "zk_stale_replies",
];
const NEVER_COUNTED_AFTER_RESPONSE_BYTES: [&str; 8] = [
    "zk_ensemble_auth_fail",
    "zk_diff_count",
    "zk_response_packet_get_children_cache_misses",
    "zk_connection_revalidate_count",
    "zk_quit_leading_due_to_disloyal_voter",
    "zk_snap_count",
    "zk_unrecoverable_error_count",
    "zk_unsuccessful_handshake",
];
const NEVER_COUNTED_AFTER_COMMIT_COUNT: [&str; 9] = [
    "zk_stale_sessions_expired",
    "zk_response_packet_get_children_cache_hits",
    "zk_sync_processor_request_queued",
    "zk_outstanding_changes_queued",
    "zk_request_commit_queued",
    "zk_ensemble_auth_skip",
    "zk_skip_learner_request_to_next_processor_count",
    "zk_tls_handshake_exceeded",
    "zk_revalidate_count",
];

/// The summary sets (`zk_{avg,min,max,cnt,sum}_<name>`) this server measures, each in Apache's
/// key order; they follow the plain counters, in Apache's order of sets.
const FSYNC_TIME: [&str; 5] = [
    "zk_avg_fsynctime",
    "zk_min_fsynctime",
    "zk_max_fsynctime",
    "zk_cnt_fsynctime",
    "zk_sum_fsynctime",
];
const SYNC_PROCESSOR_BATCH_SIZE: [&str; 5] = [
    "zk_avg_sync_processor_batch_size",
    "zk_min_sync_processor_batch_size",
    "zk_max_sync_processor_batch_size",
    "zk_cnt_sync_processor_batch_size",
    "zk_sum_sync_processor_batch_size",
];

/// The percentile sets (`zk_{avg,min,max,cnt,sum,p50,p95,p99,p999}_<name>`, Apache's
/// `AvgMinMaxPercentileCounter`) this server measures, after the summary sets, in Apache's order.
const UPDATE_LATENCY: [&str; 9] = [
    "zk_avg_updatelatency",
    "zk_min_updatelatency",
    "zk_max_updatelatency",
    "zk_cnt_updatelatency",
    "zk_sum_updatelatency",
    "zk_p50_updatelatency",
    "zk_p95_updatelatency",
    "zk_p99_updatelatency",
    "zk_p999_updatelatency",
];
const READ_LATENCY: [&str; 9] = [
    "zk_avg_readlatency",
    "zk_min_readlatency",
    "zk_max_readlatency",
    "zk_cnt_readlatency",
    "zk_sum_readlatency",
    "zk_p50_readlatency",
    "zk_p95_readlatency",
    "zk_p99_readlatency",
    "zk_p999_readlatency",
];

/// One summary set's lines: avg (a double, as Apache's `AvgMinMaxCounter`), min, max, cnt, sum.
fn summary(keys: [&'static str; 5], f: SummaryFigures) -> [(&'static str, MetricValue); 5] {
    let n = |v: u64| MetricValue::Int(v as i64);
    let [avg, min, max, cnt, sum] = keys;
    [
        (avg, MetricValue::Float(f.avg())),
        (min, n(f.min)),
        (max, n(f.max)),
        (cnt, n(f.count)),
        (sum, n(f.sum)),
    ]
}

/// One percentile set's lines: the summary set's, then p50, p95, p99 and p999 of the recent
/// values (0 when there are none, as Apache prints an empty counter's).
fn percentile_summary(
    keys: [&'static str; 9],
    f: QuantileFigures,
) -> impl Iterator<Item = (&'static str, MetricValue)> {
    let [avg, min, max, cnt, sum, p50, p95, p99, p999] = keys;
    let recent = f.recent;
    let percentiles = [
        (p50, recent.p50),
        (p95, recent.p95),
        (p99, recent.p99),
        (p999, recent.p999),
    ];
    summary([avg, min, max, cnt, sum], f.summary)
        .into_iter()
        .chain(percentiles.map(|(key, value)| (key, MetricValue::Int(value.unwrap_or(0) as i64))))
}

/// The recent quantiles of the summaries [`metrics`] reports, by the name Apache's Prometheus
/// provider gives each summary.
pub fn recent_quantiles(info: &dyn ServerInfo) -> Vec<(&'static str, Percentiles)> {
    let stats = info.stats();
    let write_path = info.write_path();
    vec![
        ("fsynctime", write_path.fsync_ms.recent),
        (
            "sync_processor_batch_size",
            write_path.log_batch_sizes.recent,
        ),
        ("updatelatency", stats.update_latency.recent),
        ("readlatency", stats.read_latency.recent),
    ]
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
    let (last_response, min_response, max_response) = stats.client_response_sizes;
    let n = |v: u64| Int(v as i64);
    let zeros = |keys: &[&'static str]| keys.iter().map(|k| (*k, Int(0))).collect::<Vec<_>>();
    let mut out: Vec<(&'static str, MetricValue)> = vec![
        ("zk_version", Text(full_version())),
        ("zk_server_state", Text(mode.as_str().to_string())),
    ];
    if distributed && let Some(state) = mode.peer_state(info.synchronizing()) {
        out.push(("zk_peer_state", Text(state.to_string())));
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
        (
            "zk_non_mtls_remote_conn_count",
            n(stats.non_mtls_remote_connections),
        ),
        ("zk_last_client_response_size", Int(last_response)),
        ("zk_packets_sent", n(stats.packets_sent)),
        ("zk_packets_received", n(stats.packets_received)),
    ]);
    if leader {
        out.push(("zk_max_proposal_size", Int(max_proposal)));
    }
    out.push(("zk_max_client_response_size", Int(max_response)));
    if leader {
        out.push(("zk_synced_followers", n(quorum.synced_followers)));
    }
    out.extend([
        // This server never drops connections on purpose.
        ("zk_connection_drop_probability", Float(0.0)),
        ("zk_watch_count", n(data.watch_count)),
    ]);
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
        // No TLS is served, so no handshake is ever outstanding.
        ("zk_outstanding_tls_handshake", Int(0)),
    ]);
    if leader {
        out.push(("zk_learners", n(quorum.learners)));
    }
    out.extend([
        ("zk_min_client_response_size", Int(min_response)),
        (
            "zk_non_mtls_local_conn_count",
            n(stats.non_mtls_local_connections),
        ),
    ]);
    if distributed {
        out.push(("zk_quorum_size", n(quorum.quorum_size)));
    }
    out.extend([
        ("zk_proposal_count", n(quorum.proposal_count)),
        ("zk_watch_bytes", n(stats.watch_bytes)),
    ]);
    out.extend(zeros(&NEVER_COUNTED_AFTER_WATCH_BYTES));
    out.push((
        "zk_large_requests_rejected",
        n(stats.large_requests_rejected),
    ));
    out.extend(zeros(&NEVER_COUNTED_AFTER_LARGE_REQUESTS));
    out.push(("zk_connection_rejected", n(stats.connections_rejected)));
    out.extend(zeros(&NEVER_COUNTED_AFTER_CONNECTION_REJECTED));
    let elections = if distributed { quorum.elections } else { 0 };
    out.push(("zk_looking_count", n(elections)));
    out.extend(zeros(&NEVER_COUNTED_AFTER_LOOKING));
    out.push(("zk_bytes_received_count", n(stats.bytes_received)));
    out.extend(zeros(&NEVER_COUNTED_AFTER_BYTES_RECEIVED));
    out.extend([
        ("zk_connection_request_count", n(stats.connection_requests)),
        ("zk_response_bytes", n(stats.response_bytes)),
    ]);
    out.extend(zeros(&NEVER_COUNTED_AFTER_RESPONSE_BYTES));
    let write_path = info.write_path();
    out.push(("zk_commit_count", n(write_path.commit_count)));
    out.extend(zeros(&NEVER_COUNTED_AFTER_COMMIT_COUNT));
    out.extend(summary(FSYNC_TIME, write_path.fsync_ms.summary));
    out.extend(summary(
        SYNC_PROCESSOR_BATCH_SIZE,
        write_path.log_batch_sizes.summary,
    ));
    out.extend(percentile_summary(UPDATE_LATENCY, stats.update_latency));
    out.extend(percentile_summary(READ_LATENCY, stats.read_latency));
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
