//! `zk-server backup`: fetches a running member's snapshot through its AdminServer command
//! `snapshot` (Apache ZooKeeper 3.9's, which zk-server answers too) and keeps it as an Apache data
//! directory `backup-<zxid>-<time>/version-2/snapshot.<zxid>` (with `acceptedEpoch` and
//! `currentEpoch`), so that `zk-server import --apache-data-dir` or Apache ZooKeeper itself
//! starts from it; then removes the oldest backups beyond the number to keep.
//!
//! The snapshot is checked (header, every node, the seals) before anything is written, and is
//! written into a temporary directory renamed into place, so a backup directory is whole or
//! absent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::apache_data::{self, ApacheDataError};

/// The prefix of backup directory names.
pub const PREFIX: &str = "backup-";

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// `--from` is not `[http://]host:port[/commandURL]`.
    #[error("invalid source {0:?}: expected [http://]host:port[/commandURL]")]
    Source(String),
    /// The member could not be reached or its answer not read.
    #[error("{address}: {reason}")]
    Http {
        /// The AdminServer.
        address: String,
        /// What went wrong.
        reason: String,
    },
    /// The member refused or failed (the status and its body).
    #[error("{address} answered {status}: {body}")]
    Refused {
        /// The AdminServer.
        address: String,
        /// The HTTP status.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// No time out of the request was left.
    #[error("{0}: no snapshot within {1:?}")]
    Timeout(String, Duration),
    /// The snapshot is damaged, or the backup could not be written.
    #[error(transparent)]
    Data(#[from] ApacheDataError),
}

/// One backup to take.
#[derive(Debug, Clone)]
pub struct BackupPlan {
    /// The member's AdminServer: `[http://]host:port[/commandURL]` (default `/commands`).
    pub from: String,
    /// The `Authorization` header, as Apache's: `ip`, or `digest user:password`.
    pub authorization: String,
    /// The directory holding the backups.
    pub out: PathBuf,
    /// How many backups to keep, the new one included (0 keeps every one).
    pub keep: usize,
    /// How long the request may take.
    pub timeout: Duration,
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupReport {
    /// The new backup's directory.
    pub dir: PathBuf,
    /// The snapshot file in it.
    pub snapshot: PathBuf,
    /// Its zxid.
    pub zxid: i64,
    /// Its size, bytes.
    pub bytes: usize,
    /// Its znodes.
    pub znodes: usize,
    /// The older backups removed.
    pub pruned: Vec<PathBuf>,
}

/// Takes the backup `plan` describes.
pub async fn backup(plan: &BackupPlan) -> Result<BackupReport, BackupError> {
    let (address, path) = source(&plan.from)?;
    let (zxid, bytes) = tokio::time::timeout(
        plan.timeout,
        fetch(&address, &format!("{path}/snapshot"), &plan.authorization),
    )
    .await
    .map_err(|_| BackupError::Timeout(address.clone(), plan.timeout))??;
    let time = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let dir = plan.out.join(name(zxid, &time));
    let znodes = apache_data::verify_snapshot(&dir, &bytes)?;
    std::fs::create_dir_all(&plan.out)
        .map_err(|e| BackupError::Data(ApacheDataError::io(&plan.out, e)))?;
    let snapshot = apache_data::write_data_dir(&dir, zxid, &bytes)?;
    let pruned = prune(&plan.out, plan.keep)?;
    Ok(BackupReport {
        dir,
        snapshot,
        zxid,
        bytes: bytes.len(),
        znodes,
        pruned,
    })
}

/// A backup's directory name: `backup-<zxid, 16 hex digits>-<UTC time>`.
fn name(zxid: i64, time: &str) -> String {
    format!("{PREFIX}{zxid:016x}-{time}")
}

/// The time part of a backup's name (`backup-<zxid>-<time>`), by which backups are ordered
/// (a restored ensemble's zxids start over from its backup's, so time, not zxid, says which is
/// newer).
fn time_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PREFIX)?;
    let (zxid, time) = rest.split_once('-')?;
    (zxid.len() == 16 && zxid.chars().all(|c| c.is_ascii_hexdigit())).then_some(time)
}

