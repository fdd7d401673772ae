//! Growing and shrinking an ensemble by reconfig, one member per step, the way the operator does it: a
//! member joins with the servers of the committed config plus itself, syncs as a non-voting follower and
//! is then added (`reconfig -add`); a member leaves by `reconfig -remove` and is stopped afterwards.
//!
//! A reconfig whose answer is lost (the connection dropped, the leader was killed) is checked against the
//! committed config before it is retried: it is either there or not at all.

use std::time::{Duration, Instant};

use zk_bench::launch::Flavour;
use zk_bench::reconfig::config::{DynamicConfig, participant_spec};
use zookeeper_client::{Client, EnsembleUpdate, Error as ZkError};

use super::{Ensemble, EnsembleError, plan};

/// How long one membership step may take, retries included.
const STEP_LIMIT: Duration = Duration::from_secs(60);
/// Pause between retries of a reconfig.
const RETRY_PAUSE: Duration = Duration::from_millis(300);

/// The config in the data of `/zookeeper/config`.
fn parse_config(data: &[u8]) -> Result<DynamicConfig, EnsembleError> {
    let text = String::from_utf8_lossy(data);
    DynamicConfig::parse(&text).ok_or_else(|| EnsembleError::UnreadableConfig(text.into_owned()))
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
    pub async fn committed_config(&self) -> Result<DynamicConfig, EnsembleError> {
        let admin = self.admin().await?;
        admin
            .sync("/zookeeper/config")
            .await
            .map_err(reconfig_error("sync"))?;
        let (data, _) = admin
            .get_config()
            .await
            .map_err(reconfig_error("read /zookeeper/config"))?;
        parse_config(&data)
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
        cfg.push_str(&committed.server_lines());
        cfg.push_str(&own);
        cfg.push('\n');
        self.deployment.launch(id, &cfg).await?;
        self.wait_mode(id, Some("follower"), STEP_LIMIT).await
    }

    /// What `reconfig -add` names member `id` as: `server.N=host:quorum:election:participant;client`.
    pub fn joining_spec(&self, id: usize) -> String {
        participant_spec(&self.topology.server_line(id - 1))
    }

    /// The config as member `id` itself has it (no `sync`: what that member applied).
    pub async fn config_on(&self, id: usize) -> Result<DynamicConfig, EnsembleError> {
        let session = self.admin_on(id).await?;
        let (data, _) = session.get_config().await.map_err(reconfig_error(format!(
            "read /zookeeper/config on member {id}"
        )))?;
        parse_config(&data)
    }

    /// Waits until every one of `members` has applied the same config, and returns it.
    pub async fn agreed_config(&self, members: &[usize]) -> Result<DynamicConfig, EnsembleError> {
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
