//! Growing and shrinking an ensemble by reconfig, one member per step, the way the operator does it: a
//! member joins with the servers of the committed config plus itself, syncs as a non-voting follower and
//! is then added (`reconfig -add`); a member leaves by `reconfig -remove` and is stopped afterwards.
//!
//! A reconfig whose answer is lost (the connection dropped, the leader was killed) is checked against the
//! committed config before it is retried: it is either there or not at all.

use std::time::{Duration, Instant};

use zk_bench::launch::Flavour;
use zookeeper_client::{Client, EnsembleUpdate, Error as ZkError};

use super::{Ensemble, EnsembleError, plan};

/// How long one membership step may take, retries included.
const STEP_LIMIT: Duration = Duration::from_secs(60);
/// Pause between retries of a reconfig.
const RETRY_PAUSE: Duration = Duration::from_millis(300);

/// What the ensemble has committed: its `server.N=…` lines and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedConfig {
    /// The `server.N=…` lines, as `/zookeeper/config` lists them.
    pub servers: Vec<String>,
    /// `version=` of the config, parsed from hex.
    pub version: i64,
}

impl CommittedConfig {
    /// Parses the text of `/zookeeper/config`.
    pub fn parse(text: &str) -> Self {
        let servers = text
            .lines()
            .filter(|l| l.starts_with("server."))
            .map(str::to_owned)
            .collect();
        let version = text
            .lines()
            .find_map(|l| l.strip_prefix("version="))
            .and_then(|v| i64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(-1);
        CommittedConfig { servers, version }
    }

    /// The ids of the members listed as voters (`participant`).
    pub fn voters(&self) -> Vec<usize> {
        self.servers
            .iter()
            .filter(|l| l.contains(":participant"))
            .filter_map(|l| l.strip_prefix("server.")?.split('=').next()?.parse().ok())
            .collect()
    }
}

fn reconfig_error(what: impl Into<String>) -> impl FnOnce(ZkError) -> EnsembleError {
    let what = what.into();
    move |source| EnsembleError::Reconfig { what, source }
}

/// A session with the members of `connect_string`.
async fn connect_admin(connect_string: &str) -> Result<Client, EnsembleError> {
    Client::connector()
        .with_session_timeout(Duration::from_secs(15))
        .connect(connect_string)
        .await
        .map_err(reconfig_error(format!("connect to {connect_string}")))
}

impl Ensemble {
    /// Starts member 1 alone, as a one-member ensemble that grows by reconfig (`standaloneEnabled=false`,
    /// `reconfigEnabled=true`, `skipACL=yes` are added to `settings`); members `2..=capacity` are
    /// started by [`Ensemble::join`].
    pub async fn start_growable(
        server_bin: &std::path::Path,
        capacity: usize,
        settings: &str,
    ) -> Result<Self, EnsembleError> {
        let settings =
            format!("{settings}standaloneEnabled=false\nreconfigEnabled=true\nskipACL=yes\n");
        let (network, topology, launcher) = plan(server_bin, capacity, &settings)?;
        let mut deployment = launcher.prepare(Flavour::Ours, &topology).await?;
        let cfg = topology.render_listing(&deployment.data_dir(1), &[0]);
        deployment.launch(1, &cfg).await?;
        let ensemble = Ensemble {
            deployment,
            network,
            topology,
            size: capacity,
        };
        ensemble.wait_mode(1, Some("leader"), STEP_LIMIT).await?;
        Ok(ensemble)
    }

    /// A session with the running members, for reconfig.
    pub async fn admin(&self) -> Result<Client, EnsembleError> {
        connect_admin(&self.running_connect_string()).await
    }

    /// A session with member `id` only.
    pub async fn admin_on(&self, id: usize) -> Result<Client, EnsembleError> {
        connect_admin(&self.client_addr(id).to_string()).await
    }

    /// The committed config, read (after `sync`) from a running member.
    pub async fn committed_config(&self) -> Result<CommittedConfig, EnsembleError> {
        let admin = self.admin().await?;
        admin
            .sync("/zookeeper/config")
            .await
            .map_err(reconfig_error("sync"))?;
        let (data, _) = admin
            .get_config()
            .await
            .map_err(reconfig_error("read /zookeeper/config"))?;
        Ok(CommittedConfig::parse(&String::from_utf8_lossy(&data)))
    }

    /// Starts member `id` from the committed servers plus itself, waits until it has synced as a
    /// non-voting follower, adds it by reconfig and waits until the committed config lists it as a
    /// voter.
    pub async fn join(&mut self, id: usize) -> Result<(), EnsembleError> {
        self.start_joiner(id).await?;
        let joining = self.joining_spec(id);
        self.reconfig(id, vec![joining.as_str()], Vec::new(), true)
            .await?;
        tracing::info!(member = id, "joined");
        Ok(())
    }

