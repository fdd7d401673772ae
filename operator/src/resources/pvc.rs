//! The volume claim of one member: data, transaction log and the config files the server rewrites.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::meta::{member_labels, owned_meta, pvc_name};
use crate::types::{PvcReclaimPolicy, ZkEnsemble};

/// The claim of member `id`. With the Retain policy it has no owner, so it outlives the ensemble too.
pub fn volume_claim(zk: &ZkEnsemble, id: u32) -> PersistentVolumeClaim {
    let mut metadata = owned_meta(zk, pvc_name(zk, id), member_labels(zk, id));
    if zk.spec.storage.reclaim_policy == PvcReclaimPolicy::Retain {
        metadata.owner_references = None;
    }
    PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: zk.spec.storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(zk.spec.storage.size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}
