//! The operator as users install it: the Helm chart in `charts/zk-operator`, release `zk-operator` in namespace
//! `zk-operator`, running the locally built image.

use crate::Result;
use crate::command::{helm, kubectl, repo_root};

/// Helm release name of the operator.
pub const RELEASE: &str = "zk-operator";
/// Namespace the operator runs in.
pub const NAMESPACE: &str = "zk-operator";
/// Label selector of the operator's pods.
pub const POD_SELECTOR: &str = "app.kubernetes.io/name=zk-operator";

/// Chart values every install uses: the preloaded image is never pulled, and a member has one minute to start
/// and sync before it blocks the ensemble (scenario h waits that long for a member that never starts).
const VALUES: &[&str] = &[
    "--set",
    "image.pullPolicy=Never",
    "--set",
    "memberStartTimeoutSeconds=60",
];

/// The start-up bound those values give members.
pub const MEMBER_START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn chart() -> String {
    repo_root()
        .join("charts/zk-operator")
        .to_string_lossy()
        .into_owned()
}

/// Whether the release is installed.
pub async fn installed() -> bool {
    helm(&["status", RELEASE, "-n", NAMESPACE]).await.is_ok()
}

/// `helm install` (or `helm upgrade` with `upgrade`) of the chart, waiting until the Deployment is available.
pub async fn helm_apply(upgrade: bool, extra: &[&str]) -> Result<String> {
    let chart = chart();
    let mut args = vec![
        if upgrade { "upgrade" } else { "install" },
        RELEASE,
        &chart,
        "-n",
        NAMESPACE,
        "--create-namespace",
        "--wait",
        "--timeout",
        "180s",
    ];
    args.extend_from_slice(VALUES);
    args.extend_from_slice(extra);
    helm(&args).await
}

/// Installs the operator unless it is already installed; puts back the chart's CRD if it went missing
/// (Helm installs CRDs only on the first install).
pub async fn ensure_installed() -> Result<()> {
    if !installed().await {
        helm_apply(false, &[]).await?;
    }
    if kubectl(&["get", "crd", "zkensembles.zookeeper.zkops.dev"])
        .await
        .is_err()
    {
        let crd = repo_root().join("charts/zk-operator/crds/zkensemble.yaml");
        kubectl(&["apply", "-f", &crd.to_string_lossy()]).await?;
        kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd/zkensembles.zookeeper.zkops.dev",
        ])
        .await?;
    }
    Ok(())
}

/// `helm uninstall`, waiting for the release's objects to be deleted.
pub async fn uninstall() -> Result<String> {
    helm(&[
        "uninstall",
        RELEASE,
        "-n",
        NAMESPACE,
        "--wait",
        "--timeout",
        "120s",
    ])
    .await
}

/// Names of the operator's pods.
pub async fn pods() -> Result<Vec<String>> {
    let out = kubectl(&[
        "get",
        "pods",
        "-n",
        NAMESPACE,
        "-l",
        POD_SELECTOR,
        "-o",
        "name",
    ])
    .await?;
    Ok(out
        .lines()
        .map(|l| l.trim_start_matches("pod/").to_string())
        .collect())
}

/// The last lines of the operator's log.
pub async fn log_tail(lines: u32) -> String {
    let tail = format!("--tail={lines}");
    kubectl(&["logs", "-n", NAMESPACE, "-l", POD_SELECTOR, &tail])
        .await
        .unwrap_or_else(|e| format!("(no operator log: {e})"))
}