    /// Starts member `id` from the committed servers plus itself and waits until it has synced as a
    /// non-voting follower: ready to be added.
    pub async fn start_joiner(&mut self, id: usize) -> Result<(), EnsembleError> {
        let committed = self.committed_config().await?;
        let own = self.topology.server_line(id - 1);
        let mut cfg = self
            .topology
            .render_listing(&self.deployment.data_dir(id), &[]);
        for line in committed.servers.iter().chain([&own]) {
            cfg.push_str(line);
            cfg.push('\n');
        }
        self.deployment.launch(id, &cfg).await?;
        self.wait_mode(id, Some("follower"), STEP_LIMIT).await
    }

    /// What `reconfig -add` names member `id` as: `server.N=host:quorum:election:participant;client`.
    pub fn joining_spec(&self, id: usize) -> String {
        self.topology
            .server_line(id - 1)
            .replacen(';', ":participant;", 1)
    }

    /// The config as member `id` itself has it (no `sync`: what that member applied).
    pub async fn config_on(&self, id: usize) -> Result<CommittedConfig, EnsembleError> {
        let session = self.admin_on(id).await?;
        let (data, _) = session.get_config().await.map_err(reconfig_error(format!(
            "read /zookeeper/config on member {id}"
        )))?;
        Ok(CommittedConfig::parse(&String::from_utf8_lossy(&data)))
    }

    /// Waits until every one of `members` has applied the same config, and returns it.
    pub async fn agreed_config(&self, members: &[usize]) -> Result<CommittedConfig, EnsembleError> {
        let start = Instant::now();
        loop {
            let mut configs = Vec::new();
            for &id in members {
                configs.push(self.config_on(id).await.ok());
            }
            if let Some(Some(first)) = configs.first()
                && configs.iter().all(|c| c.as_ref() == Some(first))
            {
                return Ok(first.clone());
            }
            if start.elapsed() > STEP_LIMIT {
                return Err(EnsembleError::ConfigsDiffer(format!("{configs:?}")));
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// Removes member `id` by reconfig, then stops it.
    pub async fn leave(&mut self, id: usize) -> Result<(), EnsembleError> {
        let leaving = id.to_string();
        self.reconfig(id, Vec::new(), vec![leaving.as_str()], false)
            .await?;
        self.deployment.kill(id).await?;
        tracing::info!(member = id, "left");
        Ok(())
    }

    /// Sends an incremental reconfig until the committed config lists `id` as a voter (`voter`) or
    /// not at all (`!voter`). A refusal that may pass (NewConfigNoQuorum: the joiner is not caught up
    /// yet; ReconfigInProgress) and a lost answer are retried after checking the committed config.
    async fn reconfig(
        &self,
        id: usize,
        joining: Vec<&str>,
        leaving: Vec<&str>,
        voter: bool,
    ) -> Result<(), EnsembleError> {
        let start = Instant::now();
        loop {
            let outcome = match self.admin().await {
                Ok(admin) => admin
                    .update_ensemble(
                        EnsembleUpdate::Incremental {
                            joinings: joining.clone().into_iter(),
                            leavings: leaving.clone().into_iter(),
                        },
                        None,
                    )
                    .await
                    .map(|_| ()),
                Err(EnsembleError::Reconfig { source, .. }) => Err(source),
                Err(e) => return Err(e),
            };
            let source = match outcome {
                Ok(()) => return Ok(()),
                Err(source) => source,
            };
            let retryable = matches!(
                source,
                // NewConfigNoQuorum (-13): the joiner is not caught up yet; ReconfigInProgress (-14).
                ZkError::UnexpectedErrorCode(-13 | -14)
                    | ZkError::ConnectionLoss
                    | ZkError::Timeout
                    | ZkError::Custom(_)
            );
            // The answer may be lost although the change committed.
            if let Ok(committed) = self.committed_config().await
                && committed.voters().contains(&id) == voter
            {
                return Ok(());
            }
            if !retryable || start.elapsed() > STEP_LIMIT {
                return Err(EnsembleError::Reconfig {
                    what: format!("reconfig of member {id}"),
                    source,
                });
            }
            tracing::info!(member = id, "reconfig to retry: {source}");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_config_znode() {
        let text = "server.1=10.0.0.1:2888:3888:participant;10.0.0.1:2181\n\
                    server.2=10.0.0.2:2888:3888:observer;10.0.0.2:2181\n\
                    server.3=10.0.0.3:2888:3888:participant;10.0.0.3:2181\n\
                    version=10000000a";
        let config = CommittedConfig::parse(text);
        assert_eq!(config.servers.len(), 3);
        assert_eq!(config.version, 0x1_0000_000a);
        assert_eq!(config.voters(), vec![1, 3]);
    }
}
