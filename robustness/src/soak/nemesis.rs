//! The soak's faults, on a schedule: the ensemble goes 3 → 5 → 3 by reconfig, one member per step
//! (`+4`, `+5`, `-5`, `-4`, and again), and its leader is SIGKILLed and restarted, each at its own
//! period. A member that joins again starts from an empty data directory, as a new volume would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::sample::MemberView;
use crate::ensemble::{Ensemble, EnsembleError};

/// How long a new leader may take to be named.
const LEADER_LIMIT: Duration = Duration::from_secs(30);
/// How long a killed leader stays down.
const DOWN_FOR: Duration = Duration::from_secs(2);

/// When the faults come.
#[derive(Debug, Clone)]
pub struct NemesisSpec {
    /// Members at the start and at the bottom of each cycle.
    pub base: usize,
    /// Members at the top of each cycle.
    pub top: usize,
    /// Time between two reconfig steps.
    pub reconfig_every: Duration,
    /// Time between two leader kills.
    pub kill_every: Duration,
}

/// One fault, as it went.
#[derive(Debug, Clone)]
pub struct Event {
    /// When it began, seconds since the run began.
    pub at_secs: f64,
    /// What it was (`+4`, `-5`, `kill leader 2`), and how long it took or why it failed.
    pub what: String,
    /// Whether it completed.
    pub ok: bool,
}

/// The membership the faults work on, and where they publish the running members for the sampler.
pub struct Nemesis {
    /// The ensemble.
    pub ensemble: Ensemble,
    /// The voters.
    pub voters: Vec<usize>,
    views: Arc<Mutex<Vec<MemberView>>>,
    clock: Instant,
}

impl Nemesis {
    /// Works on `ensemble` whose voters are `voters`; the running members are published to `views`.
    pub fn new(
        ensemble: Ensemble,
        voters: Vec<usize>,
        views: Arc<Mutex<Vec<MemberView>>>,
        clock: Instant,
    ) -> Self {
        let nemesis = Nemesis {
            ensemble,
            voters,
            views,
            clock,
        };
        nemesis.publish();
        nemesis
    }

    /// Publishes the running members.
    fn publish(&self) {
        let views = self
            .ensemble
            .ids()
            .into_iter()
            .filter_map(|id| {
                Some(MemberView {
                    id,
                    pid: self.ensemble.pid(id)?,
                    addr: self.ensemble.client_addr(id),
                    data_dir: self.ensemble.member_dir(id).join("data"),
                })
            })
            .collect();
        *self
            .views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = views;
    }

    /// Runs the schedule until `stop` turns true (the fault under way completes first); returns what
    /// happened.
    pub async fn run(&mut self, spec: &NemesisSpec, mut stop: watch::Receiver<bool>) -> Vec<Event> {
        let start = Instant::now();
        let mut events = Vec::new();
        let (mut reconfigs, mut kills) = (1u32, 1u32);
        let mut growing = true;
        loop {
            let next_reconfig = spec.reconfig_every * reconfigs;
            let next_kill = spec.kill_every * kills;
            let due = next_reconfig.min(next_kill);
            let wait = due.saturating_sub(start.elapsed());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|stopped| *stopped) => return events,
            }
            let at_secs = self.clock.elapsed().as_secs_f64();
            let began = Instant::now();
            let (what, result) = if next_reconfig <= next_kill {
                reconfigs += 1;
                if growing && self.voters.len() >= spec.top {
                    growing = false;
                } else if !growing && self.voters.len() <= spec.base {
                    growing = true;
                }
                if growing {
                    let id = (1..=spec.top)
                        .find(|id| !self.voters.contains(id))
                        .expect("a free id below the top");
                    (format!("+{id}"), self.grow(id).await)
                } else {
                    let id = *self.voters.iter().max().expect("a voter");
                    (format!("-{id}"), self.shrink(id).await)
                }
            } else {
                kills += 1;
                self.kill_leader().await
            };
            let ok = result.is_ok();
            let what = match result {
                Ok(()) => format!("{what} ({:.1} s)", began.elapsed().as_secs_f64()),
                Err(e) => format!(
                    "{what} failed after {:.1} s: {e}",
                    began.elapsed().as_secs_f64()
                ),
            };
            tracing::info!(%what, "fault");
            events.push(Event { at_secs, what, ok });
            self.publish();
        }
    }

    /// Adds member `id` from an empty data directory.
    async fn grow(&mut self, id: usize) -> Result<(), EnsembleError> {
        let data = self.ensemble.member_dir(id).join("data");
        if data.exists() {
            std::fs::remove_dir_all(&data).map_err(EnsembleError::Scratch)?;
        }
        self.ensemble.join(id).await?;
        self.voters.push(id);
        Ok(())
    }

    /// Removes member `id`.
    async fn shrink(&mut self, id: usize) -> Result<(), EnsembleError> {
        self.ensemble.leave(id).await?;
        self.voters.retain(|&v| v != id);
        Ok(())
    }

    /// SIGKILLs the leader, restarts it after a while and waits until it is back in the quorum.
    async fn kill_leader(&mut self) -> (String, Result<(), EnsembleError>) {
        let leader = match self.ensemble.leader_among(&self.voters, LEADER_LIMIT).await {
            Ok(leader) => leader,
            Err(e) => return ("kill leader".to_owned(), Err(e)),
        };
        let what = format!("kill leader {leader}");
        let result = async {
            self.ensemble.kill(leader).await?;
            self.publish();
            tokio::time::sleep(DOWN_FOR).await;
            self.ensemble.restart(leader).await?;
            self.publish();
            self.ensemble.wait_in_quorum(leader, LEADER_LIMIT).await
        }
        .await;
        (what, result)
    }
}
