//! Tests of the consensus layer with a small state machine of its own (`machine`): openraft's
//! storage conformance suite, the log read back from disk (also with entries out of memory),
//! durability across restarts of one member, replication and membership changes between members
//! on loopback, a joiner's sync phase (each cluster test module owns a port range).

mod cluster;
mod log_memory;
mod log_reopen;
mod machine;
mod membership;
mod single;
mod storage_suite;
mod sync_phase;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::rt::Oneshot;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::type_config::alias::OneshotOf;

use super::log_store::LogStore;
use super::typ::{Entry, TypeConfig};
use super::{Consensus, ConsensusOptions, Member};
use machine::TestMachine;

/// Appends `entries` to `store` and waits until the writer reports them durable (with none, until
/// every write queued before is done).
async fn append_durably(store: &mut LogStore, entries: Vec<Entry>) {
    let (tx, rx) = <OneshotOf<TypeConfig> as Oneshot>::channel();
    store.append(entries, IOFlushed::signal(tx)).await.unwrap();
    rx.await.unwrap().unwrap();
}

/// Options for member `id` of `members`, with its directories under `root/<id>`.
fn options(root: &Path, id: u64, members: &[Member], snap_count: u64) -> ConsensusOptions {
    ConsensusOptions {
        my_id: id,
        data_dir: root.join(id.to_string()).join("data"),
        data_log_dir: root.join(id.to_string()).join("log"),
        members: members.to_vec(),
        listen_on_all_ips: false,
        tick_time: Duration::from_millis(400),
        init_limit: 10,
        sync_limit: 5,
        snap_count,
        snap_retain_count: 3,
        force_sync: true,
        quorum_tls: None,
        quorum_sasl: None,
    }
}

/// Voters `1..=count` on loopback quorum ports `base + id`.
fn voters(count: u64, base: u16) -> Vec<Member> {
    (1..=count)
        .map(|id| Member {
            id,
            spec: format!(
                "127.0.0.1:{}:{}:participant;127.0.0.1:{}",
                base + id as u16,
                base + 100 + id as u16,
                base + 200 + id as u16
            ),
            voter: true,
        })
        .collect()
}

/// Starts member `id` with a fresh test machine.
async fn start(
    root: &Path,
    id: u64,
    members: &[Member],
    snap_count: u64,
) -> (Consensus, Arc<TestMachine>) {
    start_with(root, id, members, snap_count, TestMachine::default()).await
}

/// Starts member `id` with `machine`.
async fn start_with(
    root: &Path,
    id: u64,
    members: &[Member],
    snap_count: u64,
    machine: TestMachine,
) -> (Consensus, Arc<TestMachine>) {
    let machine = Arc::new(machine);
    let consensus = Consensus::start(options(root, id, members, snap_count), machine.clone())
        .await
        .expect("start");
    (consensus, machine)
}
