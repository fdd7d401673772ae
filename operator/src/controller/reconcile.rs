//! The reconcile pipeline: fetch → validate → plan → build → apply → status, with an Event for each step.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, instrument};

use super::apply::{apply_step, create_if_absent};
use super::observe::observe;
use super::status::{build_status, refused_status, write_status};
use super::{Context, FIELD_MANAGER};
use crate::images::check_image;
use crate::planner::{Desired, Step, plan};
use crate::resources::config_map::config_map;
use crate::resources::meta::{pod_name, secret_name};
use crate::resources::pdb::disruption_budget;
use crate::resources::secret::{
    DIGEST_KEY, PASSWORD_KEY, credentials_fingerprint, generate_password, super_secret,
};
use crate::resources::service::{client_service, headless_service, observers_service};
use crate::types::{ServerFlavour, ZkEnsemble};
use crate::validate::validate;
use crate::{Error, Result, kube_err};

/// Reconciles one `ZkEnsemble`: at most one step per call, then a requeue sized to what the step waits for.
#[instrument(skip_all, fields(ensemble = %zk.name_any(), namespace = zk.namespace().unwrap_or_default()))]
pub async fn reconcile(zk: Arc<ZkEnsemble>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = reconcile_once(&zk, &ctx).await;
    ctx.metrics.reconciled(started.elapsed());
    result
}

async fn reconcile_once(zk: &ZkEnsemble, ctx: &Context) -> Result<Action> {
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    if let Err(invalid) = validate(&zk.spec) {
        return refuse(zk, ctx, &now, "InvalidSpec", invalid.to_string()).await;
    }
    if let Err(mismatch) = check_image(zk, &ctx.settings.images.member_image(zk)) {
        return refuse(zk, ctx, &now, "ImageMismatch", mismatch.to_string()).await;
    }

    let credentials = super::sasl::ensure_sasl(zk, ctx, ensure_credentials(zk, ctx).await?).await?;
    let (transport, credentials) = super::tls::reconcile_tls(zk, ctx, credentials).await?;
    apply_object(zk, ctx, &config_map(zk), "applying the ConfigMap").await?;
    apply_object(
        zk,
        ctx,
        &headless_service(zk),
        "applying the headless Service",
    )
    .await?;
    apply_object(zk, ctx, &client_service(zk), "applying the client Service").await?;
    apply_object(
        zk,
        ctx,
        &observers_service(zk),
        "applying the observers' Service",
    )
    .await?;
    apply_object(
        zk,
        ctx,
        &disruption_budget(zk),
        "applying the PodDisruptionBudget",
    )
    .await?;

    let last_backup = super::backup::reconcile_backup(zk, ctx).await?;

    let observation = observe(zk, ctx, &credentials, transport).await?;
    let desired = Desired {
        replicas: zk.spec.replicas.max(1) as u32,
        observers: zk.spec.observers.max(0) as u32,
        reclaim_policy: zk.spec.storage.reclaim_policy,
        leader_transfer: zk.spec.flavour == ServerFlavour::Native,
        joiners_at_once: zk.spec.flavour == ServerFlavour::Native,
    };
    let step = plan(&desired, &observation.observed);
    let previous = zk.status.as_ref().and_then(|s| s.step.as_ref());
    // No step recorded means the ensemble was idle.
    let previous_key = previous.map_or(("Idle", None), |p| (p.action.as_str(), p.member));
    let changed = previous_key != (step.action(), step.member());
    let acting = !matches!(step, Step::Wait(_) | Step::Blocked(_) | Step::Idle);
    info!(step = %step, "planned");

    let applying = Instant::now();
    let applied = apply_step(step, zk, ctx, &observation, &credentials).await;
    let applying = applying.elapsed();
    let domain = &ctx.settings.cluster_domain;
    let mut status = build_status(zk, &observation, &step, &now, domain);
    status.last_backup = last_backup;
    write_status(zk, ctx, &status).await?;
    match &applied {
        Err(error) => {
            let note = format!("{step} failed: {error}");
            publish_step(zk, ctx, EventType::Warning, "StepFailed", &step, note).await;
        }
        Ok(()) if acting || changed => {
            let kind = if matches!(step, Step::Blocked(_)) {
                EventType::Warning
            } else {
                EventType::Normal
            };
            // Events are aggregated by reason: each blocker gets its own, so that a new one shows
            // as a new Event rather than as one more occurrence of an earlier, different blocker.
            let reason = match &step {
                Step::Idle => "Reconciled",
                Step::Blocked(blocker) => blocker.reason(),
                _ => step.action(),
            };
            publish_step(zk, ctx, kind, reason, &step, step.to_string()).await;
        }
        Ok(()) => {}
    }
    applied?;
    if acting {
        ctx.metrics.step_taken(step.action(), applying);
    }
    Ok(Action::requeue(Duration::from_secs(match step {
        Step::Idle => 60,
        Step::Blocked(_) => 15,
        // A member starting, syncing or catching up is a matter of a second or two, and its `mntr`
        // answers are not Kubernetes events: look again soon.
        Step::Wait(_) => 1,
        _ => 2,
    })))
}

