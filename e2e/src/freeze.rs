//! Making a member unable to serve without Kubernetes noticing a missing pod: every process of its container
//! is stopped (`SIGSTOP`) on its node, and continued (`SIGCONT`) later. The container's processes are those in
//! the PID namespace of its main process, as `crictl` reports it. On the local backend the test runs as root on
//! the node and reaches containerd through `crictl` from the cluster cache; on kind (a node whose provider id
//! starts with `kind://`) the node is a Docker container, and the same script runs in it through `docker exec`,
//! with the node's own `crictl`.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::{Api, Client};

use crate::command::{helm_path, run};
use crate::error::kube_err;
use crate::{Error, Result};

/// containerd socket of the local cluster.
const RUNTIME_ENDPOINT: &str = "unix:///run/zkops-cluster/containerd.sock";

/// Signals every process of a pod's container, run on the node by `sh -c` with the arguments `$1` (crictl
/// command), `$2` (namespace), `$3` (pod) and `$4` (signal); prints the pids it signalled.
const SIGNAL_SCRIPT: &str = r#"set -eu
crictl=$1
id=$($crictl ps -q --state Running --label "io.kubernetes.pod.namespace=$2" --label "io.kubernetes.pod.name=$3" | head -n 1)
[ -n "$id" ] || { echo "no running container of $2/$3" >&2; exit 1; }
pid=$($crictl inspect -o go-template --template '{{.info.pid}}' "$id")
ns=$(readlink "/proc/$pid/ns/pid")
pids=""
for dir in /proc/[0-9]*; do
    [ "$(readlink "$dir/ns/pid" 2>/dev/null)" = "$ns" ] && pids="$pids ${dir#/proc/}"
done
kill "-$4" $pids
echo $pids
"#;

/// Where the script runs: `docker exec` into a kind node, or this machine as the local cluster's node.
async fn node_command(client: &Client, namespace: &str, pod: &str) -> Result<Vec<String>> {
    let pod = Api::<Pod>::namespaced(client.clone(), namespace)
        .get(pod)
        .await
        .map_err(kube_err("get pod"))?;
    let node_name = pod.spec.and_then(|s| s.node_name).ok_or_else(|| {
        Error::Unexpected(format!(
            "{namespace}/{:?} is not scheduled",
            pod.metadata.name
        ))
    })?;
    let node = Api::<Node>::all(client.clone())
        .get(&node_name)
        .await
        .map_err(kube_err("get node"))?;
    let kind = node
        .spec
        .and_then(|s| s.provider_id)
        .is_some_and(|id| id.starts_with("kind://"));
    Ok(if kind {
        vec![
            "docker".into(),
            "exec".into(),
            node_name,
            "sh".into(),
            "-c".into(),
            SIGNAL_SCRIPT.into(),
            "sh".into(),
            "crictl".into(),
        ]
    } else {
        let crictl: PathBuf = helm_path().with_file_name("crictl");
        let crictl = format!("{} -r {RUNTIME_ENDPOINT}", crictl.display());
        vec![
            "sh".into(),
            "-c".into(),
            SIGNAL_SCRIPT.into(),
            "sh".into(),
            crictl,
        ]
    })
}

/// Sends `signal` (`STOP` or `CONT`) to every process of `pod`'s container.
pub async fn signal_member(
    client: &Client,
    namespace: &str,
    pod: &str,
    signal: &str,
) -> Result<()> {
    let mut command = node_command(client, namespace, pod).await?;
    command.extend([namespace.to_string(), pod.to_string(), signal.to_string()]);
    let args: Vec<&str> = command[1..].iter().map(String::as_str).collect();
    let pids = run(&command[0], &args).await?;
    tracing::info!(%namespace, %pod, signal, pids = pids.trim(), "signalled member");
    Ok(())
}
