//! `spec.backup`: keeps the backup CronJob as the spec says (or removes it), and reads the Jobs it ran: the
//! newest succeeded one becomes `status.lastBackup` (its pod's report gives the zxid and the directory), with a
//! `BackupSucceeded` Event when it is new, and a failed Job newer than it a `BackupFailed` Warning.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::Context;
use super::apply::delete_if_present;
use super::observe::remembered_voters;
use super::reconcile::{apply_object, publish};
use crate::images::native_image;
use crate::resources::backup::{BACKUP_OF_LABEL, backup_cron_job, backup_cron_job_name};
use crate::types::{BackupStatus, ServerFlavour, ZkEnsemble};
use crate::{Result, kube_err};

/// Applies or removes the CronJob and returns the last backup to report.
pub(super) async fn reconcile_backup(
    zk: &ZkEnsemble,
    ctx: &Context,
) -> Result<Option<BackupStatus>> {
    let namespace = zk.namespace().unwrap_or_default();
    let previous = zk.status.as_ref().and_then(|s| s.last_backup.clone());
    // The backup pod needs zk-server: a Native ensemble's own image, otherwise the operator's default one.
    let image = match zk.spec.flavour {
        ServerFlavour::Native => ctx.settings.images.member_image(zk),
        ServerFlavour::Apache => native_image(),
    };
    let mut members: Vec<u32> = remembered_voters(zk).into_iter().collect();
    if members.is_empty() {
        members = (1..=zk.spec.replicas.max(1) as u32).collect();
    }
    match backup_cron_job(zk, &image, &members, &ctx.settings.cluster_domain) {
        Some(cron_job) => apply_object(zk, ctx, &cron_job, "applying the backup CronJob").await?,
        None => {
            let api = Api::<CronJob>::namespaced(ctx.client.clone(), &namespace);
            delete_if_present(
                &api,
                &backup_cron_job_name(zk),
                "deleting the backup CronJob",
            )
            .await?;
            return Ok(previous);
        }
    }
    let selector = format!("{BACKUP_OF_LABEL}={}", zk.name_any());
    let jobs = Api::<Job>::namespaced(ctx.client.clone(), &namespace)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(kube_err("listing backup Jobs"))?;
    let finished = |job: &Job, succeeded: bool| {
        let status = job.status.as_ref()?;
        let done = if succeeded {
            status.succeeded.unwrap_or(0) > 0
        } else {
            status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Failed" && c.status == "True")
        };
        let time = status
            .completion_time
            .as_ref()
            .map(|t| t.0)
            .or_else(|| job.metadata.creation_timestamp.as_ref().map(|t| t.0))?;
        done.then_some(time)
    };
    let newest = |succeeded: bool| {
        jobs.items
            .iter()
            .filter_map(|job| finished(job, succeeded).map(|time| (time, job)))
            .max_by_key(|(time, _)| *time)
    };
    let mut last = previous.clone();
    if let Some((time, job)) = newest(true)
        && previous.as_ref().is_none_or(|p| p.job != job.name_any())
    {
        let report = job_report(ctx, &namespace, &job.name_any()).await;
        let status = BackupStatus {
            time: time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            zxid: report
                .as_ref()
                .and_then(|r| r["zxid"].as_str().map(str::to_string)),
            path: report
                .as_ref()
                .and_then(|r| r["dir"].as_str().map(str::to_string)),
            job: job.name_any(),
        };
        let note = format!(
            "backup {} at zxid {} by Job {}",
            status.path.as_deref().unwrap_or("?"),
            status.zxid.as_deref().unwrap_or("?"),
            status.job
        );
        publish(
            zk,
            ctx,
            EventType::Normal,
            "BackupSucceeded",
            "Backup",
            note,
            None,
        )
        .await;
        last = Some(status);
    }
    if let Some((time, job)) = newest(false) {
        let after_last = last
            .as_ref()
            .is_none_or(|l| time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string() > l.time);
        if after_last {
            let note = format!("backup Job {} failed (see its pod's log)", job.name_any());
            publish(
                zk,
                ctx,
                EventType::Warning,
                "BackupFailed",
                "Backup",
                note,
                None,
            )
            .await;
        }
    }
    Ok(last)
}

/// The report `zk-server backup` left as the termination message of the Job's pod.
async fn job_report(ctx: &Context, namespace: &str, job: &str) -> Option<serde_json::Value> {
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), namespace)
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .ok()?;
    pods.items.iter().find_map(|pod| {
        let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
        let message = statuses
            .iter()
            .find_map(|s| s.state.as_ref()?.terminated.as_ref()?.message.clone())?;
        serde_json::from_str(&message).ok()
    })
}
