//! `spec.restoreFrom` in member 1's pod: the claim mounted read-only at [`RESTORE_MOUNT`], and the variables that
//! tell the start script where the data (`RESTORE_FROM`) and, when apart, the transaction logs
//! (`RESTORE_LOG_FROM`) are.

use k8s_openapi::api::core::v1::{EnvVar, PersistentVolumeClaimVolumeSource, Volume, VolumeMount};

use crate::types::{RestoreSpec, ZkEnsemble};

/// Where member 1 of an ensemble with `spec.restoreFrom` finds the claim holding the data it starts with.
pub const RESTORE_MOUNT: &str = "/restore";
const RESTORE_VOLUME: &str = "restore";

/// The restore source of member `id`: `spec.restoreFrom` for member 1, nothing for the others (they join
/// member 1 and receive the data from it).
fn source(zk: &ZkEnsemble, id: u32) -> Option<&RestoreSpec> {
    zk.spec.restore_from.as_ref().filter(|_| id == 1)
}

/// `path` within the mounted claim.
fn mounted(path: &str) -> String {
    format!("{RESTORE_MOUNT}/{}", path.trim_end_matches('/'))
}

/// The start script's variables for member `id`: `RESTORE_FROM` (the data directory) and `RESTORE_LOG_FROM`
/// (the transaction logs' directory, with `logPath`).
pub fn restore_env(zk: &ZkEnsemble, id: u32) -> Vec<EnvVar> {
    let Some(restore) = source(zk, id) else {
        return Vec::new();
    };
    let var = |name: &str, path: &str| EnvVar {
        name: name.to_string(),
        value: Some(mounted(path)),
        ..EnvVar::default()
    };
    std::iter::once(var("RESTORE_FROM", &restore.path))
        .chain(
            restore
                .log_path
                .as_deref()
                .map(|log| var("RESTORE_LOG_FROM", log)),
        )
        .collect()
}

/// The claim of member `id`'s restore source, read-only.
pub fn restore_volume(zk: &ZkEnsemble, id: u32) -> Option<Volume> {
    source(zk, id).map(|restore| Volume {
        name: RESTORE_VOLUME.to_string(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: restore.claim_name.clone(),
            read_only: Some(true),
        }),
        ..Volume::default()
    })
}

/// Where member `id`'s container sees its restore source, read-only.
pub fn restore_mount(zk: &ZkEnsemble, id: u32) -> Option<VolumeMount> {
    source(zk, id).map(|_| VolumeMount {
        name: RESTORE_VOLUME.to_string(),
        mount_path: RESTORE_MOUNT.to_string(),
        read_only: Some(true),
        ..VolumeMount::default()
    })
}
