//! Apache ZooKeeper's data files: import into a zk-server data directory, export back.
//!
//! - `files` — the `version-2` directory, file names, the file header, Adler-32.
//! - `snapshot` — Apache's snapshot, read (import) and written (export).
//! - `txn_log` — Apache's transaction logs, read with Apache's torn-tail rule.
//! - `replay` — the logged transactions applied after the snapshot.
//! - `publish` — an output directory written all at once.
//!
//! An import reads the newest snapshot that reads correctly (as Apache, it falls back to an
//! older one when the newest is damaged) and replays the logs after it, then writes a zk-server
//! data directory whose snapshot holds that state at the same zxid (see
//! [`crate::consensus::offline::seed`]). Both commands write through `publish`: the files appear
//! at the output only once everything is written, and on any error nothing is left there.

mod files;
mod publish;
mod replay;
mod snapshot;
mod txn_log;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::consensus::{ConsensusError, Member, StateMachine, offline};
use crate::session::session_password;
use crate::state::snapshot::{Image, decode};
use crate::state::{SessionRecord, SessionTable, Settings, ZkState};
use crate::tree::DataTree;
use files::{LOG_PREFIX, SNAPSHOT_PREFIX, VERSION_DIR};
use publish::publish;

/// Why an import or an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ApacheDataError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content is not what its format says.
    #[error("{} at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The input as a whole is unusable (nothing to import, a gap, an output in the way).
    #[error("{0}")]
    Invalid(String),
    /// The zk-server storage could not be written or read.
    #[error(transparent)]
    Storage(#[from] ConsensusError),
}

impl ApacheDataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ApacheDataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What an import reads and writes.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// Apache's `dataDir` (or its `version-2` directory).
    pub apache_data_dir: PathBuf,
    /// Apache's `dataLogDir`, when not the same.
    pub apache_log_dir: Option<PathBuf>,
    /// The zk-server data directory to create (it may exist, empty or holding only `myid`).
    pub data_dir: PathBuf,
    /// The settings of the server that will start on it.
    pub settings: Settings,
    /// The id of that server.
    pub my_id: u64,
    /// Its ensemble (it must be a voter of it).
    pub members: Vec<Member>,
}

/// What an import found.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// The snapshot used, if any.
    pub snapshot: Option<PathBuf>,
    /// Newer snapshots skipped as unreadable, with why.
    pub skipped_snapshots: Vec<String>,
    /// Log files read.
    pub log_files: usize,
    /// Transactions applied after the snapshot.
    pub txns: usize,
    /// Logs that ended in a torn record, and where.
    pub torn: Vec<(PathBuf, u64)>,
    /// The zxid of the imported state.
    pub zxid: i64,
    /// Znodes (as Apache counts them).
    pub znodes: usize,
    /// Live sessions.
    pub sessions: usize,
}

