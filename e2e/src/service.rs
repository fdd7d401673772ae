//! A client Service the user owns in front of an ensemble, as a migration moves it: its selector names one
//! ensemble's members, then another's, while clients keep its address.

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use zk_operator::resources::meta::selector_labels;

use crate::ensemble::Ensemble;
use crate::error::kube_err;
use crate::{Error, Result};

/// The user's Service.
pub struct UserService {
    api: Api<Service>,
    name: String,
}

impl UserService {
    /// Creates the ClusterIP Service `name` (port 2181) in `ensemble`'s namespace, in front of its members.
    pub async fn create(ensemble: &Ensemble, name: &str) -> Result<Self> {
        let api: Api<Service> = Api::namespaced(ensemble.client.clone(), &ensemble.namespace);
        let selector = selector_labels(&ensemble.get().await?);
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {
                "selector": selector,
                "ports": [{"name": "client", "port": 2181, "targetPort": 2181}]
            }
        }))
        .map_err(|e| Error::Unexpected(format!("Service manifest: {e}")))?;
        api.create(&PostParams::default(), &service)
            .await
            .map_err(kube_err("create the user's Service"))?;
        Ok(Self {
            api,
            name: name.to_string(),
        })
    }

    /// Its address, `ClusterIP:2181`.
    pub async fn address(&self) -> Result<String> {
        let service = self
            .api
            .get(&self.name)
            .await
            .map_err(kube_err("get the user's Service"))?;
        let ip = service
            .spec
            .and_then(|s| s.cluster_ip)
            .ok_or_else(|| Error::Unexpected(format!("Service {} has no ClusterIP", self.name)))?;
        Ok(format!("{ip}:2181"))
    }

    /// Moves its selector to `ensemble`'s members.
    pub async fn point_at(&self, ensemble: &Ensemble) -> Result<()> {
        let selector = selector_labels(&ensemble.get().await?);
        let patch = serde_json::json!({"spec": {"selector": selector}});
        self.api
            .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err("move the user's Service"))?;
        Ok(())
    }
}
