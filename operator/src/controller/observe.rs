//! Fetch: the ensemble's pods and volumes from Kubernetes, each member's state from `mntr` (and `isro`: whether
//! it refuses writes), and the committed configuration from the ensemble itself.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::ListParams;
use kube::{Api, Resource, ResourceExt};
use tracing::{debug, warn};

use super::Context;
use super::reconcile::Credentials;
use crate::ensemble_config::EnsembleConfig;
use crate::planner::{MemberView, Observed, PodView, VolumeView};
use crate::resources::meta::{
    BOOTSTRAP_VERSION_ANNOTATION, CLIENT_PORT, CREDENTIALS_ANNOTATION, MEMBER_ID_LABEL,
    POD_SPEC_HASH_ANNOTATION, RELEASED_LABEL, SECURE_CLIENT_PORT, member_host, plain_client_port,
    selector_string, server_line,
};
use crate::resources::pod::{pod_spec_hash, pod_template};
use crate::types::ZkEnsemble;
use crate::zk::{Endpoint, EnsembleClient, MemberState, Transport, mntr, refuses_writes};
use crate::{Result, kube_err};

/// What one fetch found: the planner's view plus the objects behind it.
pub(super) struct Observation {
    /// The planner's input.
    pub observed: Observed,
    /// Member pods by id.
    pub pods: BTreeMap<u32, Pod>,
    /// Member states by id, for members that answered `mntr`.
    pub states: BTreeMap<u32, MemberState>,
    /// A session with the ensemble, when one could be opened.
    pub session: Option<EnsembleClient>,
    /// How the members' client ports are reached.
    pub transport: Transport,
}

impl Observation {
    /// The committed configuration, or while it cannot be read, the one rebuilt from the voters and version
    /// recorded in the status.
    pub fn membership(&self, zk: &ZkEnsemble, cluster_domain: &str) -> EnsembleConfig {
        if let Some(committed) = &self.observed.committed {
            return committed.clone();
        }
        let version = zk
            .status
            .as_ref()
            .and_then(|s| s.config_version.as_deref())
            .and_then(|v| i64::from_str_radix(v, 16).ok())
            .unwrap_or_default();
        let servers = self
            .observed
            .remembered_voters
            .iter()
            .map(|&id| (id, server_line(zk, id, cluster_domain)))
            .collect();
        EnsembleConfig { version, servers }
    }
}

fn member_id<K: ResourceExt>(object: &K) -> Option<u32> {
    object.labels().get(MEMBER_ID_LABEL)?.parse().ok()
}

/// Whether `object` is going: being deleted, or left by an ensemble of the same name that was deleted (its
/// controller is another ZkEnsemble, so the garbage collector removes it). A left-over pod is neither
/// probed nor counted as a member of `zk`: it may run the old ensemble's members with their data.
fn going<K: ResourceExt>(object: &K, zk: &ZkEnsemble) -> bool {
    let controlled_by_another = object.owner_references().iter().any(|owner| {
        owner.controller == Some(true)
            && owner.kind == ZkEnsemble::kind(&())
            && Some(owner.uid.as_str()) != zk.metadata.uid.as_deref()
    });
    object.meta().deletion_timestamp.is_some() || controlled_by_another
}

fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn restart_count(pod: &Pod) -> i32 {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    statuses.map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

/// A fresh start: not ready, never restarted, and not ready at any time since its containers started. A pod
/// that was ready and then stopped answering (hung, stopped, cut off) has its Ready condition turned False
/// after its containers started, and is down rather than starting.
fn is_starting(pod: &Pod) -> bool {
    if is_ready(pod) || restart_count(pod) > 0 {
        return false;
    }
    let status = pod.status.as_ref();
    let lost_readiness_at = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_transition_time.as_ref());
    let started_at = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
        .max();
    match (lost_readiness_at, started_at) {
        (Some(lost), Some(started)) => lost.0 <= started.0,
        _ => true,
    }
}

/// Whether `pod` was created less than `bound` ago (a pod without a creation time counts as new).
fn within(pod: &Pod, bound: Duration) -> bool {
    pod.metadata
        .creation_timestamp
        .as_ref()
        .is_none_or(|created| {
            let age = jiff::Timestamp::now().duration_since(created.0);
            age < jiff::SignedDuration::try_from(bound).unwrap_or(jiff::SignedDuration::MAX)
        })
}

/// The address of `pod`'s server on `port`, once the pod has an IP.
pub(super) fn pod_address(pod: &Pod, port: i32) -> Option<String> {
    Some(format!("{}:{port}", pod_ip(pod)?))
}

/// The client port of member `id`'s pod as the operator reaches it: the plain port, or the TLS port when the
/// ensemble has no plain one.
pub(super) fn client_endpoint(
    zk: &ZkEnsemble,
    id: u32,
    pod: &Pod,
    cluster_domain: &str,
) -> Option<Endpoint> {
    let port = if plain_client_port(zk) {
        CLIENT_PORT
    } else {
        SECURE_CLIENT_PORT
    };
    Some(Endpoint {
        address: pod_address(pod, port)?,
        host: member_host(zk, id, cluster_domain),
    })
}

fn pod_ip(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .pod_ip
        .clone()
        .filter(|ip| !ip.is_empty())
}

