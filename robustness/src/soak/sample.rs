//! What the soak records every few seconds about each running member: from `/proc` its resident size and
//! open file descriptors, from `mntr` its watches, sessions, znodes and ephemerals, and from its data
//! directory the disk its log and snapshots take.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zk_bench::fourlw::four_letter_word;
use zk_bench::rss::vm_rss_bytes;

/// Where a member's log segments are, under its data directory.
const LOG_DIR: &str = "raft-log";
/// Where a member's snapshots are, under its data directory.
const SNAPSHOT_DIR: &str = "raft-snapshot";

/// A running member, as the sampler needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// The member's id.
    pub id: usize,
    /// Its process.
    pub pid: u32,
    /// Its client address (for `mntr`).
    pub addr: SocketAddr,
    /// Its data directory (`dataDir`, which is also its `dataLogDir`).
    pub data_dir: PathBuf,
}

/// Which part of the run a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The ensemble is up and idle: the baseline.
    Baseline,
    /// The load and the faults run.
    Load,
    /// The load has stopped: what it left behind should go away.
    Drain,
}

/// One member at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemberSample {
    /// The member's id.
    pub member: usize,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Watches (`zk_watch_count`).
    pub watches: u64,
    /// Sessions the ensemble knows of (`zk_global_sessions`).
    pub sessions: u64,
    /// Znodes (`zk_znode_count`).
    pub znodes: u64,
    /// Ephemeral znodes (`zk_ephemerals_count`).
    pub ephemerals: u64,
    /// Disk taken by the log segments, bytes (allocated blocks).
    pub log_bytes: u64,
    /// Disk taken by the snapshots, bytes (allocated blocks).
    pub snapshot_bytes: u64,
    /// The largest single snapshot file, bytes.
    pub largest_snapshot: u64,
}

/// Every running member at one moment, and the load's latency since the previous sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the run began.
    pub at_secs: f64,
    /// The part of the run.
    pub phase: Phase,
    /// The members that answered.
    pub members: Vec<MemberSample>,
    /// The 99th percentile of the load's operation latency since the previous sample, ms.
    pub p99_ms: Option<f64>,
    /// Operations the load completed since the previous sample.
    pub ops: usize,
}

/// The numeric lines of a `mntr` reply (`key<TAB>value`), by key.
pub fn parse_mntr(reply: &str) -> BTreeMap<String, u64> {
    reply
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('\t')?;
            Some((key.trim().to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// How many file descriptors process `pid` has open (entries of `/proc/<pid>/fd`).
pub fn fd_count(pid: u32) -> std::io::Result<u64> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64)
}

/// Resident bytes of process `pid`, from `/proc/<pid>/status`.
fn rss_of(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    vm_rss_bytes(&status).ok_or_else(|| std::io::Error::other(format!("no VmRSS for pid {pid}")))
}

/// Disk usage under `path` (allocated blocks of every file, as `du` counts them) and the largest
/// single file's, bytes; zero for a path that is not there.
pub fn disk_usage(path: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return (0, 0);
    };
    let (mut total, mut largest) = (0, 0);
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            let (sub, sub_largest) = disk_usage(&entry.path());
            total += sub;
            largest = largest.max(sub_largest);
        } else {
            let used = meta.blocks() * 512;
            total += used;
            largest = largest.max(used);
        }
    }
    (total, largest)
}

/// Samples `member`; `None` if its process or its `mntr` did not answer (it is restarting).
pub async fn sample_member(member: &MemberView) -> Option<MemberSample> {
    let reply = four_letter_word(member.addr, "mntr").await.ok()?;
    let mntr = parse_mntr(&reply);
    let metric = |key: &str| mntr.get(key).copied();
    let (log_bytes, _) = disk_usage(&member.data_dir.join(LOG_DIR));
    let (snapshot_bytes, largest_snapshot) = disk_usage(&member.data_dir.join(SNAPSHOT_DIR));
    Some(MemberSample {
        member: member.id,
        rss_bytes: rss_of(member.pid).ok()?,
        fds: fd_count(member.pid).ok()?,
        watches: metric("zk_watch_count")?,
        sessions: metric("zk_global_sessions")?,
        znodes: metric("zk_znode_count")?,
        ephemerals: metric("zk_ephemerals_count")?,
        log_bytes,
        snapshot_bytes,
        largest_snapshot,
    })
}