/// Refuses to act on `zk` before anything is created: Degraded with `reason` and `message`, and a Warning Event
/// the first time. A change of the object triggers the next reconcile, so the requeue is only a safety net.
async fn refuse(
    zk: &ZkEnsemble,
    ctx: &Context,
    now: &str,
    reason: &'static str,
    message: String,
) -> Result<Action> {
    let already_reported = zk
        .status
        .as_ref()
        .and_then(|s| s.conditions.first())
        .is_some_and(|c| c.reason == reason && c.message == message);
    if !already_reported {
        publish(
            zk,
            ctx,
            EventType::Warning,
            reason,
            "Validate",
            message.clone(),
            None,
        )
        .await;
    }
    write_status(zk, ctx, &refused_status(zk, now, reason, message)).await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// Server-side applies an object the ensemble owns.
pub(super) async fn apply_object<K>(
    zk: &ZkEnsemble,
    ctx: &Context,
    object: &K,
    action: &'static str,
) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api = Api::<K>::namespaced(ctx.client.clone(), &zk.namespace().unwrap_or_default());
    api.patch(
        &object.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(kube_err(action))?;
    Ok(())
}

/// The super credential as the Secret holds it now.
pub(super) struct Credentials {
    /// The password the operator authenticates with.
    pub password: String,
    /// Fingerprint of the digest members start with ([`credentials_fingerprint`]), and of whatever else
    /// [`Credentials::covering`] added.
    pub fingerprint: String,
}

impl Credentials {
    /// These credentials with a fingerprint that also covers `more`: something the members read only at start,
    /// so that a change of it restarts them one at a time.
    pub(super) fn covering(self, more: &str) -> Self {
        Self {
            fingerprint: credentials_fingerprint(&format!("{}\n{more}", self.fingerprint)),
            ..self
        }
    }
}

/// Reads the super credential, generating the Secret when it does not exist. It is read at every reconcile, so a
/// rotated Secret is used from the next one on.
async fn ensure_credentials(zk: &ZkEnsemble, ctx: &Context) -> Result<Credentials> {
    let name = secret_name(zk);
    let api = Api::<Secret>::namespaced(ctx.client.clone(), &zk.namespace().unwrap_or_default());
    let mut secret = api
        .get_opt(&name)
        .await
        .map_err(kube_err("reading the credentials Secret"))?;
    if secret.is_none() {
        create_if_absent(
            &api,
            &super_secret(zk, &generate_password()),
            "creating the credentials Secret",
        )
        .await?;
        publish(
            zk,
            ctx,
            EventType::Normal,
            "CredentialsGenerated",
            "CreateSecret",
            format!("generated Secret {name}"),
            None,
        )
        .await;
        secret = Some(
            api.get(&name)
                .await
                .map_err(kube_err("reading the credentials Secret"))?,
        );
    }
    let data = secret.and_then(|s| s.data).unwrap_or_default();
    let value = |key: &'static str| {
        data.get(key)
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            .ok_or_else(|| Error::Credentials {
                secret: name.clone(),
                key,
            })
    };
    Ok(Credentials {
        fingerprint: credentials_fingerprint(&value(DIGEST_KEY)?),
        password: value(PASSWORD_KEY)?,
    })
}

/// Publishes the Event of `step`. A step about a member names that member's pod as the related object:
/// Events are aggregated by their reason, action and objects, so each member gets its own Event for each
/// step (`adding member 4 by reconfig` does not become one more occurrence of `adding member 2 by reconfig`),
/// and `kubectl describe` reads as the history of a scale.
async fn publish_step(
    zk: &ZkEnsemble,
    ctx: &Context,
    type_: EventType,
    reason: &str,
    step: &Step,
    note: String,
) {
    let related = step.member().map(|id| ObjectReference {
        api_version: Some("v1".to_string()),
        kind: Some("Pod".to_string()),
        name: Some(pod_name(zk, id)),
        namespace: zk.namespace(),
        ..ObjectReference::default()
    });
    publish(zk, ctx, type_, reason, step.action(), note, related).await;
}

/// Publishes an Event on the ensemble, about `related` too when given; a failure to publish is logged,
/// never fatal.
pub(super) async fn publish(
    zk: &ZkEnsemble,
    ctx: &Context,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
    related: Option<ObjectReference>,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(note),
        action: action.to_string(),
        secondary: related,
    };
    if let Err(error) = ctx.recorder.publish(&event, &zk.object_ref(&())).await {
        tracing::warn!(%error, "publishing an event");
    }
}
