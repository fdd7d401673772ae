//! The controller: its shared context, the reconcile pipeline, the error policy and the watch wiring.
//!
//! - `observe`: fetch pods, volumes, member states and the committed configuration.
//! - `apply`: carry out one planned step against Kubernetes or the ensemble.
//! - `status`: the status written back, conditions included.
//! - `backup`: the backup CronJob of `spec.backup`, and the last backup its Jobs took.
//! - `tls`: the certificates of `spec.tls` and how the operator reaches the members' client ports.
//! - `sasl`: the members' JAAS file of `spec.auth`.
//! - `reconcile`: the pipeline fetch → validate → plan → build → apply → status.
//!
//! There is no finalizer: every object the operator creates carries an owner reference to its `ZkEnsemble`
//! and is garbage-collected with it, except volumes under the Retain policy, which are meant to outlive it.

mod apply;
mod backup;
mod observe;
mod reconcile;
mod sasl;
mod status;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use tracing::{info, warn};

use crate::Error;
use crate::images::DefaultImages;
use crate::metrics::Metrics;
use crate::types::ZkEnsemble;

pub use reconcile::reconcile;

/// Field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "zk-operator";

/// Settings of the controller that come from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// DNS suffix of the cluster, e.g. `cluster.local`.
    pub cluster_domain: String,
    /// Bound on every call to an ensemble or a member.
    pub zk_timeout: Duration,
    /// Time a (re)started member has to run and sync with the leader before it blocks every change, a rolling
    /// restart included.
    pub member_start_timeout: Duration,
    /// Member images of specs that name none.
    pub images: DefaultImages,
}

/// What every reconcile shares.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Publishes Events on `ZkEnsemble` objects.
    pub recorder: Recorder,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Command-line settings.
    pub settings: Settings,
}

impl Context {
    /// A context whose Events are reported as coming from `instance` (the operator pod).
    pub fn new(
        client: Client,
        metrics: Arc<Metrics>,
        settings: Settings,
        instance: Option<String>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_string(),
            instance,
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            settings,
        }
    }
}

/// Retries failed reconciles after a pause, counting the failure by kind.
pub fn error_policy(zk: Arc<ZkEnsemble>, error: &Error, ctx: Arc<Context>) -> Action {
    warn!(ensemble = %zk.name_any(), error = %error, "reconcile failed");
    ctx.metrics.reconcile_failed(error.metric_label());
    Action::requeue(Duration::from_secs(10))
}

/// Runs the controller over `namespaces` (all namespaces when empty) until shutdown is signalled.
pub async fn run(ctx: Arc<Context>, namespaces: Vec<String>) {
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.into_iter().map(Some).collect()
    };
    let controllers = scopes.into_iter().map(|namespace| {
        let client = ctx.client.clone();
        let (ensembles, pods, volumes) = match &namespace {
            Some(ns) => (
                Api::<ZkEnsemble>::namespaced(client.clone(), ns),
                Api::<Pod>::namespaced(client.clone(), ns),
                Api::<PersistentVolumeClaim>::namespaced(client, ns),
            ),
            None => (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client),
            ),
        };
        let managed = watcher::Config::default().labels("app.kubernetes.io/managed-by=zk-operator");
        info!(
            namespace = namespace.as_deref().unwrap_or("<all>"),
            "watching ZkEnsembles"
        );
        Controller::new(ensembles, watcher::Config::default())
            .owns(pods, managed.clone())
            .owns(volumes, managed)
            .shutdown_on_signal()
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|result| async move {
                if let Err(error) = result {
                    warn!(%error, "controller event");
                }
            })
    });
    futures::future::join_all(controllers).await;
}