/// The CSV's header line.
pub const CSV_HEADER: &str = "at_secs,phase,member,rss_bytes,fds,watches,sessions,znodes,ephemerals,\
                              log_bytes,snapshot_bytes,largest_snapshot,load_p99_ms,load_ops";

/// The samples as CSV: one line per member and sample, the load's figures repeated on each.
pub fn to_csv(samples: &[Sample]) -> String {
    let mut csv = format!("{CSV_HEADER}\n");
    for sample in samples {
        let phase = match sample.phase {
            Phase::Baseline => "baseline",
            Phase::Load => "load",
            Phase::Drain => "drain",
        };
        let p99 = sample.p99_ms.map(|p| format!("{p:.2}")).unwrap_or_default();
        for m in &sample.members {
            csv.push_str(&format!(
                "{:.1},{phase},{},{},{},{},{},{},{},{},{},{},{p99},{}\n",
                sample.at_secs,
                m.member,
                m.rss_bytes,
                m.fds,
                m.watches,
                m.sessions,
                m.znodes,
                m.ephemerals,
                m.log_bytes,
                m.snapshot_bytes,
                m.largest_snapshot,
                sample.ops
            ));
        }
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mntr_numbers_are_read_and_text_skipped() {
        let reply = "zk_version\t3.9.3-abc\nzk_watch_count\t42\nzk_global_sessions\t7\n\
                     zk_avg_latency\t0.25\nzk_server_state\tleader\n";
        let mntr = parse_mntr(reply);
        assert_eq!(mntr.get("zk_watch_count"), Some(&42));
        assert_eq!(mntr.get("zk_global_sessions"), Some(&7));
        assert!(!mntr.contains_key("zk_version"));
        assert!(!mntr.contains_key("zk_server_state"));
        assert!(!mntr.contains_key("zk_avg_latency"));
    }

    #[test]
    fn fds_and_rss_of_a_process_are_read_from_proc() {
        // A child with its standard streams on /dev/null holds those three, and few others (what
        // this process's concurrent tests open is closed on exec, or nearly always is).
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let fds = fd_count(child.id());
        let rss = rss_of(child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        let fds = fds.unwrap();
        assert!((3..10).contains(&fds), "{fds}");
        assert!(rss.unwrap() > 0);
        assert!(fd_count(u32::MAX).is_err());
    }

    #[test]
    fn disk_usage_counts_nested_files_and_the_largest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), vec![1u8; 10_000]).unwrap();
        std::fs::write(dir.path().join("sub/b"), vec![1u8; 100_000]).unwrap();
        let (total, largest) = disk_usage(dir.path());
        assert!(largest >= 100_000, "{largest}");
        assert!(total >= 110_000 && total > largest, "{total} {largest}");
        assert_eq!(disk_usage(&dir.path().join("absent")), (0, 0));
    }

    #[test]
    fn csv_has_one_line_per_member_and_sample() {
        let member = |id| MemberSample {
            member: id,
            rss_bytes: 1,
            fds: 2,
            watches: 3,
            sessions: 4,
            znodes: 5,
            ephemerals: 6,
            log_bytes: 7,
            snapshot_bytes: 8,
            largest_snapshot: 9,
        };
        let samples = [Sample {
            at_secs: 10.0,
            phase: Phase::Load,
            members: vec![member(1), member(2)],
            p99_ms: Some(3.5),
            ops: 100,
        }];
        let csv = to_csv(&samples);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2], "10.0,load,2,1,2,3,4,5,6,7,8,9,3.50,100");
        assert_eq!(
            lines[0].split(',').count(),
            lines[1].split(',').count(),
            "{csv}"
        );
    }
}
