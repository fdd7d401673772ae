//! Apply: carries out one planned step. Creating an object that already exists, or deleting one that is already
//! gone, counts as done, so a step repeated after an operator restart is harmless.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::info;

use super::observe::{Observation, client_endpoint, pod_address};
use super::reconcile::Credentials;
use super::{Context, FIELD_MANAGER};
use crate::ensemble_config::EnsembleConfig;
use crate::planner::{Role, Step, adoptable_volumes};
use crate::resources::meta::{ADMIN_PORT, RELEASED_LABEL, pod_name, pvc_name, server_line};
use crate::resources::pod::member_pod;
use crate::resources::pvc::volume_claim;
use crate::types::ZkEnsemble;
use crate::zk::{EnsembleClient, TRANSFER_TIMEOUT, ZkError, leader_transfer, mntr};
use crate::{Result, kube_err};

/// Creates `object` unless it exists.
pub(super) async fn create_if_absent<K>(
    api: &Api<K>,
    object: &K,
    action: &'static str,
) -> Result<()>
where
    K: Resource + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    match api
        .create(
            &PostParams {
                field_manager: Some(FIELD_MANAGER.to_string()),
                ..PostParams::default()
            },
            object,
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_already_exists() || status.is_conflict() => {
            Ok(())
        }
        Err(error) => Err(kube_err(action)(error)),
    }
}

/// Deletes `name` unless it is gone already.
pub(super) async fn delete_if_present<K>(
    api: &Api<K>,
    name: &str,
    action: &'static str,
) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(error) => Err(kube_err(action)(error)),
    }
}

/// Creates the volume (if absent) and pod of member `id` with start-up config `bootstrap`.
async fn create_member(
    zk: &ZkEnsemble,
    ctx: &Context,
    credentials: &Credentials,
    id: u32,
    bootstrap: &EnsembleConfig,
) -> Result<()> {
    let namespace = zk.namespace().unwrap_or_default();
    let volumes = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), &namespace);
    create_if_absent(&volumes, &volume_claim(zk, id), "creating a member volume").await?;
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), &namespace);
    create_if_absent(
        &pods,
        &member_pod(
            zk,
            id,
            &ctx.settings.images.member_image(zk),
            &credentials.fingerprint,
            bootstrap,
        ),
        "creating a member pod",
    )
    .await
}

fn session(obs: &Observation) -> Result<&EnsembleClient> {
    obs.session
        .as_ref()
        .ok_or(ZkError::Timeout("connecting to the ensemble").into())
}

/// Pause between two looks at the members while a hand-over completes.
const HAND_OVER_POLL: Duration = Duration::from_millis(100);

/// Hands the leadership of member `id` over through its AdminServer's `leader_transfer`, then waits until the
/// new leader leads in the broadcast phase and member `id` follows it in sync, so that the next reconcile
/// restarts `id` as a synced follower.
async fn hand_over(zk: &ZkEnsemble, ctx: &Context, obs: &Observation, id: u32) -> Result<()> {
    let address = |member: u32, port: i32| {
        obs.pods
            .get(&member)
            .and_then(|pod| pod_address(pod, port))
            .ok_or(ZkError::NoAddress(member))
    };
    let started = Instant::now();
    let leader = leader_transfer(&address(id, ADMIN_PORT)?, id).await?;
    let endpoint = |member: u32| {
        obs.pods
            .get(&member)
            .and_then(|pod| client_endpoint(zk, member, pod, &ctx.settings.cluster_domain))
            .ok_or(ZkError::NoAddress(member))
    };
    let (old, new) = (endpoint(id)?, endpoint(leader)?);
    let (timeout, transport) = (ctx.settings.zk_timeout, &obs.transport);
    let settled = async {
        loop {
            let (old, new) = tokio::join!(
                mntr(&old, transport, timeout),
                mntr(&new, transport, timeout)
            );
            if let (Ok(old), Ok(new)) = (old, new)
                && old.synced
                && old.role == Role::Follower
                && new.synced
                && new.role == Role::Leader
            {
                return;
            }
            tokio::time::sleep(HAND_OVER_POLL).await;
        }
    };
    tokio::time::timeout(TRANSFER_TIMEOUT, settled)
        .await
        .map_err(|_| ZkError::Timeout("the hand-over settling"))?;
    info!(ensemble = %zk.name_any(), from = id, to = leader, took = ?started.elapsed(), "leadership handed over");
    Ok(())
}

/// Carries out `step` for `zk`.
pub(super) async fn apply_step(
    step: Step,
    zk: &ZkEnsemble,
    ctx: &Context,
    obs: &Observation,
    credentials: &Credentials,
) -> Result<()> {
    let namespace = zk.namespace().unwrap_or_default();
    let domain = &ctx.settings.cluster_domain;
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), &namespace);
    let volumes = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), &namespace);
    let membership = obs.membership(zk, domain);
    match step {
        Step::Bootstrap { id } => {
            let alone = EnsembleConfig::default().with_server(server_line(zk, id, domain));
            create_member(zk, ctx, credentials, id, &alone).await?;
        }
        Step::CreateMember { id } => {
            create_member(
                zk,
                ctx,
                credentials,
                id,
                &membership.with_server(server_line(zk, id, domain)),
            )
            .await?;
        }
        Step::RecreatePod { id } => create_member(zk, ctx, credentials, id, &membership).await?,
        Step::AdoptVolume { id } => {
            // A volume holding a newer dynamic config that lists its member boots from that (the start
            // script's rule); an empty one from every adopted volume's member, as all the others would.
            let adopted = adoptable_volumes(&obs.observed)
                .into_iter()
                .fold(EnsembleConfig::default(), |config, other| {
                    config.with_server(server_line(zk, other, domain))
                });
            create_member(zk, ctx, credentials, id, &adopted).await?;
        }
        Step::AddMember { id } => {
            let config = session(obs)?
                .ensure_added(&server_line(zk, id, domain), membership.version)
                .await?;
            info!(ensemble = %zk.name_any(), member = id, version = %config.version_hex(), "member added");
        }
        Step::RemoveMember { id } => {
            let client = session(obs)?;
            let config = client.ensure_removed(id, membership.version).await?;
            client
                .confirm_quorum_write(&format!("removed {id} at version {}", config.version_hex()))
                .await?;
            info!(ensemble = %zk.name_any(), member = id, version = %config.version_hex(), "member removed");
        }
        Step::TransferLeadership { id } => hand_over(zk, ctx, obs, id).await?,
        Step::DeletePod { id } | Step::RestartMember { id } => {
            delete_if_present(&pods, &pod_name(zk, id), "deleting a member pod").await?;
        }
        Step::DeleteVolume { id } => {
            delete_if_present(&volumes, &pvc_name(zk, id), "deleting a member volume").await?;
        }
        Step::ReleaseVolume { id } => {
            let patch = json!({ "metadata": { "labels": { RELEASED_LABEL: "true" } } });
            volumes
                .patch(
                    &pvc_name(zk, id),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .map_err(kube_err("releasing a member volume"))?;
        }
        Step::Wait(_) | Step::Blocked(_) | Step::Idle => {}
    }
    Ok(())
}
