//! The CronJob of `spec.backup`: its pod runs `zk-server backup`, which fetches a member's snapshot through the
//! AdminServer command `snapshot` (trying the members in turn) and keeps it on the target claim as
//! `backup-<zxid>-<time>`, removing the oldest beyond the retention. The report (JSON: directory, zxid) goes to
//! the container's termination message, where the operator reads it for the status.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Container, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::meta::{ADMIN_PORT, member_host, owned_meta};
use super::pod::restricted_container;
use crate::types::ZkEnsemble;

/// Label on the CronJob, its Jobs and their pods: the ensemble they back up.
pub const BACKUP_OF_LABEL: &str = "zookeeper.zkops.dev/backup-of";
/// Where the backup pod mounts the target.
const TARGET_MOUNT: &str = "/backup";
/// User and group of the backup pod, as the members'.
const BACKUP_UID: i64 = 1000;

/// Name of the ensemble's backup CronJob.
pub fn backup_cron_job_name(zk: &ZkEnsemble) -> String {
    format!("{}-backup", zk.metadata.name.as_deref().unwrap_or_default())
}

/// Labels of the backup objects (never the members' selector labels: a backup pod is no member).
pub fn backup_labels(zk: &ZkEnsemble) -> BTreeMap<String, String> {
    BTreeMap::from([(
        BACKUP_OF_LABEL.to_string(),
        zk.metadata.name.clone().unwrap_or_default(),
    )])
}

/// The backup CronJob of `zk`, whose pod runs `image` (one with `zk-server`) and asks `members` in turn; `None`
/// without `spec.backup`.
pub fn backup_cron_job(
    zk: &ZkEnsemble,
    image: &str,
    members: &[u32],
    cluster_domain: &str,
) -> Option<CronJob> {
    let backup = zk.spec.backup.as_ref()?;
    let mut command = vec!["zk-server".to_string(), "backup".to_string()];
    for id in members {
        command.push("--from".to_string());
        command.push(format!(
            "http://{}:{ADMIN_PORT}/commands",
            member_host(zk, *id, cluster_domain)
        ));
    }
    command.extend([
        "--out".to_string(),
        TARGET_MOUNT.to_string(),
        "--keep".to_string(),
        backup.retention.max(1).to_string(),
        "--report-file".to_string(),
        "/dev/termination-log".to_string(),
    ]);
    let labels = backup_labels(zk);
    let container = Container {
        name: "backup".to_string(),
        image: Some(image.to_string()),
        image_pull_policy: zk.spec.image_pull_policy.clone(),
        command: Some(command),
        volume_mounts: Some(vec![VolumeMount {
            name: "target".to_string(),
            mount_path: TARGET_MOUNT.to_string(),
            sub_path: backup.target.sub_path.clone(),
            ..VolumeMount::default()
        }]),
        security_context: Some(restricted_container()),
        ..Container::default()
    };
    let pod = PodSpec {
        containers: vec![container],
        volumes: Some(vec![Volume {
            name: "target".to_string(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: backup.target.claim_name.clone(),
                read_only: Some(false),
            }),
            ..Volume::default()
        }]),
        restart_policy: Some("Never".to_string()),
        automount_service_account_token: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_user: Some(BACKUP_UID),
            run_as_group: Some(BACKUP_UID),
            fs_group: Some(BACKUP_UID),
            run_as_non_root: Some(true),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    };
    Some(CronJob {
        metadata: owned_meta(zk, backup_cron_job_name(zk), labels.clone()),
        spec: Some(CronJobSpec {
            schedule: backup.schedule.clone(),
            suspend: Some(backup.suspend),
            concurrency_policy: Some("Forbid".to_string()),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(pod),
                    },
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        }),
        ..CronJob::default()
    })
}
