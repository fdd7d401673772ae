//! One `ZkEnsemble` under test, in a namespace of its own: create it, scale it, read its status and member
//! pods, and wait for it to settle.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use zk_operator::resources::meta::{
    CLIENT_PORT, SECURE_CLIENT_PORT, client_service_name, observers_service_name, secret_name,
    selector_string,
};
use zk_operator::resources::secret::{
    DIGEST_KEY, PASSWORD_KEY, credentials_fingerprint, super_digest,
};
use zk_operator::types::{
    ConditionStatus, ConditionType, ServerFlavour, ZkEnsemble, ZkEnsembleStatus,
};

use crate::command::kubectl;
use crate::error::kube_err;
use crate::pods::{self, Snapshot};
use crate::wait::{self, Poll};
use crate::{Error, Result, diagnostics};

/// Image of Apache ZooKeeper members: `images/build.sh zookeeper`, preloaded in the cluster.
pub const APACHE_IMAGE: &str = "zkops.local/zookeeper:3.8.0";

/// The same images as [`APACHE_IMAGE`] and the Native default under a second tag (`images/build.sh` adds it), so
/// that a change of the member image rolls every member onto the same server.
pub fn retagged_image(flavour: ServerFlavour) -> &'static str {
    match flavour {
        ServerFlavour::Apache => "zkops.local/zookeeper:3.8.0-rolled",
        ServerFlavour::Native => "zkops.local/zk-server:rolled",
    }
}

/// An image of `flavour`'s server under a tag that is not there: a member pod given it never starts.
pub fn missing_image(flavour: ServerFlavour) -> &'static str {
    match flavour {
        ServerFlavour::Apache => "zkops.local/zookeeper:missing",
        ServerFlavour::Native => "zkops.local/zk-server:missing",
    }
}

/// Label of the namespaces the scenarios create.
const NAMESPACE_LABEL: &str = "zkops.dev/e2e";

/// The member image the scenarios name for `flavour`: Apache's preloaded image, and none for Native, whose
/// members get the operator's default (`images/build.sh zk-server` tags the image with the workspace version,
/// which that default names).
pub fn image(flavour: ServerFlavour) -> Option<&'static str> {
    match flavour {
        ServerFlavour::Apache => Some(APACHE_IMAGE),
        ServerFlavour::Native => None,
    }
}

/// What each member's volume claim asks for.
pub const VOLUME_SIZE: &str = "256Mi";

/// A `ZkEnsemble` under test: named after its namespace, or one of several in a shared namespace.
pub struct Ensemble {
    /// Client of the cluster.
    pub client: Client,
    /// Namespace of the ensemble.
    pub namespace: String,
    /// Name of the ensemble.
    name: String,
    /// The ensemble's API.
    pub api: Api<ZkEnsemble>,
    /// Pods of the namespace.
    pub pods: Api<Pod>,
    /// The manifest it was created from.
    manifest: ZkEnsemble,
}

