//! Kubernetes operator for elastic ZooKeeper ensembles.
//!
//! Layout:
//! - [`types`]: the `ZkEnsemble` custom resource (spec and status).
//! - [`ensemble_config`]: the dynamic configuration text of `/zookeeper/config`.
//! - [`planner`]: the pure decision of the next step from desired and observed state.
//! - [`validate`]: checks of a spec beyond what its schema enforces.
//! - [`resources`]: one builder per Kubernetes kind the operator creates.
//! - [`zk`]: the adapter over the ZooKeeper client and the four-letter-word reader.
//! - [`controller`]: fetch → plan → build → apply → status, and the controller's wiring.
//! - [`metrics`], [`leader_election`], [`http`]: the operator process around the controller.

pub mod ensemble_config;
pub mod planner;
pub mod types;
