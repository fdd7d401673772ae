//! `spec.auth`: renders the members' JAAS file from the users Secret (and the quorum credential, generated
//! when absent) into the JAAS Secret, and folds it into the credential fingerprint every member pod records,
//! so that a change to the users restarts the members one at a time, as a rotated super credential does.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;

use super::Context;
use super::apply::create_if_absent;
use super::reconcile::{Credentials, apply_object};
use crate::resources::sasl::{
    QUORUM_PASSWORD_KEY, jaas_config, jaas_secret, quorum_secret, quorum_secret_name,
};
use crate::resources::secret::generate_password;
use crate::types::ZkEnsemble;
use crate::{Error, Result, kube_err};

/// Applies the JAAS Secret of `spec.auth`, if set, and returns `credentials` with a fingerprint that covers
/// the JAAS file too.
pub(super) async fn ensure_sasl(
    zk: &ZkEnsemble,
    ctx: &Context,
    credentials: Credentials,
) -> Result<Credentials> {
    let Some(auth) = &zk.spec.auth else {
        return Ok(credentials);
    };
    let api = Api::<Secret>::namespaced(ctx.client.clone(), &zk.namespace().unwrap_or_default());
    let users_error = |reason: String| Error::SaslUsers {
        secret: auth.sasl_users_secret.clone(),
        reason,
    };
    let users = api
        .get_opt(&auth.sasl_users_secret)
        .await
        .map_err(kube_err("reading the SASL users Secret"))?
        .ok_or_else(|| users_error("not found".into()))?;
    let quorum_password = match auth.quorum {
        true => Some(quorum_password(zk, &api).await?),
        false => None,
    };
    let jaas = jaas_config(&secret_strings(users), quorum_password.as_deref())
        .map_err(|e| users_error(e.to_string()))?;
    apply_object(zk, ctx, &jaas_secret(zk, &jaas), "applying the JAAS Secret").await?;
    Ok(credentials.covering(&jaas))
}

/// The quorum credential, generating its Secret when it does not exist.
async fn quorum_password(zk: &ZkEnsemble, api: &Api<Secret>) -> Result<String> {
    let name = quorum_secret_name(zk);
    create_if_absent(
        api,
        &quorum_secret(zk, &generate_password()),
        "creating the quorum SASL Secret",
    )
    .await?;
    let secret = api
        .get(&name)
        .await
        .map_err(kube_err("reading the quorum SASL Secret"))?;
    secret_strings(secret)
        .remove(QUORUM_PASSWORD_KEY)
        .ok_or(Error::Credentials {
            secret: name,
            key: QUORUM_PASSWORD_KEY,
        })
}

/// The keys and values of `secret`, as text.
fn secret_strings(secret: Secret) -> BTreeMap<String, String> {
    secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}
