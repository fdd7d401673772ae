//! Cutting a member off from its peers while its clients still reach it: `iptables` rules in the network
//! namespace of the member's container (entered from the node with `nsenter`, see [`crate::node`]) drop
//! every packet to or from the quorum and election ports, so that packets vanish (no reset) as in a real
//! partition; the client port stays open. Healing deletes the same rules.

use kube::Client;
use zk_operator::resources::meta::{ELECTION_PORT, QUORUM_PORT};

use crate::Result;
use crate::node::run_beside;

/// Inserts (`$4` = `-I`) or deletes (`-D`) a DROP rule in the INPUT and OUTPUT chains of `$pid`'s network
/// namespace for TCP packets from or to the ports `$5`.
const PEER_RULES: &str = r#"for chain in INPUT OUTPUT; do
    nsenter -t "$pid" -n iptables "$4" "$chain" -p tcp -m multiport --ports "$5" -j DROP
done
"#;

/// The peer ports, as `iptables -m multiport` lists them.
fn peer_ports() -> String {
    format!("{QUORUM_PORT},{ELECTION_PORT}")
}

/// Cuts `pod` off from the other members: its quorum and election traffic is dropped both ways.
pub async fn isolate_member(client: &Client, namespace: &str, pod: &str) -> Result<()> {
    run_beside(client, namespace, pod, PEER_RULES, &["-I", &peer_ports()]).await?;
    tracing::info!(%namespace, %pod, "member cut off from its peers");
    Ok(())
}

/// Undoes [`isolate_member`].
pub async fn heal_member(client: &Client, namespace: &str, pod: &str) -> Result<()> {
    run_beside(client, namespace, pod, PEER_RULES, &["-D", &peer_ports()]).await?;
    tracing::info!(%namespace, %pod, "member reconnected to its peers");
    Ok(())
}
