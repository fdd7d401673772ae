//! An ensemble of `zk-server` processes, one per network namespace of a [`Network`], with the faults a
//! test injects: SIGKILL, restart from the same files, and partitions of a member from its peers.
//! [`membership`] grows and shrinks it by reconfig.

pub mod membership;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zk_bench::fourlw::four_letter_word;
use zk_bench::launch::{Deployment, Flavour, LaunchError, Launcher};
use zk_bench::zoocfg::Topology;

use crate::network::{Network, NetworkError};

/// Why the ensemble could not be started or changed.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    /// The network could not be made or changed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A member could not be started, restarted or killed.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A scratch directory could not be made.
    #[error("scratch directory: {0}")]
    Scratch(std::io::Error),
    /// A reconfig or the read of the config failed.
    #[error("{what}: {source}")]
    Reconfig {
        /// What was being done.
        what: String,
        /// The client's error.
        source: zookeeper_client::Error,
    },
    /// `/zookeeper/config` held something that is not a config.
    #[error("unreadable /zookeeper/config: {0:?}")]
    UnreadableConfig(String),
    /// Members did not come to apply the same config in time.
    #[error("members still differ in their configs: {0}")]
    ConfigsDiffer(String),
    /// A member did not reach a mode in time.
    #[error("member {id} did not report mode {wanted:?} in time (last: {last:?})")]
    ModeNotReached {
        /// The member.
        id: usize,
        /// The mode waited for.
        wanted: String,
        /// What it reported last.
        last: Option<String>,
    },
    /// No single member reported itself leader in time.
    #[error("no leader among members {candidates:?} after {waited:?} (modes: {modes:?})")]
    NoLeader {
        /// The members asked.
        candidates: Vec<usize>,
        /// How long.
        waited: Duration,
        /// What each reported last.
        modes: Vec<Option<String>>,
    },
}

/// The running ensemble. The members are stopped and the network deleted on drop.
#[derive(Debug)]
pub struct Ensemble {
    // Field order is drop order: the processes go before their namespaces.
    deployment: Deployment,
    network: Network,
    topology: Topology,
    size: usize,
}

impl Ensemble {
    /// Starts `size` members of `server_bin` (a `zk-server` binary), each in its own namespace, from a
    /// `zoo.cfg` that lists them all and adds `settings` (`key=value` lines), and waits until every member
    /// serves sessions.
    pub async fn start(
        server_bin: &Path,
        size: usize,
        settings: &str,
    ) -> Result<Self, EnsembleError> {
        let (network, topology, launcher) = plan(server_bin, size, settings)?;
        let deployment = launcher.start(Flavour::Ours, &topology).await?;
        Ok(Ensemble {
            deployment,
            network,
            topology,
            size,
        })
    }

    /// The member ids, `1..=size`.
    pub fn ids(&self) -> Vec<usize> {
        (1..=self.size).collect()
    }

    /// Member `id`'s client address.
    pub fn client_addr(&self, id: usize) -> SocketAddr {
        self.deployment.client_addrs()[id - 1]
    }