/// The directory holding Apache's files: `dir/version-2`, or `dir` itself when it is one.
fn version_dir(dir: &Path) -> PathBuf {
    let inner = dir.join(VERSION_DIR);
    if inner.is_dir() {
        inner
    } else {
        dir.to_path_buf()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, ApacheDataError> {
    std::fs::read(path).map_err(|e| ApacheDataError::io(path, e))
}

/// Reads Apache's state: the newest readable snapshot, then the logs after it.
pub fn read_apache(
    data_dir: &Path,
    log_dir: Option<&Path>,
) -> Result<(Image, ImportReport), ApacheDataError> {
    let snap_dir = version_dir(data_dir);
    let log_dir = version_dir(log_dir.unwrap_or(data_dir));
    let snapshots = files::list(&snap_dir, SNAPSHOT_PREFIX)?;
    let logs = files::list(&log_dir, LOG_PREFIX)?;
    if snapshots.is_empty() && logs.is_empty() {
        return Err(ApacheDataError::Invalid(format!(
            "no Apache ZooKeeper snapshot or transaction log in {}",
            snap_dir.display()
        )));
    }
    let mut report = ImportReport::default();
    let mut start = None;
    for (zxid, path) in snapshots.iter().rev() {
        match snapshot::read(path, &read_file(path)?) {
            Ok(snap) => {
                tracing::info!(path = %path.display(), znodes = snap.tree.node_count(), "Apache snapshot read");
                start = Some((*zxid, snap));
                report.snapshot = Some(path.clone());
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "skipping an unreadable Apache snapshot");
                report.skipped_snapshots.push(e.to_string());
            }
        }
    }
    if start.is_none() && !snapshots.is_empty() {
        return Err(ApacheDataError::Invalid(format!(
            "no readable snapshot: {}",
            report.skipped_snapshots.join("; ")
        )));
    }
    let (zxid, tree, sessions) = match start {
        Some((zxid, snap)) => (zxid, snap.tree, snap.sessions.into_iter().collect()),
        None => (0, DataTree::new(), BTreeMap::new()),
    };
    let mut state = replay::Replay {
        tree,
        sessions,
        zxid,
        time: 0,
    };
    // The log holding the transaction after the snapshot is the last one starting at or
    // before it; every later one follows.
    let first = logs.iter().rposition(|(z, _)| *z <= zxid).unwrap_or(0);
    for (_, path) in &logs[first..] {
        let log = txn_log::read(path, &read_file(path)?)?;
        report.log_files += 1;
        for (offset, txn) in log.txns {
            if txn.zxid <= state.zxid {
                continue;
            }
            let (epoch, counter) = (txn.zxid >> 32, txn.zxid & 0xffff_ffff);
            if epoch == state.zxid >> 32 && counter != (state.zxid & 0xffff_ffff) + 1 {
                return Err(ApacheDataError::Corrupt {
                    path: path.clone(),
                    offset,
                    reason: format!(
                        "gap in the transactions: zxid {:#x} follows {:#x}",
                        txn.zxid, state.zxid
                    ),
                });
            }
            report.txns += 1;
            state.apply(txn);
        }
        if let Some(offset) = log.torn_at {
            report.torn.push((path.clone(), offset));
        }
    }
    tracing::info!(
        txns = report.txns,
        zxid = format_args!("{:#x}", state.zxid),
        "Apache transaction logs replayed"
    );
    let last_time = state
        .tree
        .iter()
        .map(|(_, n)| n.stored_stat().mtime.max(n.stored_stat().ctime))
        .fold(state.time, i64::max);
    let mut sessions = SessionTable::default();
    for (id, timeout_ms) in state.sessions {
        let password = session_password(id).to_vec();
        sessions.insert(
            id,
            SessionRecord {
                timeout_ms,
                password,
            },
        );
    }
    report.zxid = state.zxid;
    report.znodes = state.tree.node_count();
    report.sessions = sessions.len();
    let image = Image {
        tree: state.tree,
        sessions,
        last_zxid: state.zxid,
        last_time,
    };
    Ok((image, report))
}

/// Imports Apache's data into a new zk-server data directory.
pub fn import(plan: &ImportPlan) -> Result<ImportReport, ApacheDataError> {
    let (image, report) = read_apache(&plan.apache_data_dir, plan.apache_log_dir.as_deref())?;
    let zxid = image.last_zxid;
    let state = ZkState::with_image(plan.settings.clone(), image);
    // A distributed server's `/zookeeper/config` lists its ensemble, as the server writes it.
    state.apply_membership(zxid, &plan.members);
    // Encoded straight into the new snapshot file: the state is never held encoded in memory.
    let frozen = state.freeze();
    drop(state);
    publish(&plan.data_dir, |dir| {
        let bytes = offline::seed(dir, dir, plan.my_id, &plan.members, zxid, &frozen)?;
        tracing::info!(bytes, "state written");
        Ok(())
    })?;
    Ok(report)
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// The snapshot written.
    pub snapshot: PathBuf,
    /// Its zxid.
    pub zxid: i64,
    /// Znodes (as Apache counts them).
    pub znodes: usize,
    /// Log entries appended after the last committed one, left out.
    pub uncommitted: u64,
}

/// Exports the state of a stopped zk-server member (its newest snapshot and the committed log
/// after it) as an Apache data directory `out`: `version-2/snapshot.<zxid>`, and
/// `acceptedEpoch` and `currentEpoch` with the zxid's epoch.
pub async fn export(
    data_dir: &Path,
    data_log_dir: &Path,
    settings: Settings,
    out: &Path,
) -> Result<ExportReport, ApacheDataError> {
    if !has_own_data(data_dir, data_log_dir) {
        return Err(ApacheDataError::Invalid(format!(
            "no zk-server data in {} (raft-snapshot/ or raft-log/)",
            data_dir.display()
        )));
    }
    let state = Arc::new(ZkState::new(settings));
    let (zxid, uncommitted) = offline::recover(data_dir, data_log_dir, state.clone()).await?;
    let mut image = image_of(&state)?;
    image.last_zxid = zxid;
    let bytes = snapshot::write(&image);
    let snapshot = write_data_dir(out, zxid, &bytes)?;
    Ok(ExportReport {
        snapshot,
        zxid,
        znodes: image.tree.node_count(),
        uncommitted,
    })
}

/// The state as it stands, copied through its own snapshot: the state is locked only while it
/// is frozen (a copy that shares the tree), then encoded outside the lock, as when the consensus
/// layer takes a snapshot.
fn image_of(state: &ZkState) -> Result<Image, ApacheDataError> {
    decode(&state.snapshot()).map_err(|e| ApacheDataError::Invalid(e.to_string()))
}

/// A snapshot of a running member's state in Apache's format: the zxid of the last transaction
/// it holds (one applied zxid: the copy is taken at one point) and the file's bytes.
pub fn live_snapshot(state: &ZkState) -> Result<(i64, Vec<u8>), ApacheDataError> {
    let image = image_of(state)?;
    Ok((image.last_zxid, snapshot::write(&image)))
}

/// Checks that `bytes` (named `label` in errors) are a whole Apache snapshot (header, nodes,
/// seals) and returns how many znodes it holds.
pub fn verify_snapshot(label: &Path, bytes: &[u8]) -> Result<usize, ApacheDataError> {
    Ok(snapshot::read(label, bytes)?.tree.node_count())
}

/// Writes the Apache data directory `out` (new, or empty) holding one snapshot, Apache's
/// `bytes` at `zxid`: `version-2/snapshot.<zxid>`, and `acceptedEpoch` and `currentEpoch` with
/// the zxid's epoch, so that Apache ZooKeeper starts on it and `zk-server import` reads it.
/// Returns the snapshot's path. Nothing is left at `out` on an error.
pub fn write_data_dir(out: &Path, zxid: i64, bytes: &[u8]) -> Result<PathBuf, ApacheDataError> {
    let name = files::name(SNAPSHOT_PREFIX, zxid);
    publish(out, |dir| {
        let version = dir.join(VERSION_DIR);
        std::fs::create_dir_all(&version).map_err(|e| ApacheDataError::io(&version, e))?;
        let epoch = (zxid >> 32).to_string();
        for (file, content) in [
            (name.as_str(), bytes),
            ("acceptedEpoch", epoch.as_bytes()),
            ("currentEpoch", epoch.as_bytes()),
        ] {
            let path = version.join(file);
            std::fs::write(&path, content).map_err(|e| ApacheDataError::io(&path, e))?;
        }
        Ok(())
    })?;
    Ok(out.join(VERSION_DIR).join(name))
}

/// Whether a zk-server member's storage is there.
fn has_own_data(data_dir: &Path, data_log_dir: &Path) -> bool {
    let non_empty = |dir: PathBuf| std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    non_empty(data_dir.join("raft-snapshot")) || non_empty(data_log_dir.join("raft-log"))
}

/// Refuses a `dataDir` (or `dataLogDir`) that holds Apache ZooKeeper's files and no data of
/// zk-server's: started there, the server would serve an empty tree.
pub fn refuse_apache_data(data_dir: &Path, data_log_dir: &Path) -> Result<(), ApacheDataError> {
    if has_own_data(data_dir, data_log_dir) {
        return Ok(());
    }
    for (dir, prefix) in [(data_dir, SNAPSHOT_PREFIX), (data_log_dir, LOG_PREFIX)] {
        let version = dir.join(VERSION_DIR);
        if !files::list(&version, prefix)?.is_empty() {
            return Err(ApacheDataError::Invalid(format!(
                "{} holds Apache ZooKeeper data ({VERSION_DIR}/{prefix}.*) and no data of this \
                 server; import it into a new directory first: zk-server import \
                 --apache-data-dir {} --data-dir NEW_DIR [--config zoo.cfg], then set dataDir \
                 to NEW_DIR",
                dir.display(),
                data_dir.display(),
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
