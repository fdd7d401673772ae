//! The `ZkEnsemble` custom resource: its spec (what the user asks for) and its status (what the operator saw).
//!
//! Defaults live in the schema through serde default functions; the operator reads them through the same
//! functions and never writes them back into `spec`.

mod auth;
mod backup;
mod spec;
mod status;
mod tls;

pub use auth::AuthSpec;
pub use backup::{BackupSpec, BackupStatus, BackupTarget, RestoreSpec};
pub use spec::{
    ClientServiceSpec, CredentialsSpec, LogFormat, LogSpec, MetricsSpec, PodOverrides,
    PvcReclaimPolicy, ServerFlavour, ServerSettings, StorageSpec, ZkEnsemble, ZkEnsembleSpec,
};
pub use status::{
    Condition, ConditionStatus, ConditionType, MemberStatus, StepStatus, ZkEnsembleStatus,
};
pub use tls::{ClientAuth, TlsSpec};

/// API group of every resource this operator defines.
pub const API_GROUP: &str = "zookeeper.zkops.dev";

/// The `ZkEnsemble` CustomResourceDefinition as YAML, exactly as committed under `crds/`.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    serde_yaml::to_string(&ZkEnsemble::crd()).expect("the CRD serializes")
}
