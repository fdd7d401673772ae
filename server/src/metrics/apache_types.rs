//! The types Apache ZooKeeper 3.8's Prometheus provider gives its metrics, as `/metrics` on a
//! standalone 3.8.0 server lists them (`# TYPE` lines and the quantiles of summaries, JVM and
//! process metrics left out). A metric not named here is a gauge.

/// Metrics Apache exports as counters.
pub const COUNTERS: [&str; 48] = [
    "add_dead_watcher_stall_time",
    "bytes_received_count",
    "cnxn_closed_without_zk_server_running",
    "commit_count",
    "connection_drop_count",
    "connection_rejected",
    "connection_request_count",
    "connection_revalidate_count",
    "dead_watchers_cleared",
    "dead_watchers_queued",
    "diff_count",
    "digest_mismatches_count",
    "ensemble_auth_fail",
    "ensemble_auth_skip",
    "ensemble_auth_success",
    "insecure_admin_count",
    "large_requests_rejected",
    "learner_commit_received_count",
    "learner_proposal_received_count",
    "looking_count",
    "outstanding_changes_queued",
    "outstanding_changes_removed",
    "prep_processor_request_queued",
    "proposal_count",
    "quit_leading_due_to_disloyal_voter",
    "quota_exceeded_error_per_namespace",
    "request_commit_queued",
    "request_throttle_wait_count",
    "requests_not_forwarded_to_commit_processor",
    "response_bytes",
    "response_packet_cache_hits",
    "response_packet_cache_misses",
    "response_packet_get_children_cache_hits",
    "response_packet_get_children_cache_misses",
    "revalidate_count",
    "sessionless_connections_expired",
    "skip_learner_request_to_next_processor_count",
    "snap_count",
    "stale_replies",
    "stale_requests",
    "stale_requests_dropped",
    "stale_sessions_expired",
    "sync_processor_request_queued",
    "throttled_ops",
    "tls_handshake_exceeded",
    "unrecoverable_error_count",
    "unsuccessful_handshake",
    "watch_bytes",
];

/// Metrics Apache exports as summaries (`mntr` shows each as `zk_{avg,min,max,cnt,sum}_<name>`).
pub const SUMMARIES: [&str; 68] = [
    "ack_latency",
    "close_session_prep_time",
    "commit_commit_proc_req_queued",
    "commit_process_time",
    "commit_propagation_latency",
    "concurrent_request_processing_in_commit_processor",
    "connection_token_deficit",
    "dbinittime",
    "dead_watchers_cleaner_latency",
    "election_time",
    "follower_sync_time",
    "fsynctime",
    "inflight_diff_count",
    "inflight_snap_count",
    "leader_unavailable_time",
    "learner_handler_qp_size",
    "learner_handler_qp_time_ms",
    "learner_request_processor_queue_size",
    "local_write_committed_time_ms",
    "netty_queued_buffer_capacity",
    "node_changed_watch_count",
    "node_children_watch_count",
    "node_created_watch_count",
    "node_deleted_watch_count",
    "observer_sync_time",
    "om_commit_process_time_ms",
    "om_proposal_process_time_ms",
    "pending_session_queue_size",
    "prep_process_time",
    "prep_processor_queue_size",
    "prep_processor_queue_time_ms",
    "propagation_latency",
    "proposal_ack_creation_latency",
    "proposal_latency",
    "proposal_process_time",
    "quorum_ack_latency",
    "read_commit_proc_issued",
    "read_commit_proc_req_queued",
    "read_commitproc_time_ms",
    "read_final_proc_time_ms",
    "read_per_namespace",
    "readlatency",
    "reads_after_write_in_session_queue",
    "reads_issued_from_session_queue",
    "request_throttle_queue_time_ms",
    "requests_in_session_queue",
    "server_write_committed_time_ms",
    "session_queues_drained",
    "snapshottime",
    "socket_closing_time",
    "startup_snap_load_time",
    "startup_txns_load_time",
    "startup_txns_loaded",
    "sync_process_time",
    "sync_processor_batch_size",
    "sync_processor_queue_and_flush_time_ms",
    "sync_processor_queue_flush_time_ms",
    "sync_processor_queue_size",
    "sync_processor_queue_time_ms",
    "time_waiting_empty_pool_in_commit_processor_read_ms",
    "unavailable_time",
    "updatelatency",
    "write_batch_time_in_commit_processor",
    "write_commit_proc_issued",
    "write_commit_proc_req_queued",
    "write_commitproc_time_ms",
    "write_final_proc_time_ms",
    "write_per_namespace",
];

/// The summaries Apache's provider gives the quantiles 0.5, 0.9 and 0.99 (its `ADVANCED` detail
/// level, the percentile counters `mntr` shows with `zk_p50_` to `zk_p999_`); every other summary
/// has the quantile 0.5 only.
pub const PERCENTILE_SUMMARIES: [&str; 22] = [
    "close_session_prep_time",
    "commit_propagation_latency",
    "dead_watchers_cleaner_latency",
    "local_write_committed_time_ms",
    "om_commit_process_time_ms",
    "om_proposal_process_time_ms",
    "prep_processor_queue_time_ms",
    "propagation_latency",
    "proposal_ack_creation_latency",
    "proposal_latency",
    "quorum_ack_latency",
    "read_commitproc_time_ms",
    "read_final_proc_time_ms",
    "readlatency",
    "request_throttle_queue_time_ms",
    "server_write_committed_time_ms",
    "sync_processor_queue_and_flush_time_ms",
    "sync_processor_queue_flush_time_ms",
    "sync_processor_queue_time_ms",
    "updatelatency",
    "write_commitproc_time_ms",
    "write_final_proc_time_ms",
];

/// The quantiles Apache's provider exports for the summary `name`, as its `quantile` labels
/// write them.
pub fn quantiles_of(name: &str) -> &'static [&'static str] {
    if PERCENTILE_SUMMARIES.contains(&name) {
        &["0.5", "0.9", "0.99"]
    } else {
        &["0.5"]
    }
}

/// The exposition type of the metric `name`.
pub fn type_of(name: &str) -> &'static str {
    if COUNTERS.contains(&name) {
        "counter"
    } else if SUMMARIES.contains(&name) {
        "summary"
    } else {
        "gauge"
    }
}
