//! The running server as the four-letter words and the AdminServer see it (and act on it:
//! `leader_transfer`, `snapshot`).

use std::sync::atomic::Ordering::Relaxed;

use super::context::Context;
use crate::admin::{LeaderTransfer, SnapshotSource, Taking, Transfer};
use crate::config::ServerConfig;
use crate::consensus::{Phase, Role};
use crate::fourlw::{
    ConnectionInfo, ConnectionSession, DataSummary, Mode, QuorumSummary, ServerInfo, StatsSnapshot,
    WritePathSummary,
};
use crate::session::ExpiryBucket;

impl ServerInfo for Context {
    fn config(&self) -> &ServerConfig {
        &self.config
    }

    fn mode(&self) -> Mode {
        if self.read_only() {
            return Mode::ReadOnly;
        }
        match self.role() {
            Role::Leader if !self.config.is_distributed() => Mode::Standalone,
            Role::Leader => Mode::Leader,
            Role::Follower => Mode::Follower,
            Role::Observer => Mode::Observer,
            Role::Looking => Mode::Looking,
        }
    }

    fn is_serving(&self) -> bool {
        self.read_only() || (self.role() != Role::Looking && !self.synchronizing())
    }

    fn synchronizing(&self) -> bool {
        matches!(self.role(), Role::Follower | Role::Observer)
            && self.consensus.phase() == Phase::Synchronization
    }

    fn is_read_only(&self) -> bool {
        self.read_only() || self.consensus.is_disk_full()
    }

    fn client_port(&self) -> u16 {
        Context::client_port(self)
    }

    fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    fn reset_stats(&self) {
        self.stats.reset();
        self.consensus.reset_write_path_figures();
    }

    fn connections(&self) -> Vec<ConnectionInfo> {
        self.registry
            .connections()
            .iter()
            .map(|entry| {
                let stats = &entry.stats;
                let session = entry.session().map(|(id, timeout_ms)| ConnectionSession {
                    id,
                    last_operation: stats
                        .last_operation
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .to_string(),
                    established_ms: entry.established_ms,
                    timeout_ms,
                    last_cxid: *stats.last_cxid.lock().unwrap_or_else(|e| e.into_inner()),
                    last_zxid: stats.last_zxid.load(Relaxed) as i64,
                    last_response_ms: stats.last_response_ms.load(Relaxed) as i64,
                    last_latency_ms: stats.latency.last(),
                    min_latency_ms: stats.latency.min(),
                    avg_latency_ms: stats.latency.avg() as u64,
                    max_latency_ms: stats.latency.max(),
                });
                ConnectionInfo {
                    remote: entry.remote,
                    reading: session.is_some(),
                    outstanding: stats.outstanding.load(Relaxed),
                    received: stats.received.load(Relaxed),
                    sent: stats.sent.load(Relaxed),
                    session,
                }
            })
            .collect()
    }

    fn reset_connection_stats(&self) {
        for entry in self.registry.connections() {
            entry.stats.reset();
        }
    }

    fn last_zxid(&self) -> i64 {
        self.state.last_zxid()
    }

    fn data_summary(&self) -> DataSummary {
        let stats = self.state.stats();
        let watches = self.state.watches().summary();
        DataSummary {
            znode_count: stats.znode_count as u64,
            ephemerals_count: stats.ephemerals_count as u64,
            approximate_data_size: stats.approximate_data_size.max(0) as u64,
            watch_count: stats.watch_count as u64,
            watched_paths: watches.paths as u64,
            watching_sessions: watches.connections as u64,
            data_watches: watches.total as u64,
            global_sessions: stats.session_count as u64,
        }
    }

    fn quorum_summary(&self) -> QuorumSummary {
        let members = self.consensus.members();
        let voters = members.iter().filter(|m| m.voter).count() as u64;
        let leader_uptime_ms = self
            .leader_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|since| since.elapsed().as_millis() as u64)
            .unwrap_or(0);
        QuorumSummary {
            quorum_size: voters,
            learners: members.len().saturating_sub(1) as u64,
            proposal_sizes: self.stats.proposals.sizes(),
            proposal_count: self.stats.proposals.count(),
            leader_uptime_ms,
            elections: self.consensus.term(),
            ..QuorumSummary::default()
        }
    }

    fn write_path(&self) -> WritePathSummary {
        WritePathSummary {
            log_batch_sizes: self.consensus.log_batch_sizes(),
            fsync_ms: self.consensus.fsync_times_ms(),
            // Apache's standalone server commits nothing: only its quorum leader counts commits.
            commit_count: match self.config.is_distributed() {
                true => self.consensus.commit_count(),
                false => 0,
            },
        }
    }

    fn watches_by_path(&self) -> Vec<(String, Vec<i64>)> {
        grouped(&self.state.watches().dump(true))
            .into_iter()
            .map(|(path, sessions)| {
                (
                    path,
                    sessions.iter().filter_map(|s| parse_session(s)).collect(),
                )
            })
            .collect()
    }

    fn watches_by_session(&self) -> Vec<(i64, Vec<String>)> {
        grouped(&self.state.watches().dump(false))
            .into_iter()
            .filter_map(|(session, paths)| Some((parse_session(&session)?, paths)))
            .collect()
    }

    fn ephemerals(&self) -> Vec<(i64, Vec<String>)> {
        self.state.ephemerals_dump()
    }

    fn session_buckets(&self) -> Vec<ExpiryBucket> {
        self.tracker.buckets()
    }

    fn membership_text(&self) -> String {
        let data = crate::reconfig::config_as_seen(self).data;
        String::from_utf8_lossy(&data.unwrap_or_default()).into_owned()
    }

    fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn leader_id(&self) -> Option<u64> {
        self.consensus.leader_id()
    }
}

impl LeaderTransfer for Context {
    fn my_id(&self) -> u64 {
        self.consensus.my_id()
    }

    fn transfer_leadership(&self, to: Option<u64>) -> Transfer<'_> {
        Box::pin(self.consensus.transfer_leadership(to))
    }
}

impl SnapshotSource for Context {
    fn root_acl(&self) -> Vec<zk_proto::Acl> {
        self.state.acl_of("/").unwrap_or_default()
    }

    fn take_snapshot(&self) -> Taking<'_> {
        Box::pin(async move {
            self.consensus.sync().await.map_err(|e| e.to_string())?;
            let state = self.state.clone();
            tokio::task::spawn_blocking(move || crate::apache_data::live_snapshot(&state))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        })
    }
}

/// Splits the watch manager's dump (`key` lines, each followed by `\tvalue` lines) into groups.
fn grouped(dump: &str) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for line in dump.lines() {
        match (line.strip_prefix('\t'), groups.last_mut()) {
            (Some(value), Some((_, values))) => values.push(value.to_string()),
            (Some(_), None) => {}
            (None, _) if line.is_empty() => {}
            (None, _) => groups.push((line.to_string(), Vec::new())),
        }
    }
    groups
}

/// `0x1a2b` → the session id.
fn parse_session(text: &str) -> Option<i64> {
    u64::from_str_radix(text.strip_prefix("0x")?, 16)
        .ok()
        .map(|v| v as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_dumps_group_back_into_lists() {
        let groups = grouped("/a\n\t0x1\n\t0x2\n/b\n\t0xff\n");
        assert_eq!(
            groups,
            vec![
                ("/a".into(), vec!["0x1".into(), "0x2".into()]),
                ("/b".into(), vec!["0xff".into()])
            ]
        );
        assert_eq!(parse_session("0xff"), Some(255));
        assert_eq!(parse_session("ff"), None);
    }
}
