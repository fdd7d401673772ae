//! A node of the cluster, and running a shell script on it. On the local backend the test runs as root on the
//! node and runs the script itself; on kind (a node whose provider id starts with `kind://`) the node is a
//! Docker container, and the same script runs in it through `docker exec` ([`NodeShell`]). A script can run
//! next to a pod's container: it gets the container's main process id as `$pid`, as `crictl` reports it (the
//! cluster cache's `crictl` on the local backend, the node's own on kind). On kind a whole node can also be
//! paused (`docker pause`): every process on it stops, its kubelet's included, as if the machine had gone
//! silent.

use std::path::PathBuf;
use std::process::{Command, Stdio};

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

/// How a shell script runs on a node: the one place where the backends differ in reaching a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeShell {
    /// The local backend's node, this machine: the script runs here (the test runs as root on it).
    Local,
    /// A kind node, the Docker container of this name: the script runs in it through `docker exec`.
    Kind(String),
}

impl NodeShell {
    /// How scripts run on `node`.
    pub fn of(node: &Node) -> Self {
        if is_kind(node) {
            NodeShell::Kind(node.name_any())
        } else {
            NodeShell::Local
        }
    }

    /// Runs `script` on the node with `sh -c`, `args` as `$1` on; returns what it printed.
    pub async fn run(&self, script: &str, args: &[&str]) -> Result<String> {
        let (program, args) = self.command_line(script, args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(program, &args).await
    }

    /// Runs `script` as [`NodeShell::run`] does, blocking, with its output discarded: for clean-up where no
    /// runtime may be left (a `Drop`). Returns whether it succeeded.
    pub fn run_blocking(&self, script: &str, args: &[&str]) -> bool {
        let (program, args) = self.command_line(script, args);
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// The program and the arguments that run `sh -c script sh args…` on the node.
    fn command_line(&self, script: &str, args: &[&str]) -> (&'static str, Vec<String>) {
        let shell = ["-c", script, "sh"].into_iter().chain(args.iter().copied());
        match self {
            NodeShell::Local => ("sh", shell.map(str::to_string).collect()),
            NodeShell::Kind(container) => {
                let exec = ["exec", container.as_str(), "sh"].into_iter().chain(shell);
                ("docker", exec.map(str::to_string).collect())
            }
        }
    }
}

/// Runs `script` on the node of `namespace/pod` with `$pid` set (see the module's doc) and `args` as `$4`
/// on; returns what it printed.
pub async fn run_beside(
    client: &Client,
    namespace: &str,
    pod: &str,
    script: &str,
    args: &[&str],
) -> Result<String> {
    let shell = NodeShell::of(&pod_node(client, namespace, pod).await?);
    let crictl = match shell {
        NodeShell::Local => {
            let crictl: PathBuf = helm_path().with_file_name("crictl");
            format!("{} -r {RUNTIME_ENDPOINT}", crictl.display())
        }
        NodeShell::Kind(_) => "crictl".to_string(),
    };
    let script = format!("{CONTAINER_PID}{script}");
    let args: Vec<&str> = [crictl.as_str(), namespace, pod]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    shell.run(&script, &args).await
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

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, provider_id: Option<&str>) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"providerID": provider_id},
        }))
        .unwrap()
    }

    #[test]
    fn a_kind_node_is_reached_in_its_container_and_another_node_here() {
        assert_eq!(
            NodeShell::of(&node(
                "zkops-worker2",
                Some("kind://docker/zkops/zkops-worker2")
            )),
            NodeShell::Kind("zkops-worker2".into())
        );
        assert_eq!(NodeShell::of(&node("host", None)), NodeShell::Local);
    }

    #[test]
    fn a_script_runs_in_a_kind_node_through_docker_exec_with_its_arguments() {
        let (program, args) =
            NodeShell::Kind("zkops-worker".into()).command_line("echo $1", &["a b"]);
        assert_eq!(program, "docker");
        assert_eq!(
            args,
            ["exec", "zkops-worker", "sh", "-c", "echo $1", "sh", "a b"]
        );
    }

    #[tokio::test]
    async fn a_script_runs_here_with_its_arguments_and_a_failure_is_an_error() {
        let shell = NodeShell::Local;
        let out = shell.run(r#"echo "$2/$1""#, &["a b", "c"]).await.unwrap();
        assert_eq!(out, "c/a b\n");
        assert!(shell.run("exit 3", &[]).await.is_err());
        assert!(shell.run_blocking(r#"[ "$1" = x ]"#, &["x"]));
        assert!(!shell.run_blocking(r#"[ "$1" = x ]"#, &["y"]));
    }
}
