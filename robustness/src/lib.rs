//! Robustness tests of a `zk-server` ensemble, in the manner of Jepsen and etcd's robustness suite: real
//! member processes on this machine, faults injected from outside (SIGKILL, restart, a network partition
//! made with network namespaces), client operations recorded as a history, and the history checked by a
//! linearizability checker (Porcupine, the Go library etcd uses).
//!
//! - [`network`]: network namespaces for the members, and partitions between them;
//! - [`ensemble`]: `zk-server` member processes on that network: kill, restart, isolate, find the leader;
//! - [`workload`]: client sessions reading, writing and compare-and-setting registers;
//! - [`history`]: the operations clients invoked and what they saw;
//! - [`verify`]: after the faults, every member holds every acknowledged write;
//! - [`checker`]: builds and runs the Porcupine-based checker in `checker/` on a history;
//! - [`fifo`]: sessions pipelining their writes, and the check that each session's writes commit in order;
//! - [`soak`]: a long run of churning sessions under reconfigs and leader kills, sampling what each member
//!   holds, for leaks (`zk-soak`, `scripts/soak.sh`).

pub mod checker;
pub mod ensemble;
pub mod fifo;
pub mod history;
pub mod network;
pub mod soak;
pub mod verify;
pub mod workload;

/// Sends this process's `tracing` output to the test harness's captured output (`RUST_LOG` filters it,
/// `info` by default); later calls do nothing.
pub fn init_test_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_test_writer()
        .try_init();
}
