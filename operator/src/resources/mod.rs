//! Builders of the Kubernetes objects behind a `ZkEnsemble`, one per kind. Every builder is pure: it takes the
//! ensemble (and what else it needs) and returns the object to apply.

pub mod backup;
pub mod config_map;
pub mod meta;
pub mod pdb;
pub mod pod;
pub mod pvc;
pub mod restore;
pub mod sasl;
pub mod secret;
pub mod service;
pub mod tls;