    /// The connect string naming every member.
    pub fn connect_string(&self) -> String {
        self.deployment
            .client_addrs()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The connect string naming the members whose process runs.
    pub fn running_connect_string(&self) -> String {
        self.ids()
            .into_iter()
            .filter(|&id| self.is_running(id))
            .map(|id| self.client_addr(id).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether member `id`'s process runs (started, and not killed since).
    pub fn is_running(&self, id: usize) -> bool {
        self.deployment.is_running(id)
    }

    /// Member `id`'s process id, while its process runs.
    pub fn pid(&self, id: usize) -> Option<u32> {
        self.deployment.pid(id)
    }

    /// Member `id`'s directory (`zoo.cfg`, `data/`, `server.log`).
    pub fn member_dir(&self, id: usize) -> &Path {
        self.deployment.member_dir(id)
    }

    /// Kills member `id` with SIGKILL.
    pub async fn kill(&mut self, id: usize) -> Result<(), EnsembleError> {
        tracing::info!(member = id, "SIGKILL");
        Ok(self.deployment.kill(id).await?)
    }

    /// Starts member `id` again from its files and waits until it answers `ruok`.
    pub async fn restart(&mut self, id: usize) -> Result<(), EnsembleError> {
        Ok(self.deployment.restart(id).await?)
    }

    /// Cuts member `id` off from every other member (both ways); clients still reach it.
    pub fn isolate(&self, id: usize) -> Result<(), EnsembleError> {
        let others: Vec<usize> = self.ids().into_iter().filter(|&o| o != id).collect();
        Ok(self.network.isolate(id, &others)?)
    }

    /// Makes member `from`'s connections to member `to`'s quorum port fail as if `to`'s process
    /// were gone (refused, open ones aborted), while `to` still reaches `from`: what a member sees
    /// when its leader dies, although the leader runs. Undone by [`Ensemble::heal`] of `from`.
    pub fn reset_quorum_link(&self, from: usize, to: usize) -> Result<(), EnsembleError> {
        let port = self.topology.members()[to - 1].quorum;
        Ok(self.network.reset_link(from, to, port)?)
    }

    /// The zxid of the last entry member `id` applied (`Zxid:` of `srvr`; its upper 32 bits are
    /// the epoch), or `None` if it does not answer or serves no requests.
    pub async fn zxid(&self, id: usize) -> Option<i64> {
        let reply = four_letter_word(self.client_addr(id), "srvr").await.ok()?;
        let hex = reply.lines().find_map(|l| l.strip_prefix("Zxid: 0x"))?;
        i64::from_str_radix(hex.trim(), 16).ok()
    }

    /// Ends every partition of member `id`.
    pub fn heal(&self, id: usize) -> Result<(), EnsembleError> {
        Ok(self.network.heal(id)?)
    }

    /// What member `id` says it is (`Mode:` of `srvr`: leader, follower, observer, standalone,
    /// read-only), or `None` if it does not answer or serves no requests.
    pub async fn mode(&self, id: usize) -> Option<String> {
        let reply = four_letter_word(self.client_addr(id), "srvr").await.ok()?;
        reply
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(|m| m.trim().to_owned())
    }

    /// Waits until member `id` is back in the quorum: it reports `leader` or `follower`.
    pub async fn wait_in_quorum(&self, id: usize, within: Duration) -> Result<(), EnsembleError> {
        self.wait_until(id, within, "leader or follower", |mode| {
            matches!(mode, Some("leader" | "follower"))
        })
        .await
    }

    /// Waits until member `id` reports `mode` (see [`Ensemble::mode`]; `None`: not serving).
    pub async fn wait_mode(
        &self,
        id: usize,
        mode: Option<&str>,
        within: Duration,
    ) -> Result<(), EnsembleError> {
        self.wait_until(id, within, &format!("{mode:?}"), |now| now == mode)
            .await
    }

    /// Waits until what member `id` reports is `accept`ed (`wanted` describes it for the error).
    async fn wait_until(
        &self,
        id: usize,
        within: Duration,
        wanted: &str,
        accept: impl Fn(Option<&str>) -> bool,
    ) -> Result<(), EnsembleError> {
        let start = Instant::now();
        loop {
            let now = self.mode(id).await;
            if accept(now.as_deref()) {
                return Ok(());
            }
            if start.elapsed() > within {
                return Err(EnsembleError::ModeNotReached {
                    id,
                    wanted: wanted.to_owned(),
                    last: now,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until exactly one of `candidates` reports `leader` and returns it.
    pub async fn leader_among(
        &self,
        candidates: &[usize],
        within: Duration,
    ) -> Result<usize, EnsembleError> {
        let start = Instant::now();
        loop {
            let mut modes = Vec::new();
            for &id in candidates {
                modes.push(self.mode(id).await);
            }
            let leaders: Vec<usize> = candidates
                .iter()
                .zip(&modes)
                .filter(|(_, m)| m.as_deref() == Some("leader"))
                .map(|(&id, _)| id)
                .collect();
            if let [leader] = leaders[..] {
                return Ok(leader);
            }
            if start.elapsed() > within {
                return Err(EnsembleError::NoLeader {
                    candidates: candidates.to_vec(),
                    waited: start.elapsed(),
                    modes,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until exactly one member reports `leader` and returns it.
    pub async fn leader(&self, within: Duration) -> Result<usize, EnsembleError> {
        self.leader_among(&self.ids(), within).await
    }

    /// Stops every member.
    pub async fn stop(self) {
        self.deployment.stop().await;
    }
}

/// The network, the members' addresses and settings, and how to start them.
fn plan(
    server_bin: &Path,
    size: usize,
    settings: &str,
) -> Result<(Network, Topology, Launcher), EnsembleError> {
    let network = Network::new(size)?;
    let topology = Topology::on_hosts(&network.addrs()).with_settings(settings);
    let launcher = Launcher {
        apache_classpath: String::new(),
        server_bin: Some(server_bin.to_path_buf()),
        workdir: scratch_root(),
        netns: network.namespaces(),
    };
    std::fs::create_dir_all(&launcher.workdir).map_err(EnsembleError::Scratch)?;
    Ok((network, topology, launcher))
}

/// Where members' scratch directories are made: under the system's temporary directory.
fn scratch_root() -> PathBuf {
    std::env::temp_dir().join("zk-robustness")
}
