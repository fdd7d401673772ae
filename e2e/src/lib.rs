//! Helpers for the end-to-end tests: run `kubectl` and `helm`, install the operator chart, create and watch
//! `ZkEnsemble`s, put client load on an ensemble (one that records a history checked for linearizability
//! among them), stop a member's processes or cut it off from its peers from its node, give a member a small
//! volume that can fill up, watch a rolling restart, reach an ensemble over TLS, and explain a failed wait with the ensemble's status, Events and pod
//! states.
//!
//! The tests themselves live in `tests/`; they need a running cluster (`KUBECONFIG`) and the images loaded, as
//! `scripts/e2e.sh` arranges.

pub mod command;
pub mod diagnostics;
pub mod ensemble;
pub mod error;
pub mod fixture;
pub mod freeze;
pub mod history;
pub mod load;
pub mod node;
pub mod operator;
pub mod partition;
pub mod pods;
pub mod poll;
pub mod roll;
pub mod service;
pub mod step_phases;
pub mod tls;
pub mod tree;
pub mod volume;
pub mod wait;
pub mod zookeeper;

pub use error::{Error, Result};
