//! Making a member unable to serve without Kubernetes noticing a missing pod: every process of its container
//! is stopped (`SIGSTOP`) on its node, and continued (`SIGCONT`) later. The container's processes are those in
//! the PID namespace of its main process (see [`crate::node`]).

use kube::Client;

use crate::Result;
use crate::node::run_beside;

/// Signals every process in the PID namespace of `$pid` with signal `$4`; prints the pids it signalled.
const SIGNAL_SCRIPT: &str = r#"ns=$(readlink "/proc/$pid/ns/pid")
pids=""
for dir in /proc/[0-9]*; do
    [ "$(readlink "$dir/ns/pid" 2>/dev/null)" = "$ns" ] && pids="$pids ${dir#/proc/}"
done
kill "-$4" $pids
echo $pids
"#;

/// Sends `signal` (`STOP` or `CONT`) to every process of `pod`'s container.
pub async fn signal_member(
    client: &Client,
    namespace: &str,
    pod: &str,
    signal: &str,
) -> Result<()> {
    let pids = run_beside(client, namespace, pod, SIGNAL_SCRIPT, &[signal]).await?;
    tracing::info!(%namespace, %pod, signal, pids = pids.trim(), "signalled member");
    Ok(())
}
