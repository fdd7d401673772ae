//! Talking to an ensemble over TLS as a client of its client Service's TLS port: the ensemble's authority
//! checks the Service's certificate, and the members' certificate is presented (`clientAuth=need`). Also the
//! user's side of `spec.tls.secretName` (an authority of the test's own and a cert-manager-layout Secret
//! issued from it) and the certificate a member serves.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{Patch, PatchParams};
use zk_operator::resources::meta::{SECURE_CLIENT_PORT, client_service_name, secret_name};
use zk_operator::resources::secret::PASSWORD_KEY;
use zk_operator::resources::tls::{
    CA_KEY, CERT_KEY, PRIVATE_KEY_KEY, issue_ca, issue_member_cert, member_dns_names,
    member_secret_name, secret_text,
};
use zk_operator::zk::{Endpoint, EnsembleClient, Transport, Tunnel};

use crate::command::run;
use crate::ensemble::Ensemble;
use crate::error::kube_err;
use crate::{Error, Result};

/// The cluster's DNS domain.
const CLUSTER_DOMAIN: &str = "cluster.local";

/// Bound on each call of a TLS session.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS transport with the certificates of the ensemble's members' Secret.
pub async fn transport(ensemble: &Ensemble) -> Result<Transport> {
    let zk = ensemble.get().await?;
    let secret = member_secret_name(&zk);
    let text = |key| ensemble.secret_text(&secret, key);
    Transport::tls(
        &text(CA_KEY).await?,
        &text(CERT_KEY).await?,
        &text(PRIVATE_KEY_KEY).await?,
    )
    .map_err(|e| Error::Unexpected(format!("TLS transport: {e}")))
}

/// The client Service's TLS port, checked against the Service's DNS name.
pub async fn client_endpoint(ensemble: &Ensemble) -> Result<Endpoint> {
    let zk = ensemble.get().await?;
    Ok(Endpoint {
        address: ensemble.client_tls_address().await?,
        host: format!("{}.{}.svc", client_service_name(&zk), ensemble.namespace),
    })
}

/// A super-user session through the client Service's TLS port.
pub async fn session(ensemble: &Ensemble) -> Result<EnsembleClient> {
    let zk = ensemble.get().await?;
    let password = ensemble
        .secret_text(&secret_name(&zk), PASSWORD_KEY)
        .await?;
    let endpoint = client_endpoint(ensemble).await?;
    EnsembleClient::connect(
        &[endpoint],
        &transport(ensemble).await?,
        &password,
        CALL_TIMEOUT,
    )
    .await
    .map_err(|e| Error::Unexpected(format!("TLS session through the client Service: {e}")))
}

/// A plain-text address on this machine's loopback interface whose connections are carried over TLS to the
/// client Service's TLS port (as the operator reaches members without a plain port), and the tunnel doing it,
/// to keep while the address is used. A ZooKeeper client connecting there speaks to the members over TLS,
/// presenting the members' certificate; a reconnect opens a new TLS connection through the Service.
pub async fn client_tunnel(ensemble: &Ensemble) -> Result<(String, Tunnel)> {
    let endpoint = client_endpoint(ensemble).await?;
    let (addresses, tunnels) = transport(ensemble)
        .await?
        .session_addresses(&[endpoint])
        .await
        .map_err(|e| {
            Error::Unexpected(format!("a tunnel to the client Service's TLS port: {e}"))
        })?;
    match (addresses.into_iter().next(), tunnels.into_iter().next()) {
        (Some(address), Some(tunnel)) => Ok((address, tunnel)),
        _ => Err(Error::Unexpected(
            "a TLS transport opened no tunnel".to_string(),
        )),
    }
}

/// An authority of the user's, outside the operator: its certificate and key (PEM).
pub struct UserAuthority {
    cert: String,
    key: String,
}

impl UserAuthority {
    /// A new authority for `ensemble`'s certificates.
    pub async fn new(ensemble: &Ensemble) -> Result<Self> {
        let zk = ensemble.get().await?;
        let ca = issue_ca(&zk, jiff::Timestamp::now())
            .map_err(|e| Error::Unexpected(format!("the user's authority: {e}")))?;
        let text = |key| {
            secret_text(&ca, key)
                .ok_or_else(|| Error::Unexpected(format!("the user's authority has no {key}")))
        };
        Ok(Self {
            cert: text(CERT_KEY)?,
            key: text(PRIVATE_KEY_KEY)?,
        })
    }

    /// Issues a certificate for every member of `ensemble` and writes it, its key and the authority into the
    /// Secret `name` with cert-manager's layout (`tls.crt`, `tls.key`, `ca.crt`), as cert-manager does at an
    /// issue or a renewal. Returns the certificate (PEM).
    pub async fn issue_into(&self, ensemble: &Ensemble, name: &str) -> Result<String> {
        let zk = ensemble.get().await?;
        let names = member_dns_names(&zk, CLUSTER_DOMAIN);
        let (material, ..) =
            issue_member_cert(&zk, &names, &self.cert, &self.key, jiff::Timestamp::now())
                .map_err(|e| Error::Unexpected(format!("a certificate of the user's: {e}")))?;
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(ensemble.namespace.clone()),
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/tls".to_string()),
            string_data: Some(BTreeMap::from([
                (CERT_KEY.to_string(), material.cert.clone()),
                (PRIVATE_KEY_KEY.to_string(), material.key),
                (CA_KEY.to_string(), self.cert.clone()),
            ])),
            ..Secret::default()
        };
        Api::<Secret>::namespaced(ensemble.client.clone(), &ensemble.namespace)
            .patch(
                name,
                &PatchParams::apply("zk-e2e").force(),
                &Patch::Apply(&secret),
            )
            .await
            .map_err(kube_err("write the user's TLS Secret"))?;
        Ok(material.cert)
    }
}

/// The certificate the member at `ip` serves on its TLS port, as the base64 text of its DER form, asked
/// for with `openssl s_client` presenting the members' certificate.
pub async fn served_certificate(ensemble: &Ensemble, ip: &str) -> Result<String> {
    let zk = ensemble.get().await?;
    let secret = member_secret_name(&zk);
    let dir = std::env::temp_dir().join(format!("zk-e2e-tls-{}", ensemble.namespace));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::Unexpected(format!("creating {}: {e}", dir.display())))?;
    let file = |key: &str, text: String| -> Result<PathBuf> {
        let path = dir.join(key);
        std::fs::write(&path, text)
            .map_err(|e| Error::Unexpected(format!("writing {}: {e}", path.display())))?;
        Ok(path)
    };
    let cert = file(CERT_KEY, ensemble.secret_text(&secret, CERT_KEY).await?)?;
    let key = file(
        PRIVATE_KEY_KEY,
        ensemble.secret_text(&secret, PRIVATE_KEY_KEY).await?,
    )?;
    let address = format!("{ip}:{SECURE_CLIENT_PORT}");
    let output = run(
        "timeout",
        &[
            "10",
            "openssl",
            "s_client",
            "-connect",
            &address,
            "-cert",
            &cert.to_string_lossy(),
            "-key",
            &key.to_string_lossy(),
        ],
    )
    .await?;
    first_certificate(&output)
        .ok_or_else(|| Error::Unexpected(format!("{address} served no certificate:\n{output}")))
}

/// The base64 text (line breaks removed) of the first PEM certificate in `text`.
pub fn first_certificate(text: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    let body = &text[text.find(BEGIN)? + BEGIN.len()..];
    let body = &body[..body.find("-----END CERTIFICATE-----")?];
    Some(body.split_whitespace().collect())
}
