//! The PodDisruptionBudget: voluntary disruptions take at most one member at a time.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::meta::{owned_meta, selector_labels};
use crate::types::ZkEnsemble;

/// The budget, named after the ensemble.
pub fn disruption_budget(zk: &ZkEnsemble) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: owned_meta(zk, zk.name_any(), selector_labels(zk)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(zk)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}
