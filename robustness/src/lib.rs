//! Robustness tests of a `zk-server` ensemble, in the manner of Jepsen and etcd's robustness suite: real
//! member processes on this machine, faults injected from outside (SIGKILL, restart, a network partition
//! made with network namespaces), client operations recorded as a history, and the history checked by a
//! linearizability checker (Porcupine, the Go library etcd uses).
//!
//! - [`history`]: the operations clients invoked and what they saw;
//! - [`checker`]: builds and runs the Porcupine-based checker in `checker/` on a history.

pub mod history;
