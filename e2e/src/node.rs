//! A member pod's node. Running a script on it, next to the pod's container: the script gets the container's
//! main process id as `$pid`, as `crictl` reports it. On the local backend the test runs as root on the node
//! and reaches containerd through `crictl` from the cluster cache; on kind (a node whose provider id starts
//! with `kind://`) the node is a Docker container, and the same script runs in it through `docker exec`, with
//! the node's own `crictl`. On kind a whole node can also be paused (`docker pause`): every process on it
//! stops, its kubelet's included, as if the machine had gone silent.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};

use crate::command::{helm_path, run};
use crate::error::kube_err;
use crate::{Error, Result};

/// containerd socket of the local cluster.
const RUNTIME_ENDPOINT: &str = "unix:///run/zkops-cluster/containerd.sock";

/// Sets `$pid` to the main process of a pod's running container, run by `sh -c` with the arguments `$1`
/// (crictl command), `$2` (namespace) and `$3` (pod); the script proper follows it, with its own arguments
/// from `$4` on.
const CONTAINER_PID: &str = r#"set -eu
crictl=$1
id=$($crictl ps -q --state Running --label "io.kubernetes.pod.namespace=$2" --label "io.kubernetes.pod.name=$3" | head -n 1)
[ -n "$id" ] || { echo "no running container of $2/$3" >&2; exit 1; }
pid=$($crictl inspect -o go-template --template '{{.info.pid}}' "$id")
"#;

/// Runs `script` on the node of `namespace/pod` with `$pid` set (see the module's doc) and `args` as `$4`
/// on; returns what it printed.
pub async fn run_beside(
    client: &Client,
    namespace: &str,
    pod: &str,
    script: &str,
    args: &[&str],
) -> Result<String> {
    let node = pod_node(client, namespace, pod).await?;
    let kind = is_kind(&node);
    let node_name = node.name_any();
    let script = format!("{CONTAINER_PID}{script}");
    let (program, mut command): (&str, Vec<String>) = if kind {
        let exec = ["exec", &node_name, "sh", "-c", &script, "sh", "crictl"];
        ("docker", exec.map(str::to_string).to_vec())
    } else {
        let crictl: PathBuf = helm_path().with_file_name("crictl");
        let crictl = format!("{} -r {RUNTIME_ENDPOINT}", crictl.display());
        ("sh", vec!["-c".into(), script, "sh".into(), crictl])
    };
    command.extend([namespace, pod].map(str::to_string));
    command.extend(args.iter().map(|a| a.to_string()));
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    run(program, &command).await
}

/// The node `namespace/pod` is scheduled on.
pub async fn pod_node(client: &Client, namespace: &str, pod: &str) -> Result<Node> {
    let found = Api::<Pod>::namespaced(client.clone(), namespace)
        .get(pod)
        .await
        .map_err(kube_err("get pod"))?;
    let node_name = found
        .spec
        .and_then(|s| s.node_name)
        .ok_or_else(|| Error::Unexpected(format!("{namespace}/{pod} is not scheduled")))?;
    Api::<Node>::all(client.clone())
        .get(&node_name)
        .await
        .map_err(kube_err("get node"))
}

/// Whether `node` is a kind node (a Docker container): its provider id starts with `kind://`.
pub fn is_kind(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .is_some_and(|id| id.starts_with("kind://"))
}

/// Whether every node of the cluster is a kind node.
pub async fn cluster_is_kind(client: &Client) -> Result<bool> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(kube_err("list nodes"))?;
    Ok(!nodes.items.is_empty() && nodes.items.iter().all(is_kind))
}

/// Pauses (`docker pause`) or unpauses the kind node `name`.
pub async fn set_paused(name: &str, paused: bool) -> Result<()> {
    let verb = if paused { "pause" } else { "unpause" };
    run("docker", &[verb, name]).await?;
    tracing::info!(node = name, verb, "kind node");
    Ok(())
}