/// Removes the oldest backups in `out` beyond the newest `keep` (0 keeps every one).
pub fn prune(out: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let io = |e| BackupError::Data(ApacheDataError::io(out, e));
    let mut backups = Vec::new();
    for entry in std::fs::read_dir(out).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(time) = time_of(&name) {
            backups.push((time.to_string(), name, entry.path()));
        }
    }
    if keep == 0 || backups.len() <= keep {
        return Ok(Vec::new());
    }
    backups.sort();
    let excess = backups.len() - keep;
    let mut pruned = Vec::new();
    for (_, _, path) in backups.into_iter().take(excess) {
        std::fs::remove_dir_all(&path).map_err(io)?;
        pruned.push(path);
    }
    Ok(pruned)
}

/// `[http://]host:port[/commandURL]` → the address and the command URL.
fn source(from: &str) -> Result<(String, String), BackupError> {
    let rest = from.strip_prefix("http://").unwrap_or(from);
    let (address, path) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
        None => (rest, "/commands"),
    };
    let port_ok = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok || path.is_empty() {
        return Err(BackupError::Source(from.to_string()));
    }
    Ok((address.to_string(), path.to_string()))
}

/// `GET <path>` of `address`: the snapshot's zxid (the `last_zxid` header) and bytes.
async fn fetch(
    address: &str,
    path: &str,
    authorization: &str,
) -> Result<(i64, Bytes), BackupError> {
    let http = |e: &dyn std::fmt::Display| BackupError::Http {
        address: address.to_string(),
        reason: e.to_string(),
    };
    let stream = TcpStream::connect(address).await.map_err(|e| http(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| http(&e))?;
    let driver = tokio::spawn(connection);
    let request = Request::get(format!("{path}?streaming=true"))
        .header(hyper::header::HOST, address)
        .header(hyper::header::AUTHORIZATION, authorization)
        .body(Empty::<Bytes>::new())
        .map_err(|e| http(&e))?;
    let response = sender.send_request(request).await.map_err(|e| http(&e))?;
    let status = response.status();
    let zxid = response
        .headers()
        .get("last_zxid")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("0x"))
        .and_then(|v| u64::from_str_radix(v, 16).ok());
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| http(&e))?
        .to_bytes();
    driver.abort();
    match (status, zxid) {
        (StatusCode::OK, Some(zxid)) => Ok((zxid as i64, body)),
        (StatusCode::OK, None) => Err(http(&"the answer has no last_zxid header")),
        _ => Err(BackupError::Refused {
            address: address.to_string(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).trim().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_an_address_and_a_command_url() {
        let parsed = |from: &str| source(from).unwrap();
        assert_eq!(
            parsed("http://zk-1.zk:8080"),
            ("zk-1.zk:8080".into(), "/commands".into())
        );
        assert_eq!(
            parsed("10.0.0.1:9090/admin/"),
            ("10.0.0.1:9090".into(), "/admin".into())
        );
        for bad in ["zk-1", "http://:8080", "zk:port", "https://zk:8080/"] {
            assert!(source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prunes_the_oldest_backups_by_time_and_leaves_other_files() {
        let out = tempfile::tempdir().unwrap();
        // A restored ensemble's later backup may have a smaller zxid: time decides.
        let names = [
            name(0x5_0000_0010, "20260101T000000Z"),
            name(0x2_0000_0001, "20260102T000000Z"),
            name(0x2_0000_0100, "20260103T000000Z"),
        ];
        for n in &names {
            std::fs::create_dir(out.path().join(n)).unwrap();
        }
        std::fs::create_dir(out.path().join("notes")).unwrap();
        assert!(prune(out.path(), 0).unwrap().is_empty());
        assert!(prune(out.path(), 3).unwrap().is_empty());
        let pruned = prune(out.path(), 2).unwrap();
        assert_eq!(pruned, vec![out.path().join(&names[0])]);
        let mut left: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![names[1].clone(), names[2].clone(), "notes".into()]
        );
    }
}