/// The manifest of a `ZkEnsemble` named `name` in `namespace` with `replicas` members of `flavour` (running its
/// [`image`]) and the given PVC reclaim policy, and the entries of `extra` (a JSON object) set in its spec.
fn manifest(
    namespace: &str,
    name: &str,
    replicas: i32,
    reclaim: &str,
    flavour: ServerFlavour,
    extra: &serde_json::Value,
) -> Result<ZkEnsemble> {
    let mut manifest = serde_json::json!({
        "apiVersion": "zookeeper.zkops.dev/v1alpha1",
        "kind": "ZkEnsemble",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "image": image(flavour),
            "imagePullPolicy": "Never",
            "flavour": flavour,
            "resources": {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
            "storage": {"size": VOLUME_SIZE, "reclaimPolicy": reclaim},
        }
    });
    if let (Some(spec), Some(extra)) = (manifest["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(manifest)
        .map_err(|e| Error::Unexpected(format!("ZkEnsemble manifest: {e}")))
}

impl Ensemble {
    /// Creates namespace `namespace` (deleting a leftover one first) and in it a `ZkEnsemble` of the same
    /// name with `replicas` members of `flavour` (running its [`image`]), the given PVC reclaim policy and the
    /// entries of `extra` (a JSON object) set in its spec.
    pub async fn create(
        client: &Client,
        namespace: &str,
        replicas: i32,
        reclaim: &str,
        flavour: ServerFlavour,
        extra: &serde_json::Value,
    ) -> Result<Self> {
        fresh_namespace(client, namespace).await?;
        Self::create_in(
            client, namespace, namespace, replicas, reclaim, flavour, extra,
        )
        .await
    }

    /// Creates in the existing namespace `namespace` a `ZkEnsemble` named `name`, as [`Ensemble::create`] does.
    pub async fn create_in(
        client: &Client,
        namespace: &str,
        name: &str,
        replicas: i32,
        reclaim: &str,
        flavour: ServerFlavour,
        extra: &serde_json::Value,
    ) -> Result<Self> {
        let ensemble = Self {
            client: client.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            api: Api::namespaced(client.clone(), namespace),
            pods: Api::namespaced(client.clone(), namespace),
            manifest: manifest(namespace, name, replicas, reclaim, flavour, extra)?,
        };
        ensemble.submit().await?;
        Ok(ensemble)
    }

    /// Creates the `ZkEnsemble` object from its manifest.
    async fn submit(&self) -> Result<()> {
        self.api
            .create(&PostParams::default(), &self.manifest)
            .await
            .map_err(kube_err("create ZkEnsemble"))?;
        Ok(())
    }

    /// Deletes the `ZkEnsemble` object alone (its namespace stays, and so do volumes it does not own), waits
    /// until it and its member pods are gone, and creates it again from the same manifest, as a user applying
    /// the same file would.
    pub async fn recreate(&self) -> Result<()> {
        self.recreate_with(serde_json::json!({})).await
    }

    /// Sets `spec.<key>` to `value` for each entry of `spec` (a JSON object), as a user editing the manifest
    /// would.
    pub async fn patch_spec(&self, spec: serde_json::Value) -> Result<()> {
        let patch = serde_json::json!({ "spec": spec });
        self.api
            .patch(self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err("patch the spec"))?;
        Ok(())
    }

    /// As [`Ensemble::recreate`], with the manifest's spec keys set to those of `spec` (a JSON object) in the
    /// new object.
    pub async fn recreate_with(&self, spec: serde_json::Value) -> Result<()> {
        self.delete_object().await?;
        let mut manifest = serde_json::to_value(&self.manifest)
            .map_err(|e| Error::Unexpected(format!("ZkEnsemble manifest: {e}")))?;
        for (key, value) in spec.as_object().into_iter().flatten() {
            manifest["spec"][key] = value.clone();
        }
        let manifest: ZkEnsemble = serde_json::from_value(manifest)
            .map_err(|e| Error::Unexpected(format!("ZkEnsemble manifest: {e}")))?;
        self.api
            .create(&PostParams::default(), &manifest)
            .await
            .map_err(kube_err("create ZkEnsemble"))?;
        Ok(())
    }

    /// Deletes the `ZkEnsemble` object alone (volumes it does not own stay) and waits until it and its member
    /// pods are gone.
    pub async fn delete_object(&self) -> Result<()> {
        self.api
            .delete(self.name(), &DeleteParams::foreground())
            .await
            .map_err(kube_err("delete ZkEnsemble"))?;
        let selector = selector_string(&self.manifest);
        wait::until(
            "the deleted ZkEnsemble and its member pods to be gone",
            Duration::from_secs(120),
            || async {
                let object = self
                    .api
                    .get_opt(self.name())
                    .await
                    .map_err(kube_err("get ZkEnsemble"))?;
                let pods = self
                    .pods
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .map_err(kube_err("list pods"))?;
                Ok(if object.is_none() && pods.items.is_empty() {
                    Poll::Done(())
                } else {
                    Poll::Pending(format!(
                        "ZkEnsemble present: {}, pods: {}",
                        object.is_some(),
                        pods.items.len()
                    ))
                })
            },
            || self.report(),
        )
        .await
    }

    /// Name of the ensemble.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ensemble as stored now.
    pub async fn get(&self) -> Result<ZkEnsemble> {
        self.api
            .get(self.name())
            .await
            .map_err(kube_err("get ZkEnsemble"))
    }

    /// Its status (empty before the operator wrote one).
    pub async fn status(&self) -> Result<ZkEnsembleStatus> {
        Ok(self.get().await?.status.unwrap_or_default())
    }

    /// Name of member `id`'s pod.
    pub fn pod(&self, id: u32) -> String {
        format!("{}-{id}", self.name())
    }

    /// The member pods now.
    pub async fn member_pods(&self) -> Result<Snapshot> {
        let zk = self.get().await?;
        pods::snapshot(&self.pods, &selector_string(&zk)).await
    }

    /// Address (`ClusterIP:2181`) of the client Service.
    pub async fn client_address(&self) -> Result<String> {
        let zk = self.get().await?;
        self.service_address(&client_service_name(&zk), CLIENT_PORT)
            .await
    }

    /// Address (`ClusterIP:2281`) of the client Service's TLS port.
    pub async fn client_tls_address(&self) -> Result<String> {
        let zk = self.get().await?;
        self.service_address(&client_service_name(&zk), SECURE_CLIENT_PORT)
            .await
    }

    /// Address (`ClusterIP:2181`) of the observers' client Service.
    pub async fn observers_address(&self) -> Result<String> {
        let zk = self.get().await?;
        self.service_address(&observers_service_name(&zk), CLIENT_PORT)
            .await
    }

    /// A key of a Secret in the ensemble's namespace, as text.
    pub async fn secret_text(&self, name: &str, key: &str) -> Result<String> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let secret = secrets.get(name).await.map_err(kube_err("read a Secret"))?;
        secret
            .data
            .and_then(|d| {
                d.get(key)
                    .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            })
            .ok_or_else(|| Error::Unexpected(format!("Secret {name} has no {key}")))
    }

    async fn service_address(&self, name: &str, port: i32) -> Result<String> {
        let services: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
        let svc = services
            .get(name)
            .await
            .map_err(kube_err("get a client Service"))?;
        let ip = svc
            .spec
            .and_then(|s| s.cluster_ip)
            .ok_or_else(|| Error::Unexpected(format!("Service {name} has no ClusterIP")))?;
        Ok(format!("{ip}:{port}"))
    }

    /// Rotates the super credential as a user would: writes `password` and its digest into the ensemble's
    /// credentials Secret. Returns the fingerprint the operator records on pods started with it.
    pub async fn rotate_credentials(&self, password: &str) -> Result<String> {
        let digest = super_digest(password);
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let patch =
            serde_json::json!({"stringData": {PASSWORD_KEY: password, DIGEST_KEY: &digest}});
        secrets
            .patch(
                &secret_name(&self.manifest),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(kube_err("rotate the credentials Secret"))?;
        Ok(credentials_fingerprint(&digest))
    }

    /// The flavour of its members.
    pub fn flavour(&self) -> ServerFlavour {
        self.manifest.spec.flavour
    }

    /// Sets `spec.image`, as a user editing the manifest would.
    pub async fn set_image(&self, image: &str) -> Result<()> {
        let patch = serde_json::json!({"spec": {"image": image}});
        self.api
            .patch(self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err("set the member image"))?;
        Ok(())
    }

    /// Sets `spec.observers`, as a user editing the manifest would.
    pub async fn set_observers(&self, observers: i32) -> Result<()> {
        let patch = serde_json::json!({"spec": {"observers": observers}});
        self.api
            .patch(self.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err("set the observers"))?;
        Ok(())
    }

    /// `kubectl scale zkensemble/<name> --replicas=<n>`, through the scale subresource.
    pub async fn scale(&self, replicas: i32) -> Result<()> {
        let target = format!("--replicas={replicas}");
        let zke = format!("zkensemble/{}", self.name());
        kubectl(&["scale", &zke, "-n", &self.namespace, &target]).await?;
        Ok(())
    }

    /// Warning Events about the ensemble, as `reason: message`.
    pub async fn warning_events(&self) -> Result<Vec<String>> {
        self.event_lines("type=Warning", "{.reason}: {.message}")
            .await
    }

    /// Events about the ensemble with `reason`, as their messages.
    pub async fn events(&self, reason: &str) -> Result<Vec<String>> {
        self.event_lines(&format!("reason={reason}"), "{.message}")
            .await
    }

    /// One line per Event about the ensemble that matches the field selector `filter`, printed by the
    /// JSONPath `template`.
    async fn event_lines(&self, filter: &str, template: &str) -> Result<Vec<String>> {
        let selector = format!(
            "{filter},involvedObject.kind=ZkEnsemble,involvedObject.name={}",
            self.name()
        );
        let jsonpath = format!("jsonpath={{range .items[*]}}{template}{{\"\\n\"}}{{end}}");
        let out = kubectl(&[
            "get",
            "events",
            "-n",
            &self.namespace,
            "--field-selector",
            &selector,
            "-o",
            &jsonpath,
        ])
        .await?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// The diagnostics report of this ensemble.
    pub async fn report(&self) -> String {
        diagnostics::report(&self.namespace, self.name()).await
    }

    /// Waits until the ensemble has settled on `replicas` voting members and no observer: see
    /// [`Ensemble::wait_settled_with`].
    pub async fn wait_settled(&self, replicas: i32, timeout: Duration) -> Result<ZkEnsembleStatus> {
        self.wait_settled_with(replicas, 0, timeout).await
    }

    /// Waits until the ensemble has settled on `replicas` voting members and `observers` observers: the
    /// status reflects the current generation, counts `replicas` voters and `observers` observers all ready,
    /// each observer with role `observer`, condition Ready is True, no step is in progress, and the member
    /// pods are exactly the voters' and the observers' pods, all Ready.
    pub async fn wait_settled_with(
        &self,
        replicas: i32,
        observers: i32,
        timeout: Duration,
    ) -> Result<ZkEnsembleStatus> {
        let what = format!(
            "ZkEnsemble {}/{} to settle at {replicas} members and {observers} observers",
            self.namespace,
            self.name()
        );
        wait::until(
            &what,
            timeout,
            || async {
                let zk = self.get().await?;
                let generation = zk.metadata.generation;
                let status = zk.status.clone().unwrap_or_default();
                let pods = pods::snapshot(&self.pods, &selector_string(&zk)).await?;
                let mut voters: Vec<&str> =
                    status.members.iter().filter(|m| m.voting).map(|m| m.pod.as_str()).collect();
                let observing =
                    status.members.iter().filter(|m| !m.voting && m.role == "observer");
                let observing = observing.map(|m| m.pod.as_str()).collect::<Vec<_>>();
                let mut members: Vec<&str> = voters.iter().chain(&observing).copied().collect();
                voters.sort_unstable();
                members.sort_unstable();
                let names: Vec<&str> = pods.keys().map(String::as_str).collect();
                let ready = condition_true(&status, ConditionType::Ready);
                let settled = status.observed_generation == generation
                    && status.replicas == replicas
                    && status.ready_replicas == replicas
                    && voters.len() == replicas as usize
                    && status.observers == observers
                    && status.ready_observers == observers
                    && observing.len() == observers as usize
                    && ready
                    && status.step.is_none()
                    && names == members
                    && pods.values().all(|p| p.ready);
                Ok(if settled {
                    Poll::Done(status)
                } else {
                    Poll::Pending(format!(
                        "generation {generation:?} observed {:?}, replicas {} ready {}, observers {} ready {}, \
                         Ready {ready}, step {:?}, voters {voters:?}, observers {observing:?}, pods {:?}",
                        status.observed_generation,
                        status.replicas,
                        status.ready_replicas,
                        status.observers,
                        status.ready_observers,
                        status.step.as_ref().map(|s| &s.message),
                        pods.iter().map(|(n, p)| (n, p.ready)).collect::<Vec<_>>()
                    ))
                })
            },
            || self.report(),
        )
        .await
    }

    /// The voters' server ids in the status.
    pub async fn voter_ids(&self) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = self
            .status()
            .await?
            .members
            .iter()
            .filter(|m| m.voting)
            .map(|m| m.id)
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Deletes the namespace (and so the ensemble) at the end of a scenario: [`delete_all`] of this one.
    pub async fn delete(self, wait: bool) -> Result<()> {
        delete_all(vec![self], wait).await
    }
}

/// Creates namespace `namespace` for a scenario, deleting a leftover one of the same name first.
pub async fn fresh_namespace(client: &Client, namespace: &str) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces
        .get_opt(namespace)
        .await
        .map_err(kube_err("get namespace"))?
        .is_some()
    {
        kubectl(&[
            "delete",
            "namespace",
            namespace,
            "--wait=true",
            "--timeout=180s",
        ])
        .await?;
    }
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": namespace, "labels": {NAMESPACE_LABEL: "true"}}
    }))
    .expect("namespace manifest");
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .map_err(kube_err("create namespace"))?;
    Ok(())
}

