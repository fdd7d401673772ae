//! An ensemble grown and shrunk by reconfig, the way an operator does it: member 1 starts alone, each joiner
//! starts from the committed configuration plus its own line, is waited for until it follows as a
//! non-voting member, and is then added; members leave by `reconfig -remove`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::fourlw::{Mode, find_leader, mode};
use crate::launch::{Deployment, Flavour, Launcher};
use crate::reconfig::admin;
use crate::reconfig::config::{DynamicConfig, participant_spec};
use crate::reconfig::error::ReconfigError;
use crate::session::Session;
use crate::wait::wait_for;
use crate::zoocfg::Topology;

/// Settings every member needs to be grown by reconfig: no standalone mode for a lone member,
/// reconfig allowed, ACLs off so an anonymous session may reconfigure.
pub const RECONFIG_SETTINGS: &str = "standaloneEnabled=false\nreconfigEnabled=true\nskipACL=yes\n";

/// How long a member may take to reach a state awaited (a JVM on a busy machine can take seconds).
const STATE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a reconfig refused as premature (the joiner not yet counted as synced) is sent again.
const RECONFIG_ATTEMPTS: u32 = 50;
/// Pause before sending a refused reconfig again.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// What adding one member took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddTiming {
    /// From sending the reconfig until its reply; `None` when the connection closed before the reply came
    /// (the change was then confirmed in the committed configuration).
    pub reply: Option<Duration>,
    /// From sending the reconfig until the member follows and its own configuration lists it as a voter.
    pub voting: Duration,
    /// Reconfigs refused as premature before the one timed.
    pub retries: u32,
}

/// A reconfig that was answered: the time it took and how often it was refused before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answered {
    /// When the request that succeeded was sent.
    pub sent: Instant,
    /// From then until its reply; `None` when the connection closed before the reply came and the change
    /// was found committed afterwards.
    pub reply: Option<Duration>,
    /// When the change was known to be committed: its reply, or the look at the configuration.
    pub settled: Instant,
    /// Attempts refused as premature before it.
    pub retries: u32,
}

/// A deployment whose membership changes by reconfig.
#[derive(Debug)]
pub struct GrowingEnsemble {
    deployment: Deployment,
    topology: Topology,
}

impl GrowingEnsemble {
    /// Starts member 1 alone (its configuration lists only itself) on `topology`'s ports, which must carry
    /// [`RECONFIG_SETTINGS`], and waits until it leads.
    pub async fn seed(
        launcher: &Launcher,
        flavour: Flavour,
        topology: &Topology,
    ) -> Result<Self, ReconfigError> {
        let mut deployment = launcher.prepare(flavour, topology).await?;
        let cfg = topology.render_listing(&deployment.data_dir(1), &[0]);
        deployment.launch(1, &cfg).await?;
        let ensemble = GrowingEnsemble {
            deployment,
            topology: topology.clone(),
        };
        ensemble.wait_mode(1, Mode::Leader).await?;
        Ok(ensemble)
    }

    /// The client address of member `id`.
    pub fn addr(&self, id: usize) -> SocketAddr {
        self.topology.client_addrs()[id - 1]
    }

    /// The flavour running.
    pub fn flavour(&self) -> Flavour {
        self.deployment.flavour()
    }

    /// Starts member `id` from the configuration committed as `via` knows it plus its own line, and waits
    /// until it follows (not voting yet: the others do not list it).
    pub async fn start_joiner(&mut self, id: usize, via: usize) -> Result<(), ReconfigError> {
        let mut session = Session::connect(self.addr(via)).await?;
        let committed = admin::read_config(&mut session).await?;
        session.close().await?;
        let data_dir = self.deployment.data_dir(id);
        let cfg = format!(
            "{}{}{}\n",
            self.topology.render_listing(&data_dir, &[]),
            committed.server_lines(),
            self.topology.server_line(id - 1)
        );
        self.deployment.launch(id, &cfg).await?;
        self.wait_mode(id, Mode::Follower).await
    }

