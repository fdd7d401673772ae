//! A session with an ensemble, authenticated as the super user, with idempotent `ensure_*` operations.

use std::future::Future;
use std::time::Duration;

use zookeeper_client::{Acls, Client, CreateMode, EnsembleUpdate, Error as ClientError};

use super::ZkError;
use super::transport::{Endpoint, Transport, Tunnel};
use crate::ensemble_config::{EnsembleConfig, ServerLine};
use crate::resources::secret::SUPER_USER;

/// The node holding the dynamic configuration.
const CONFIG_NODE: &str = "/zookeeper/config";

/// Node the operator writes to confirm that the ensemble commits writes after a removal.
const CONFIRM_NODE: &str = "/zk-operator";

/// A session with an ensemble; every call is bounded by the timeout given at connect.
pub struct EnsembleClient {
    client: Client,
    timeout: Duration,
    /// The TLS tunnels the session runs through, kept open as long as it.
    _tunnels: Vec<Tunnel>,
}

async fn bounded<T>(
    call: &'static str,
    timeout: Duration,
    future: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ZkError> {
    match tokio::time::timeout(timeout, future).await {
        Err(_) => Err(ZkError::Timeout(call)),
        Ok(result) => result.map_err(|source| ZkError::Client { call, source }),
    }
}

impl EnsembleClient {
    /// Connects to any of `endpoints` over `transport` and authenticates as the super user.
    pub async fn connect(
        endpoints: &[Endpoint],
        transport: &Transport,
        password: &str,
        timeout: Duration,
    ) -> Result<Self, ZkError> {
        let (addresses, tunnels) = transport.session_addresses(endpoints).await?;
        let auth = format!("{SUPER_USER}:{password}");
        let connector = Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_connection_timeout(timeout)
            .with_auth("digest", auth.as_bytes());
        let client = bounded("connect", timeout, connector.connect(&addresses.join(","))).await?;
        Ok(Self {
            client,
            timeout,
            _tunnels: tunnels,
        })
    }

    /// The committed configuration: `sync` first, so the connected member has caught up, then `getConfig`.
    pub async fn committed_config(&self) -> Result<EnsembleConfig, ZkError> {
        bounded("sync", self.timeout, self.client.sync(CONFIG_NODE)).await?;
        let (data, _) = bounded("getConfig", self.timeout, self.client.get_config()).await?;
        Ok(EnsembleConfig::parse(&String::from_utf8_lossy(&data))?)
    }

    /// Makes `server` a member in its role (voter or observer), by reconfig conditioned on `version` unless it
    /// is one already. Returns the configuration that holds afterwards.
    pub async fn ensure_added(
        &self,
        server: &ServerLine,
        version: i64,
    ) -> Result<EnsembleConfig, ZkError> {
        let joining = [server.line()];
        let joinings: Vec<&str> = joining.iter().map(String::as_str).collect();
        self.reconfig(&joinings, &[], version, |config| {
            config
                .servers
                .get(&server.id)
                .is_some_and(|s| s.role == server.role)
        })
        .await
    }

    /// Makes `id` leave the ensemble, by reconfig conditioned on `version` unless it is already gone. Returns the
    /// configuration that holds afterwards.
    pub async fn ensure_removed(&self, id: u32, version: i64) -> Result<EnsembleConfig, ZkError> {
        let leaving = [id.to_string()];
        let leavings: Vec<&str> = leaving.iter().map(String::as_str).collect();
        self.reconfig(&[], &leavings, version, |config| {
            !config.servers.contains_key(&id)
        })
        .await
    }

    async fn reconfig(
        &self,
        joinings: &[&str],
        leavings: &[&str],
        version: i64,
        done: impl Fn(&EnsembleConfig) -> bool,
    ) -> Result<EnsembleConfig, ZkError> {
        let current = self.committed_config().await?;
        if done(&current) {
            return Ok(current);
        }
        let update = EnsembleUpdate::Incremental {
            joinings: joinings.iter().copied(),
            leavings: leavings.iter().copied(),
        };
        // A reconfig waits for a quorum of the new configuration; give it several ordinary timeouts.
        let result = bounded(
            "reconfig",
            self.timeout * 4,
            self.client.update_ensemble(update, Some(version)),
        )
        .await;
        match result {
            Ok((data, _)) => Ok(EnsembleConfig::parse(&String::from_utf8_lossy(&data))?),
            Err(ZkError::Client {
                source: ClientError::BadVersion,
                ..
            }) => {
                let found = self.committed_config().await?;
                if done(&found) {
                    Ok(found)
                } else {
                    Err(ZkError::ConfigMoved {
                        expected: version,
                        found: found.version,
                    })
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Writes through the quorum (creating the operator's node if needed), proving the ensemble commits.
    pub async fn confirm_quorum_write(&self, note: &str) -> Result<(), ZkError> {
        let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
        match bounded(
            "create",
            self.timeout,
            self.client.create(CONFIRM_NODE, b"", &options),
        )
        .await
        {
            Ok(_)
            | Err(ZkError::Client {
                source: ClientError::NodeExists,
                ..
            }) => {}
            Err(other) => return Err(other),
        }
        bounded(
            "setData",
            self.timeout,
            self.client.set_data(CONFIRM_NODE, note.as_bytes(), None),
        )
        .await?;
        Ok(())
    }
}
