//! The certificates of `spec.tls` at each reconcile: the operator's authority is created once and kept; the
//! members' Secret is issued from it when missing, issued for other names or due for renewal, or copied from
//! the user's Secret (`spec.tls.secretName`) as it is now, so a rotation by cert-manager reaches the members.
//!
//! zk-server members reload changed store files. For Apache members the certificate is folded into the
//! credential fingerprint every member pod records ([`read_at_start`]): a new certificate restarts them one at
//! a time, as a rotated super credential does.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::Context;
use super::apply::create_if_absent;
use super::reconcile::{Credentials, apply_object, publish};
use crate::resources::meta::plain_client_port;
use crate::resources::tls::{
    CA_KEY, CERT_KEY, PRIVATE_KEY_KEY, TlsMaterial, ca_secret_name, check_key_form, issue_ca,
    issue_member_cert, issued_for, member_dns_names, member_secret, member_secret_name,
    needs_new_member_cert, read_at_start, secret_text, tls_spec, validity_annotations,
};
use crate::types::ZkEnsemble;
use crate::zk::Transport;
use crate::{Error, Result, kube_err};

/// Brings the members' TLS Secret up to date and returns how the operator reaches the members' client ports
/// (over TLS with that Secret's certificates when the ensemble has no plain client port, else in plain text),
/// and `credentials`, whose fingerprint covers the certificate for Apache members.
pub(super) async fn reconcile_tls(
    zk: &ZkEnsemble,
    ctx: &Context,
    credentials: Credentials,
) -> Result<(Transport, Credentials)> {
    let Some(tls) = tls_spec(zk) else {
        return Ok((Transport::Plain, credentials));
    };
    let api = Api::<Secret>::namespaced(ctx.client.clone(), &zk.namespace().unwrap_or_default());
    let material = match &tls.secret_name {
        Some(name) => {
            let user = api
                .get(name)
                .await
                .map_err(kube_err("reading the TLS Secret"))?;
            let material = material_of(&user, CA_KEY)?;
            check_key_form(zk, &material, name)?;
            apply_object(
                zk,
                ctx,
                &member_secret(zk, &material, BTreeMap::new()),
                "applying the members' TLS Secret",
            )
            .await?;
            material
        }
        None => issued_material(zk, ctx, &api).await?,
    };
    let credentials = match read_at_start(zk, &material) {
        Some(text) => credentials.covering(&text),
        None => credentials,
    };
    let transport = match plain_client_port(zk) {
        true => Transport::Plain,
        false => Transport::tls(&material.ca, &material.cert, &material.key)?,
    };
    Ok((transport, credentials))
}

/// The members' certificate from the operator's authority, issued anew when needed.
async fn issued_material(zk: &ZkEnsemble, ctx: &Context, api: &Api<Secret>) -> Result<TlsMaterial> {
    let now = Timestamp::now();
    let ca_name = ca_secret_name(zk);
    if api
        .get_opt(&ca_name)
        .await
        .map_err(kube_err("reading the CA Secret"))?
        .is_none()
    {
        create_if_absent(api, &issue_ca(zk, now)?, "creating the CA Secret").await?;
        let note = format!("created the certificate authority in Secret {ca_name}");
        publish(
            zk,
            ctx,
            EventType::Normal,
            "CertificateAuthorityCreated",
            "CreateSecret",
            note,
            None,
        )
        .await;
    }
    let ca = api
        .get(&ca_name)
        .await
        .map_err(kube_err("reading the CA Secret"))?;
    let ca_material = material_of(&ca, CERT_KEY)?;
    let names = member_dns_names(zk, &ctx.settings.cluster_domain);
    let wanted = issued_for(&names, &ca_material.cert);
    let existing = api
        .get_opt(&member_secret_name(zk))
        .await
        .map_err(kube_err("reading the members' TLS Secret"))?;
    if let Some(current) = existing
        .as_ref()
        .filter(|s| !needs_new_member_cert(Some(s), &wanted, now))
    {
        return material_of(current, CA_KEY);
    }
    let (material, not_before, not_after) =
        issue_member_cert(zk, &names, &ca_material.cert, &ca_material.key, now)?;
    let secret = member_secret(
        zk,
        &material,
        validity_annotations(not_before, not_after, wanted),
    );
    apply_object(zk, ctx, &secret, "applying the members' TLS Secret").await?;
    let note = format!(
        "issued the members' certificate into Secret {}, valid until {not_after}",
        member_secret_name(zk)
    );
    publish(
        zk,
        ctx,
        EventType::Normal,
        "CertificateIssued",
        "IssueCertificate",
        note,
        None,
    )
    .await;
    Ok(material)
}

/// The certificate, key and authority (under `ca_key`) of a TLS Secret.
fn material_of(secret: &Secret, ca_key: &'static str) -> Result<TlsMaterial> {
    let text = |key: &'static str| {
        secret_text(secret, key).ok_or_else(|| Error::Credentials {
            secret: secret.name_any(),
            key,
        })
    };
    Ok(TlsMaterial {
        cert: text(CERT_KEY)?,
        key: text(PRIVATE_KEY_KEY)?,
        ca: text(ca_key)?,
    })
}