/// Deletes the namespaces of `ensembles` (and so the ensembles) at the end of a scenario. Their deletion overlaps
/// the next scenario, whose own `delete_all` waits for them to be gone first; the last scenario passes `wait`, to
/// wait for its own. Every deleted namespace must be gone within 3 minutes of that wait's start.
pub async fn delete_all(ensembles: Vec<Ensemble>, wait: bool) -> Result<()> {
    let Some(first) = ensembles.first() else {
        return Ok(());
    };
    let namespaces: Api<Namespace> = Api::all(first.client.clone());
    let ours: Vec<&str> = ensembles.iter().map(|e| e.namespace.as_str()).collect();
    wait_deleted(&namespaces, |ns| !ours.contains(&ns.name_any().as_str())).await?;
    for namespace in &ours {
        namespaces
            .delete(namespace, &DeleteParams::default())
            .await
            .map_err(kube_err("delete namespace"))?;
    }
    if wait {
        wait_deleted(&namespaces, |_| true).await?;
    }
    tracing::info!(namespaces = ?ours, wait, "namespace deletion under way");
    Ok(())
}

/// Waits until no scenario namespace that `which` selects is being deleted.
async fn wait_deleted(
    namespaces: &Api<Namespace>,
    which: impl Fn(&Namespace) -> bool,
) -> Result<()> {
    let selector = format!("{NAMESPACE_LABEL}=true");
    wait::until(
        "deleted scenario namespaces to be gone",
        Duration::from_secs(180),
        || async {
            let deleting: Vec<String> = namespaces
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(kube_err("list namespaces"))?
                .items
                .iter()
                .filter(|ns| ns.metadata.deletion_timestamp.is_some() && which(ns))
                .map(|ns| ns.name_any())
                .collect();
            Ok(if deleting.is_empty() {
                Poll::Done(())
            } else {
                Poll::Pending(format!("still being deleted: {deleting:?}"))
            })
        },
        || async { String::new() },
    )
    .await
}

/// Whether condition `kind` is True in `status`.
pub fn condition_true(status: &ZkEnsembleStatus, kind: ConditionType) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == kind && c.status == ConditionStatus::True)
}
