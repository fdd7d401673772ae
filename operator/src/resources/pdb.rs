//! The PodDisruptionBudget: a voluntary disruption (a drain, an eviction) never takes a member whose loss would
//! cost the ensemble its quorum.

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::meta::{OBSERVER_LABEL, owned_meta, selector_labels};
use crate::types::ZkEnsemble;

/// Members that may be evicted at once from an ensemble of `voters` voting members without losing its quorum,
/// at most one: none for one or two voters (a majority of two is both), one from three voters up.
pub fn tolerated_disruptions(voters: i32) -> i32 {
    ((voters - 1) / 2).clamp(0, 1)
}

/// The budget, named after the ensemble, over the voters' pods (observers never count towards the quorum). It counts the fewer of the wanted and the committed voters, so that it
/// is strict during a scale-down already asked for and during a scale-up not yet done. Pods that are not Ready
/// may always be evicted: they serve nobody, and a stuck one must not block a drain forever.
pub fn disruption_budget(zk: &ZkEnsemble) -> PodDisruptionBudget {
    let committed = zk.status.as_ref().map_or(0, |s| s.replicas);
    let voters = if committed > 0 {
        committed.min(zk.spec.replicas)
    } else {
        zk.spec.replicas
    };
    PodDisruptionBudget {
        metadata: owned_meta(zk, zk.name_any(), selector_labels(zk)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(tolerated_disruptions(voters))),
            // Observers never count towards the quorum: the budget covers the voters only.
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(zk)),
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: OBSERVER_LABEL.to_string(),
                    operator: "DoesNotExist".to_string(),
                    values: None,
                }]),
            }),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_string()),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_eviction_ever_takes_the_quorum() {
        for voters in 1..=7 {
            let quorum = voters / 2 + 1;
            let allowed = tolerated_disruptions(voters);
            assert!(
                voters - allowed >= quorum,
                "{voters} voters, {allowed} evictable"
            );
            assert!(allowed <= 1, "one member at a time");
        }
        assert_eq!(
            (1..=5).map(tolerated_disruptions).collect::<Vec<_>>(),
            [0, 0, 1, 1, 1]
        );
    }
}
