//! Making a member unable to serve without Kubernetes noticing a missing pod: every process of its container
//! is stopped (`SIGSTOP`) from the host, and continued (`SIGCONT`) later. Local backend only: the test runs as
//! root on the node and reaches containerd through `crictl`.

use std::path::PathBuf;

use crate::command::{helm_path, run};
use crate::{Error, Result};

/// containerd socket of the local cluster.
const RUNTIME_ENDPOINT: &str = "unix:///run/zkops-cluster/containerd.sock";

fn crictl() -> String {
    let bin: PathBuf = helm_path().with_file_name("crictl");
    bin.to_string_lossy().into_owned()
}

/// Host pid of the main process of the running container of `pod` in `namespace`.
async fn container_pid(namespace: &str, pod: &str) -> Result<u32> {
    let pod_label = format!("io.kubernetes.pod.name={pod}");
    let ns_label = format!("io.kubernetes.pod.namespace={namespace}");
    let crictl = crictl();
    let ids = run(
        &crictl,
        &[
            "-r",
            RUNTIME_ENDPOINT,
            "ps",
            "-q",
            "--state",
            "Running",
            "--label",
            &pod_label,
            "--label",
            &ns_label,
        ],
    )
    .await?;
    let id = ids
        .lines()
        .next()
        .ok_or_else(|| Error::Unexpected(format!("no running container of {namespace}/{pod}")))?;
    let pid = run(
        &crictl,
        &[
            "-r",
            RUNTIME_ENDPOINT,
            "inspect",
            "-o",
            "go-template",
            "--template",
            "{{.info.pid}}",
            id,
        ],
    )
    .await?;
    pid.trim()
        .parse()
        .map_err(|_| Error::Unexpected(format!("crictl inspect {id}: no pid in {pid:?}")))
}

/// Pids in the same `pids` cgroup as `pid`: every process of its container.
fn container_processes(pid: u32) -> Result<Vec<String>> {
    let io = |e: std::io::Error| Error::Unexpected(format!("reading the cgroup of pid {pid}: {e}"));
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(io)?;
    let path = cgroups
        .lines()
        .find_map(|l| l.split_once(":pids:").map(|(_, p)| p.to_string()))
        .ok_or_else(|| Error::Unexpected(format!("pid {pid} has no pids cgroup: {cgroups}")))?;
    let procs =
        std::fs::read_to_string(format!("/sys/fs/cgroup/pids{path}/cgroup.procs")).map_err(io)?;
    Ok(procs.lines().map(str::to_string).collect())
}

/// Sends `signal` (`STOP` or `CONT`) to every process of `pod`'s container.
pub async fn signal_member(namespace: &str, pod: &str, signal: &str) -> Result<()> {
    let pid = container_pid(namespace, pod).await?;
    let pids = container_processes(pid)?;
    let flag = format!("-{signal}");
    let mut args = vec![flag.as_str()];
    args.extend(pids.iter().map(String::as_str));
    run("kill", &args).await?;
    tracing::info!(%namespace, %pod, signal, processes = pids.len(), "signalled member");
    Ok(())
}