    /// Adds member `id` (started by [`GrowingEnsemble::start_joiner`]) as a voter by a reconfig sent to
    /// member `via`, and waits until `id` follows and its own configuration lists it as a participant.
    pub async fn add(&mut self, id: usize, via: usize) -> Result<AddTiming, ReconfigError> {
        let spec = participant_spec(&self.topology.server_line(id - 1));
        let answered = self
            .reconfig(via, Some(&spec), None, |c| c.is_participant(id))
            .await?;
        let mut own = Session::connect(self.addr(id)).await?;
        let addr = self.addr(id);
        wait_for(&format!("member {id} voting"), STATE_TIMEOUT, async || {
            let listed =
                matches!(admin::read_config(&mut own).await, Ok(c) if c.is_participant(id));
            (listed && mode(addr).await == Mode::Follower).then_some(())
        })
        .await?;
        let voting = answered.sent.elapsed();
        own.close().await?;
        Ok(AddTiming {
            reply: answered.reply,
            voting,
            retries: answered.retries,
        })
    }

    /// Removes member `id` by a reconfig sent to member `via`; the reply must no longer list it.
    pub async fn remove(&mut self, id: usize, via: usize) -> Result<Answered, ReconfigError> {
        let leaving = id.to_string();
        self.reconfig(via, None, Some(&leaving), |c| !c.lists(id))
            .await
    }

    /// Sends the reconfig to `via` until it is not refused as premature, and checks its reply with `took`.
    async fn reconfig(
        &self,
        via: usize,
        joining: Option<&str>,
        leaving: Option<&str>,
        took: impl Fn(&DynamicConfig) -> bool,
    ) -> Result<Answered, ReconfigError> {
        let what = admin::describe(joining, leaving);
        let mut session = Session::connect(self.addr(via)).await?;
        let mut retries = 0;
        loop {
            let sent = Instant::now();
            match admin::reconfig(&mut session, joining, leaving).await {
                Ok(config) if took(&config) => {
                    let settled = Instant::now();
                    let reply = settled - sent;
                    tracing::info!(flavour = %self.flavour(), %what, ?reply, retries, version = %config.version, "reconfig done");
                    // The session may be on a member the change removed: closing it is not part of the test.
                    let _ = session.close().await;
                    return Ok(Answered {
                        sent,
                        reply: Some(reply),
                        settled,
                        retries,
                    });
                }
                Err(ReconfigError::Session(lost)) => {
                    tracing::warn!(flavour = %self.flavour(), %what, "no reply ({lost}); looking for the change");
                    self.wait_committed(via, &what, &took).await?;
                    return Ok(Answered {
                        sent,
                        reply: None,
                        settled: Instant::now(),
                        retries,
                    });
                }
                Ok(config) => {
                    return Err(ReconfigError::Unexpected(format!(
                        "{what} committed {config:?}"
                    )));
                }
                Err(e) if e.is_transient() && retries + 1 < RECONFIG_ATTEMPTS => {
                    tracing::warn!(flavour = %self.flavour(), %what, "refused, sending again: {e}");
                    retries += 1;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until member `via` knows a configuration for which `took` holds (`what` names the change).
    async fn wait_committed(
        &self,
        via: usize,
        what: &str,
        took: impl Fn(&DynamicConfig) -> bool,
    ) -> Result<(), ReconfigError> {
        let addr = self.addr(via);
        wait_for(&format!("{what} committed"), STATE_TIMEOUT, async || {
            let mut session = Session::connect(addr).await.ok()?;
            let config = admin::read_config(&mut session).await.ok()?;
            let _ = session.close().await;
            took(&config).then_some(())
        })
        .await?;
        Ok(())
    }

    /// The member among `ids` that reports leading, waited for.
    pub async fn leader(&self, ids: &[usize]) -> Result<usize, ReconfigError> {
        let addrs: Vec<SocketAddr> = ids.iter().map(|&id| self.addr(id)).collect();
        let leader = wait_for("a leader", STATE_TIMEOUT, async || {
            find_leader(&addrs).await.map(|index| ids[index])
        })
        .await?;
        Ok(leader)
    }

    /// Waits until member `id` reports `wanted`.
    async fn wait_mode(&self, id: usize, wanted: Mode) -> Result<(), ReconfigError> {
        let addr = self.addr(id);
        wait_for(
            &format!("member {id} {wanted:?}"),
            STATE_TIMEOUT,
            async || (mode(addr).await == wanted).then_some(()),
        )
        .await?;
        Ok(())
    }

    /// Kills member `id` (after it left: it would otherwise keep running as a non-voting member).
    pub async fn kill(&mut self, id: usize) -> Result<(), ReconfigError> {
        Ok(self.deployment.kill(id).await?)
    }

    /// Stops every member; the scratch directory goes with them.
    pub async fn stop(self) {
        self.deployment.stop().await;
    }
}
