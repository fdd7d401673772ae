//! Snapshots of pods: identity (UID) and restart counts, to prove that a step left a pod alone.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use crate::error::kube_err;
use crate::{Error, Result};

/// One pod as observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodState {
    /// Pod UID: changes when the pod is recreated.
    pub uid: String,
    /// Sum of the containers' restart counts.
    pub restarts: i32,
    /// Whether the pod's Ready condition is true.
    pub ready: bool,
    /// Pod IP, when assigned.
    pub ip: Option<String>,
}

/// Pods by name.
pub type Snapshot = BTreeMap<String, PodState>;

fn state(pod: &Pod) -> PodState {
    let status = pod.status.clone().unwrap_or_default();
    PodState {
        uid: pod.uid().unwrap_or_default(),
        restarts: status
            .container_statuses
            .iter()
            .flatten()
            .map(|c| c.restart_count)
            .sum(),
        ready: status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
        ip: status.pod_ip,
    }
}

/// The pods matching `selector`, skipping those being deleted.
pub async fn snapshot(pods: &Api<Pod>, selector: &str) -> Result<Snapshot> {
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(kube_err("list pods"))?;
    Ok(list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| (p.name_any(), state(p)))
        .collect())
}

/// Names present in both snapshots: the pods a step was supposed to leave alone.
pub fn kept(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    before
        .keys()
        .filter(|name| after.contains_key(*name))
        .cloned()
        .collect()
}

/// Checks that each pod named in `kept` is the same pod in `before` and `after`, never restarted: same UID,
/// restart count unchanged.
pub fn assert_untouched(before: &Snapshot, after: &Snapshot, kept: &[String]) -> Result<()> {
    let mut problems = Vec::new();
    for name in kept {
        match (before.get(name), after.get(name)) {
            (Some(b), Some(a)) if b.uid != a.uid => {
                problems.push(format!("{name} was recreated (uid {} -> {})", b.uid, a.uid))
            }
            (Some(b), Some(a)) if a.restarts != b.restarts => problems.push(format!(
                "{name} restarted (restart count {} -> {})",
                b.restarts, a.restarts
            )),
            (Some(_), Some(_)) => {}
            (b, a) => problems.push(format!("{name}: before {b:?}, after {a:?}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Unexpected(problems.join("; ")))
    }
}
