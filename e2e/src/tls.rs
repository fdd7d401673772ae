//! Talking to an ensemble over TLS as a client of its client Service's TLS port: the ensemble's authority
//! checks the Service's certificate, and the members' certificate is presented (`clientAuth=need`).

use std::time::Duration;

use zk_operator::resources::meta::{client_service_name, secret_name};
use zk_operator::resources::secret::PASSWORD_KEY;
use zk_operator::resources::tls::{CA_KEY, CERT_KEY, PRIVATE_KEY_KEY, member_secret_name};
use zk_operator::zk::{Endpoint, EnsembleClient, Transport};

use crate::ensemble::Ensemble;
use crate::{Error, Result};

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
