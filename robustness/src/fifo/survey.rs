//! What one member holds under the sessions' parents, read from that member alone after `sync`: each
//! child's sequence number and data. The reads of a parent's children are pipelined (the
//! `zookeeper-client` crate sends a request when the operation is called).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use zookeeper_client::Error as ZkError;

use super::check::Committed;
use super::{ROOT, parent, sequence_of};
use crate::workload::{WorkloadError, connect};

/// How many reads are in flight at once.
const BATCH: usize = 1024;

fn zk(what: impl Into<String>) -> impl FnOnce(ZkError) -> WorkloadError {
    let what = what.into();
    move |source| WorkloadError::ZooKeeper { what, source }
}

/// The children of sessions `0..sessions`' parents on the member at `addr`, with their data.
pub async fn committed_on(addr: SocketAddr, sessions: u32) -> Result<Committed, WorkloadError> {
    let client = connect(&addr.to_string()).await?;
    client
        .sync(ROOT)
        .await
        .map_err(zk(format!("sync on {addr}")))?;
    let mut committed = Committed::new();
    for session in 0..sessions {
        let parent = parent(session);
        let names = client
            .list_children(&parent)
            .await
            .map_err(zk(format!("list {parent} on {addr}")))?;
        let mut children = BTreeMap::new();
        for batch in names.chunks(BATCH) {
            let reads: Vec<_> = batch
                .iter()
                .map(|name| {
                    let path = format!("{parent}/{name}");
                    (client.get_data(&path), path)
                })
                .collect();
            for (read, path) in reads {
                let (data, _) = read.await.map_err(zk(format!("read {path} on {addr}")))?;
                // A child not named as the load names its writes holds no submission: sequence
                // numbers above any the server gives keep it visible to the check.
                let sequence = sequence_of(&path).unwrap_or(u64::MAX - children.len() as u64);
                children.insert(sequence, data);
            }
        }
        committed.insert(session, children);
    }
    Ok(committed)
}
