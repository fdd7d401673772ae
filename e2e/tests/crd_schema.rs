//! The ZkEnsemble schema as the real API server enforces it: bad specs are refused at admission with a
//! message naming the field, before the operator ever sees them; a minimal spec is accepted and defaulted.
//!
//! Every request is a server-side dry run: nothing is stored. Run by `scripts/e2e.sh` with the scenarios.

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};
use zk_e2e::{Error, Result, operator};
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
        ("/flavour", json!("Apache")),
        ("/image", json!("zookeeper:3.8")),
    ];
    for (pointer, want) in defaults {
        let got = spec.pointer(pointer);
        if got != Some(&want) {
            return Err(Error::Unexpected(format!(
                "spec{pointer}: expected the default {want}, got {got:?} in {spec}"
            )));
        }
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
