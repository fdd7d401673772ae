//! `spec.backup` (scheduled backups of a running ensemble) and `spec.restoreFrom` (the data a new ensemble
//! starts with), and what the status says of the last backup.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Scheduled backups: a CronJob whose pod fetches a member's snapshot through its AdminServer (`snapshot`) and
/// keeps it on a volume as an Apache data directory `backup-<zxid>-<time>`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    /// When to back up, in cron syntax (the CronJob's schedule), e.g. `0 * * * *`. At most 128 characters:
    /// the API server prices a CEL rule by the longest string it may see.
    #[schemars(length(max = 128))]
    #[x_kube(validation = Rule::new("self.split(' ').filter(f, f != '').size() == 5 || self.startsWith('@')")
        .message("schedule must be a cron expression of five fields or a macro such as @hourly"))]
    pub schedule: String,
    /// Where the backups go.
    pub target: BackupTarget,
    /// How many backups to keep on the target, the newest; older ones are removed after each backup.
    #[serde(default = "default_retention")]
    #[schemars(range(min = 1))]
    pub retention: i32,
    /// Pause the schedule.
    #[serde(default)]
    pub suspend: bool,
}

/// A directory on a PersistentVolumeClaim.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupTarget {
    /// The claim, in the ensemble's namespace. A claim with access mode ReadWriteOnce must be mountable by the
    /// backup pod (no member uses it).
    pub claim_name: String,
    /// A directory within the claim; its root when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("!self.startsWith('/') && !self.contains('..')")
        .message("subPath must be a relative path without '..'"))]
    pub sub_path: Option<String>,
}

/// The data a new ensemble starts with: member 1 imports it (`zk-server import`, or a copy for Apache members) into
/// its empty volume before its first start, and the other members join it and receive it. Only for a new ensemble: it cannot be added
/// to or changed on an existing one.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSpec {
    /// The claim holding the data, in the ensemble's namespace (mounted read-only).
    pub claim_name: String,
    /// The directory within the claim: a backup (`backup-<zxid>-<time>`) or an Apache ZooKeeper data directory
    /// (holding `version-2/snapshot.*`, and the transaction logs after the newest snapshot).
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("!self.startsWith('/') && !self.contains('..')")
        .message("path must be a relative path without '..'"))]
    pub path: String,
    /// The directory within the claim holding the transaction logs (`version-2/log.*`), when they are kept apart
    /// from the snapshots, as Apache's `dataLogDir` does: `datalog` (with `path: data`) for the claim of a member
    /// of an Apache-flavour `ZkEnsemble`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("!self.startsWith('/') && !self.contains('..')")
        .message("logPath must be a relative path without '..'"))]
    pub log_path: Option<String>,
}

/// The last backup the operator saw complete.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    /// When it completed (RFC 3339).
    pub time: String,
    /// The zxid of the snapshot (hexadecimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zxid: Option<String>,
    /// The backup's directory on the target claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The Job that took it.
    pub job: String,
}

fn default_retention() -> i32 {
    7
}
