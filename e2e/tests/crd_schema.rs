//! The ZkEnsemble schema as the real API server enforces it: bad specs are refused at admission with a
//! message naming the field, before the operator ever sees them; a minimal spec is accepted and defaulted.
//!
//! Every request is a server-side dry run, except in the test of the immutable flavour, whose ensemble (refused by
//! the operator for its image, so it never gets a pod) is stored and deleted again. Run by `scripts/e2e.sh` with
//! the scenarios.

use kube::Client;
use std::time::Duration;

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use zk_e2e::command::kubectl;
use zk_e2e::wait::{self, Poll};
use zk_e2e::{Error, Result, ensemble, operator};
use zk_operator::types::ZkEnsemble;

/// Namespace the dry runs are addressed to (it need not hold anything).
const NAMESPACE: &str = "default";

async fn api() -> Result<Api<DynamicObject>> {
    operator::ensure_installed().await?;
    let client = Client::try_default()
        .await
        .map_err(zk_e2e::error::kube_err("client from KUBECONFIG"))?;
    Ok(Api::namespaced_with(
        client,
        NAMESPACE,
        &ApiResource::erase::<ZkEnsemble>(&()),
    ))
}

/// A ZkEnsemble named `name` with `spec`.
fn ensemble(name: &str, spec: Value) -> Result<DynamicObject> {
    serde_json::from_value(json!({
        "apiVersion": "zookeeper.zkops.dev/v1alpha1",
        "kind": "ZkEnsemble",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .map_err(|e| Error::Unexpected(format!("building the {name} manifest: {e}")))
}

/// Creates `object` as a dry run; returns the defaulted object, or the API server's status code and message.
async fn dry_run(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
) -> Result<Result<Value, (u16, String)>> {
    let params = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    match api.create(&params, object).await {
        Ok(created) => Ok(Ok(created.data)),
        Err(kube::Error::Api(status)) => Ok(Err((status.code, status.message))),
        Err(source) => Err(Error::Kube {
            action: "dry-run create of a ZkEnsemble".into(),
            source,
        }),
    }
}

/// Asserts that `spec` is refused as invalid (422) with a message containing each of `expected`.
async fn refused(
    api: &Api<DynamicObject>,
    name: &str,
    spec: Value,
    expected: &[&str],
) -> Result<()> {
    match dry_run(api, &ensemble(name, spec)?).await? {
        Ok(stored) => Err(Error::Unexpected(format!(
            "{name}: the API server accepted an invalid spec: {stored}"
        ))),
        Err((422, message)) if expected.iter().all(|e| message.contains(e)) => {
            println!("{name}: refused: {message}");
            Ok(())
        }
        Err((code, message)) => Err(Error::Unexpected(format!(
            "{name}: expected a 422 naming {expected:?}, got {code}: {message}"
        ))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minimal_spec_is_accepted_with_defaults() -> Result<()> {
    let api = api().await?;
    let stored = dry_run(&api, &ensemble("schema-ok", json!({"replicas": 3}))?)
        .await?
        .map_err(|(code, message)| {
            Error::Unexpected(format!("minimal spec refused: {code}: {message}"))
        })?;
    let spec = &stored["spec"];
    let defaults = [
        ("/storage/reclaimPolicy", json!("Delete")),
        ("/storage/size", json!("1Gi")),
        ("/flavour", json!("Native")),
    ];
    for (pointer, want) in defaults {
        let got = spec.pointer(pointer);
        if got != Some(&want) {
            return Err(Error::Unexpected(format!(
                "spec{pointer}: expected the default {want}, got {got:?} in {spec}"
            )));
        }
    }
    if let Some(image) = spec.get("image") {
        return Err(Error::Unexpected(format!(
            "spec.image got a schema default {image}: the operator's default must stay movable"
        )));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_replicas_is_refused() -> Result<()> {
    let api = api().await?;
    refused(
        &api,
        "schema-zero",
        json!({"replicas": 0}),
        &["spec.replicas"],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_volume_policy_is_refused() -> Result<()> {
    let api = api().await?;
    let spec = json!({"replicas": 3, "storage": {"reclaimPolicy": "Recycle"}});
    refused(
        &api,
        "schema-policy",
        spec,
        &["spec.storage.reclaimPolicy", "Unsupported value"],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoo_cfg_keys_the_operator_manages_are_refused() -> Result<()> {
    let api = api().await?;
    for key in [
        "server.1",
        "dataDir",
        "dynamicConfigFile",
        "reconfigEnabled",
    ] {
        let spec = json!({"replicas": 3, "server": {"extraConfig": {key: "x"}}});
        refused(
            &api,
            "schema-config",
            spec,
            &[
                "spec.server.extraConfig",
                "may not set keys the operator manages",
            ],
        )
        .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_flavour_is_refused() -> Result<()> {
    let api = api().await?;
    let spec = json!({"replicas": 3, "flavour": "Confluent"});
    refused(
        &api,
        "schema-flavour",
        spec,
        &["spec.flavour", "Unsupported value"],
    )
    .await
}

/// A stored ensemble whose flavour (the default, Native) does not fit its image (Apache ZooKeeper's): the
/// operator reports it in a Degraded condition and creates no pod; the API server refuses any change of its
/// flavour (the CEL rule with `oldSelf`) and still takes other changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavour_is_immutable_and_a_mismatched_image_is_reported_before_any_pod() -> Result<()> {
    let api = api().await?;
    let name = "schema-immutable";
    let gone = |api: Api<DynamicObject>| async move {
        wait::until(
            "the ensemble of the previous run to be gone",
            Duration::from_secs(60),
            || async {
                Ok(match api.get_opt(name).await {
                    Ok(None) => Poll::Done(()),
                    Ok(Some(_)) => Poll::Pending("still there".into()),
                    Err(source) => {
                        return Err(Error::Kube {
                            action: "get".into(),
                            source,
                        });
                    }
                })
            },
            || async { String::new() },
        )
        .await
    };
    let _ = api.delete(name, &DeleteParams::default()).await;
    gone(api.clone()).await?;
    let spec = json!({"replicas": 1, "image": ensemble::APACHE_IMAGE, "imagePullPolicy": "Never"});
    api.create(&PostParams::default(), &ensemble(name, spec)?)
        .await
        .map_err(|source| Error::Kube {
            action: "create".into(),
            source,
        })?;

    let checks = async {
        let message = wait::until(
            "a Degraded condition naming the image mismatch",
            Duration::from_secs(60),
            || async {
                let object = api.get(name).await.map_err(|source| Error::Kube {
                    action: "get".into(),
                    source,
                })?;
                let conditions = object
                    .data
                    .pointer("/status/conditions")
                    .cloned()
                    .unwrap_or_default();
                let degraded = conditions.as_array().into_iter().flatten().find(|c| {
                    c["type"] == "Degraded"
                        && c["status"] == "True"
                        && c["reason"] == "ImageMismatch"
                });
                Ok(match degraded {
                    Some(c) => Poll::Done(c["message"].as_str().unwrap_or_default().to_string()),
                    None => Poll::Pending(format!("conditions {conditions}")),
                })
            },
            || async { String::new() },
        )
        .await?;
        println!("{name}: Degraded: {message}");
        if !(message.contains(ensemble::APACHE_IMAGE) && message.contains("flavour is Native")) {
            return Err(Error::Unexpected(format!(
                "unclear mismatch message: {message}"
            )));
        }
        let pods = kubectl(&[
            "get",
            "pods",
            "-n",
            NAMESPACE,
            "-l",
            &format!("app.kubernetes.io/instance={name}"),
            "-o",
            "name",
        ])
        .await?;
        if !pods.trim().is_empty() {
            return Err(Error::Unexpected(format!(
                "pods created for a refused ensemble: {pods}"
            )));
        }

        let to_apache = json!({"spec": {"flavour": "Apache"}});
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(&to_apache))
            .await
        {
            Ok(_) => {
                return Err(Error::Unexpected(
                    "the API server let the flavour change".into(),
                ));
            }
            Err(kube::Error::Api(status))
                if status.code == 422 && status.message.contains("flavour is immutable") =>
            {
                println!("{name}: flavour change refused: {}", status.message);
            }
            Err(other) => {
                return Err(Error::Unexpected(format!(
                    "expected a 422 naming the immutable flavour, got {other}"
                )));
            }
        }
        let other_change = json!({"spec": {"replicas": 2, "flavour": "Native"}});
        let params = PatchParams {
            dry_run: true,
            ..PatchParams::default()
        };
        api.patch(name, &params, &Patch::Merge(&other_change))
            .await
            .map_err(|source| Error::Kube {
                action: "a change that keeps the flavour".into(),
                source,
            })?;
        Ok(())
    }
    .await;
    api.delete(name, &DeleteParams::default())
        .await
        .map_err(|source| Error::Kube {
            action: "delete".into(),
            source,
        })?;
    checks
}