/// Fetches everything the planner needs for `zk`.
pub(super) async fn observe(
    zk: &ZkEnsemble,
    ctx: &Context,
    credentials: &Credentials,
    transport: Transport,
) -> Result<Observation> {
    let namespace = zk.namespace().unwrap_or_default();
    let selector = ListParams::default().labels(&selector_string(zk));
    let pod_list = Api::<Pod>::namespaced(ctx.client.clone(), &namespace)
        .list(&selector)
        .await
        .map_err(kube_err("listing member pods"))?;
    let volume_list = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), &namespace)
        .list(&selector)
        .await
        .map_err(kube_err("listing member volumes"))?;
    let pods: BTreeMap<u32, Pod> = pod_list
        .items
        .into_iter()
        .filter_map(|p| Some((member_id(&p)?, p)))
        .collect();

    let timeout = ctx.settings.zk_timeout;
    let domain = &ctx.settings.cluster_domain;
    let transport_ref = &transport;
    let probes = pods
        .iter()
        .filter(|(_, p)| !going(*p, zk))
        .filter_map(|(&id, pod)| {
            let endpoint = client_endpoint(zk, id, pod, domain)?;
            Some(async move {
                let state = mntr(&endpoint, transport_ref, timeout).await;
                let read_only = match state {
                    Ok(_) => refuses_writes(&endpoint, transport_ref, timeout)
                        .await
                        .inspect_err(|error| debug!(member = id, %error, "isro failed"))
                        .unwrap_or(false),
                    Err(_) => false,
                };
                (id, endpoint, state, read_only)
            })
        });
    let mut states = BTreeMap::new();
    let mut read_only = BTreeSet::new();
    let mut endpoints = Vec::new();
    for (id, endpoint, result, refuses) in futures::future::join_all(probes).await {
        match result {
            Ok(state) => {
                if state.synced {
                    endpoints.push(endpoint);
                }
                states.insert(id, state);
            }
            Err(error) => debug!(member = id, %error, "mntr failed"),
        }
        if refuses {
            read_only.insert(id);
        }
    }

    let mut session = None;
    let mut committed = None;
    if !endpoints.is_empty() {
        match EnsembleClient::connect(&endpoints, &transport, &credentials.password, timeout).await
        {
            Ok(client) => {
                match client.committed_config().await {
                    Ok(config) => committed = Some(config),
                    Err(error) => {
                        warn!(ensemble = %zk.name_any(), %error, "reading the committed configuration")
                    }
                }
                session = Some(client);
            }
            Err(error) => warn!(ensemble = %zk.name_any(), %error, "connecting to the ensemble"),
        }
    }

    let image = ctx.settings.images.member_image(zk);
    let mut members: BTreeMap<u32, MemberView> = BTreeMap::new();
    for (&id, pod) in &pods {
        let state = states.get(&id);
        let annotations = pod.annotations();
        let wanted_hash = pod_spec_hash(zk, &pod_template(zk, id, &image));
        members.entry(id).or_default().pod = Some(PodView {
            terminating: going(pod, zk),
            // Ready (the AdminServer answers) or answering `mntr`: either shows the server runs.
            running: is_ready(pod) || state.is_some(),
            ready: is_ready(pod),
            starting: state.is_none() && is_starting(pod),
            within_start_bound: within(pod, ctx.settings.member_start_timeout),
            role: state.map(|s| s.role),
            synced: state.is_some_and(|s| s.synced),
            read_only: read_only.contains(&id),
            up_to_date: annotations.get(POD_SPEC_HASH_ANNOTATION) == Some(&wanted_hash),
            bootstrap_version: annotations
                .get(BOOTSTRAP_VERSION_ANNOTATION)
                .and_then(|v| i64::from_str_radix(v, 16).ok())
                .unwrap_or(-1),
            credentials_current: annotations.get(CREDENTIALS_ANNOTATION)
                == Some(&credentials.fingerprint),
        });
    }
    for volume in &volume_list.items {
        let Some(id) = member_id(volume) else {
            continue;
        };
        members.entry(id).or_default().volume = Some(VolumeView {
            terminating: going(volume, zk),
            released: volume
                .labels()
                .get(RELEASED_LABEL)
                .is_some_and(|v| v == "true"),
        });
    }
    let remembered_voters = remembered_voters(zk);

    Ok(Observation {
        observed: Observed {
            committed,
            remembered_voters,
            members,
        },
        pods,
        states,
        session,
        transport,
    })
}

/// The voters the status last recorded.
pub(super) fn remembered_voters(zk: &ZkEnsemble) -> BTreeSet<u32> {
    zk.status
        .as_ref()
        .map(|s| {
            s.members
                .iter()
                .filter(|m| m.voting)
                .map(|m| m.id)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn ensemble(uid: &str) -> ZkEnsemble {
        let mut zk: ZkEnsemble = serde_json::from_value(serde_json::json!({
            "apiVersion": "zookeeper.zkops.dev/v1alpha1",
            "kind": "ZkEnsemble",
            "metadata": { "name": "demo", "namespace": "apps" },
            "spec": {}
        }))
        .expect("a minimal ensemble");
        zk.metadata.uid = Some(uid.into());
        zk
    }

    #[test]
    fn what_a_deleted_ensemble_of_the_same_name_left_is_going() {
        let (old, new) = (ensemble("old-uid"), ensemble("new-uid"));
        let owned_by = |zk: &ZkEnsemble| Pod {
            metadata: kube::api::ObjectMeta {
                owner_references: zk.controller_owner_ref(&()).map(|r| vec![r]),
                ..Default::default()
            },
            ..Pod::default()
        };
        assert!(!going(&owned_by(&new), &new));
        assert!(going(&owned_by(&old), &new), "the old ensemble's pod");
        // A retained volume has no owner: the ensemble re-created over it adopts it.
        assert!(!going(&PersistentVolumeClaim::default(), &new));
        let mut deleted = owned_by(&new);
        deleted.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        assert!(going(&deleted, &new));
    }
}
