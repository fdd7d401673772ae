//! Running `kubectl` and `helm` with the cluster's kubeconfig (the `KUBECONFIG` environment variable).

use std::path::PathBuf;

use tokio::process::Command;

use crate::{Error, Result};

/// Path of the `helm` binary: `HELM`, else the cluster's cache (`$ZK_CACHE_DIR/k8s-v1.33.13/bin/helm`).
pub fn helm_path() -> PathBuf {
    if let Some(helm) = std::env::var_os("HELM") {
        return PathBuf::from(helm);
    }
    let cache = std::env::var_os("ZK_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/zkops")
        });
    cache.join("k8s-v1.33.13/bin/helm")
}

/// Root of the repository (charts, manifests): the parent of `CARGO_MANIFEST_DIR` as `cargo test` sets it
/// when it runs the tests, else as it was at build time. A checkout sharing its target directory with another
/// one can run a test binary built from the other checkout (Cargo keys path packages by their path relative
/// to the workspace), so the build-time path may name a checkout that is gone.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("..")
}

/// Runs `program args…` and returns its standard output; a non-zero exit is an error quoting its output.
pub async fn run(program: &str, args: &[&str]) -> Result<String> {
    let command = format!("{program} {}", args.join(" "));
    tracing::debug!(%command, "running");
    let out = Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| Error::Spawn {
            command: command.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Err(Error::Command {
        command,
        status: out.status,
        output: if stderr.trim().is_empty() {
            stdout
        } else {
            stderr
        },
    })
}

/// Runs `kubectl args…`.
pub async fn kubectl(args: &[&str]) -> Result<String> {
    run("kubectl", args).await
}

/// Runs `helm args…` with the cluster's helm binary.
pub async fn helm(args: &[&str]) -> Result<String> {
    run(&helm_path().to_string_lossy(), args).await
}
