//! Status: what is written back after each reconcile, with the Ready, Progressing and Degraded conditions.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use tracing::info;

use super::observe::Observation;
use super::{Context, FIELD_MANAGER};
use crate::planner::{Blocker, Role, Step, adoptable_volumes};
use crate::resources::meta::{
    RELEASED_LABEL, client_ports, client_service_host, pod_name, pvc_name, selector_string,
};
use crate::types::{
    Condition, ConditionStatus, ConditionType, MemberStatus, StepStatus, ZkEnsemble,
    ZkEnsembleStatus,
};
use crate::{Result, kube_err};

/// One condition, keeping the previous transition time when its status did not change.
fn condition(
    zk: &ZkEnsemble,
    now: &str,
    type_: ConditionType,
    holds: bool,
    reason: &str,
    message: String,
) -> Condition {
    let status = if holds {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    let previous = zk
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_));
    let last_transition_time = match previous {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => now.to_string(),
    };
    Condition {
        type_,
        status,
        reason: reason.to_string(),
        message,
        last_transition_time,
        observed_generation: zk.metadata.generation,
    }
}

/// What the conditions say about `step`: the step itself, and for a blocker the user must resolve, what to do.
fn describe(zk: &ZkEnsemble, obs: &Observation, step: &Step) -> String {
    match step {
        Step::Blocked(Blocker::NoQuorumOnRetainedVolumes) => {
            let volumes: Vec<String> = adoptable_volumes(&obs.observed)
                .into_iter()
                .map(|id| pvc_name(zk, id))
                .collect();
            format!(
                "{step}: volumes {} hold configurations that do not make one ensemble (or the members are still                  electing). If this lasts, keep the volumes of the ensemble's last members: delete each other                  volume, or label it {RELEASED_LABEL}=true to keep it out, and delete its member's pod",
                volumes.join(", ")
            )
        }
        _ => step.to_string(),
    }
}

/// The three conditions for a planned `step`, described by `message`.
fn conditions(zk: &ZkEnsemble, now: &str, step: &Step, message: String) -> Vec<Condition> {
    let (progressing, degraded) = match step {
        Step::Idle => (false, false),
        Step::Blocked(_) => (false, true),
        _ => (true, false),
    };
    let degraded_reason = match step {
        Step::Blocked(blocker) => blocker.reason(),
        _ => "AsExpected",
    };
    vec![
        condition(
            zk,
            now,
            ConditionType::Ready,
            *step == Step::Idle,
            step.action(),
            message.clone(),
        ),
        condition(
            zk,
            now,
            ConditionType::Progressing,
            progressing,
            step.action(),
            message.clone(),
        ),
        condition(
            zk,
            now,
            ConditionType::Degraded,
            degraded,
            degraded_reason,
            message,
        ),
    ]
}

/// The status after planning `step` from `obs`.
pub(super) fn build_status(
    zk: &ZkEnsemble,
    obs: &Observation,
    step: &Step,
    now: &str,
    domain: &str,
) -> ZkEnsembleStatus {
    let membership = obs.membership(zk, domain);
    let voters: Vec<u32> = membership.participants().collect();
    let members: Vec<MemberStatus> = obs
        .pods
        .keys()
        .chain(membership.servers.keys())
        .copied()
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .map(|id| {
            let state = obs.states.get(&id);
            MemberStatus {
                id,
                pod: pod_name(zk, id),
                role: match state.map(|s| s.role) {
                    Some(Role::Leader) => "leader",
                    Some(Role::Follower) => "follower",
                    Some(Role::Observer) => "observer",
                    Some(Role::Looking) => "looking",
                    None => "unknown",
                }
                .to_string(),
                synced: state.is_some_and(|s| s.synced),
                voting: membership.is_participant(id),
            }
        })
        .collect();
    let leader = members
        .iter()
        .find(|m| m.voting && m.role == "leader")
        .map(|m| m.pod.clone());
    let ready = members.iter().filter(|m| m.voting && m.synced).count() as i32;
    let observers: Vec<u32> = membership.observers().collect();
    let ready_observers = members
        .iter()
        .filter(|m| observers.contains(&m.id) && m.synced)
        .count() as i32;
    let previous_step = zk.status.as_ref().and_then(|s| s.step.as_ref());
    let step_status = match step {
        Step::Idle => None,
        _ => Some(StepStatus {
            action: step.action().to_string(),
            member: step.member(),
            message: step.to_string(),
            started_at: match previous_step {
                Some(p) if p.action == step.action() && p.member == step.member() => {
                    p.started_at.clone()
                }
                _ => now.to_string(),
            },
        }),
    };
    ZkEnsembleStatus {
        replicas: voters.len() as i32,
        ready_replicas: ready,
        observers: observers.len() as i32,
        ready_observers,
        selector: selector_string(zk),
        members,
        leader,
        connection_string: client_ports(zk)
            .first()
            .map(|(_, port)| format!("{}:{port}", client_service_host(zk, domain))),
        config_version: obs
            .observed
            .committed
            .as_ref()
            .map(|c| c.version_hex())
            .or_else(|| zk.status.as_ref().and_then(|s| s.config_version.clone())),
        observed_generation: zk.metadata.generation,
        conditions: conditions(zk, now, step, describe(zk, obs, step)),
        step: step_status,
        last_backup: zk.status.as_ref().and_then(|s| s.last_backup.clone()),
    }
}

/// The status of a spec that cannot be acted on: the rest is kept, Degraded says why (`reason`, `message`).
pub(super) fn refused_status(
    zk: &ZkEnsemble,
    now: &str,
    reason: &str,
    message: String,
) -> ZkEnsembleStatus {
    let mut status = zk.status.clone().unwrap_or_default();
    status.selector = selector_string(zk);
    status.observed_generation = zk.metadata.generation;
    status.conditions = [
        (ConditionType::Ready, false),
        (ConditionType::Progressing, false),
        (ConditionType::Degraded, true),
    ]
    .into_iter()
    .map(|(type_, holds)| condition(zk, now, type_, holds, reason, message.clone()))
    .collect();
    status
}

/// Writes `status` to `zk` itself: a JSON patch that first tests the object's uid, so a reconcile that
/// began before the ensemble was deleted and re-created under the same name cannot write the old
/// ensemble's members and configuration into the new one's status (where they would be taken for voters
/// to recreate). A server-side apply cannot carry that condition: the status subresource ignores every
/// change of metadata, the uid included. A refused or vanished object is logged and left alone; the new
/// ensemble is reconciled on its own.
pub(super) async fn write_status(
    zk: &ZkEnsemble,
    ctx: &Context,
    status: &ZkEnsembleStatus,
) -> Result<()> {
    let api =
        Api::<ZkEnsemble>::namespaced(ctx.client.clone(), &zk.namespace().unwrap_or_default());
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    let patch = status_patch(zk, status);
    match api
        .patch_status(&zk.name_any(), &params, &Patch::<()>::Json(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(refusal))
            if refusal.code == 404
                || (refusal.code == 422 && refusal.message.contains(UID_PATH)) =>
        {
            info!(
                ensemble = %zk.name_any(),
                uid = zk.uid().unwrap_or_default(),
                "the ensemble was deleted (or re-created under its name) during this reconcile: its status is not written"
            );
            Ok(())
        }
        Err(error) => Err(kube_err("writing status")(error)),
    }
}

/// Where the object's uid is, as a JSON pointer.
const UID_PATH: &str = "/metadata/uid";

/// The JSON patch writing `status` to `zk`: a test of its uid, then the whole status.
fn status_patch(zk: &ZkEnsemble, status: &ZkEnsembleStatus) -> json_patch::Patch {
    serde_json::from_value(json!([
        { "op": "test", "path": UID_PATH, "value": zk.uid() },
        { "op": "add", "path": "/status", "value": status },
    ]))
    .expect("a test and an add make a JSON patch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_patch_applies_only_to_the_ensemble_it_was_computed_for() {
        let mut zk: ZkEnsemble = serde_json::from_value(json!({
            "apiVersion": "zookeeper.zkops.dev/v1alpha1",
            "kind": "ZkEnsemble",
            "metadata": { "name": "demo", "namespace": "apps", "uid": "0a1b2c3d" },
            "spec": {}
        }))
        .expect("a minimal ensemble");
        let status = ZkEnsembleStatus {
            config_version: Some("100000003".into()),
            ..ZkEnsembleStatus::default()
        };
        let patch = |zk: &ZkEnsemble| serde_json::to_value(status_patch(zk, &status)).unwrap();
        assert_eq!(
            patch(&zk),
            json!([
                { "op": "test", "path": "/metadata/uid", "value": "0a1b2c3d" },
                { "op": "add", "path": "/status", "value": serde_json::to_value(&status).unwrap() },
            ])
        );
        zk.metadata.uid = Some("4e5f".into());
        assert_eq!(patch(&zk)[0]["value"], "4e5f");
    }
}
