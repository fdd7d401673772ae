//! One round of the reconfiguration benchmark on a fresh deployment: grow from one member to all of the
//! topology's, one add at a time; remove a follower; then remove the leader while sessions on the remaining
//! members write.

use std::time::{Duration, Instant};

use crate::launch::{Flavour, Launcher};
use crate::reconfig::ensemble::{AddTiming, GrowingEnsemble};
use crate::reconfig::error::ReconfigError;
use crate::writers::{Reconnect, WriteGap, Writers};
use crate::zoocfg::Topology;

/// Sessions writing while the leader is removed.
const WRITERS: usize = 3;
/// Parent of the writers' nodes.
const WRITERS_PARENT: &str = "/zkbench/reconfig";
/// How long the writers run before the leader is removed.
const STEADY: Duration = Duration::from_millis(500);
/// How long writes may take to resume after the leader is removed.
const RESUME_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the writers keep going once writes have resumed.
const AFTER_RESUME: Duration = Duration::from_millis(300);

/// What one round measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTimings {
    /// One per add, in order: member 2 joining member 1, member 3 joining both, and so on.
    pub adds: Vec<AddTiming>,
    /// Reply time of removing a follower (the highest id); `None`: the reply was lost.
    pub remove_follower: Option<Duration>,
    /// Reply time of removing the leader; `None`: the reply was lost.
    pub remove_leader: Option<Duration>,
    /// Write availability after the leader removal was sent.
    pub gap: WriteGap,
    /// Writes (or reconnections) that failed after the leader removal was sent, and the first reason.
    pub failed_writes: (usize, Option<String>),
}

/// Runs one round on a fresh deployment of `topology` (at least three members, carrying
/// [`crate::reconfig::ensemble::RECONFIG_SETTINGS`]); the deployment is stopped whatever happens.
pub async fn run_round(
    launcher: &Launcher,
    flavour: Flavour,
    topology: &Topology,
) -> Result<RoundTimings, ReconfigError> {
    let mut ensemble = GrowingEnsemble::seed(launcher, flavour, topology).await?;
    let outcome = measure(&mut ensemble, topology.members().len()).await;
    ensemble.stop().await;
    outcome
}

/// The round's steps on an ensemble of member 1 alone, growing to `size` members.
async fn measure(
    ensemble: &mut GrowingEnsemble,
    size: usize,
) -> Result<RoundTimings, ReconfigError> {
    let mut adds = Vec::with_capacity(size - 1);
    for id in 2..=size {
        ensemble.start_joiner(id, 1).await?;
        adds.push(ensemble.add(id, 1).await?);
    }
    let everyone: Vec<usize> = (1..=size).collect();
    let leader = ensemble.leader(&everyone).await?;
    let follower = *everyone
        .iter()
        .rev()
        .find(|&&id| id != leader)
        .unwrap_or(&size);
    let remove_follower = ensemble.remove(follower, leader).await?.reply;
    ensemble.kill(follower).await?;

    let survivors: Vec<usize> = everyone
        .iter()
        .copied()
        .filter(|&id| id != leader && id != follower)
        .collect();
    let (remove_leader, gap, failed_writes) = remove_leader(ensemble, leader, &survivors).await?;
    let new_leader = ensemble.leader(&survivors).await?;
    tracing::info!(flavour = %ensemble.flavour(), removed = leader, new_leader, ?gap, "leader replaced");
    Ok(RoundTimings {
        adds,
        remove_follower,
        remove_leader,
        gap,
        failed_writes,
    })
}

/// Removes `leader` by a reconfig sent to the first of `survivors` while sessions on the survivors write;
/// returns the reply time, the write gap and the writes that failed after the reconfig was sent.
async fn remove_leader(
    ensemble: &mut GrowingEnsemble,
    leader: usize,
    survivors: &[usize],
) -> Result<(Option<Duration>, WriteGap, (usize, Option<String>)), ReconfigError> {
    let addrs: Vec<_> = survivors.iter().map(|&id| ensemble.addr(id)).collect();
    let writers = Writers::start(&addrs, WRITERS_PARENT, WRITERS, Reconnect::NewSession).await?;
    tokio::time::sleep(STEADY).await;
    let removed = ensemble.remove(leader, survivors[0]).await;
    // Let writes resume (or not) before stopping the writers, so that the gap is measured either way.
    let deadline = Instant::now() + RESUME_TIMEOUT;
    let log = loop {
        tokio::time::sleep(AFTER_RESUME).await;
        let resumed = match &removed {
            Ok(answered) => writers.acked_since(answered.settled),
            Err(_) => true,
        };
        if resumed || Instant::now() >= deadline {
            break writers.stop().await;
        }
    };
    let answered = removed?;
    let gap = WriteGap::measure(&log.acks, answered.sent, Duration::ZERO).ok_or_else(|| {
        ReconfigError::Timeout {
            what: format!("a write acknowledged after removing leader {leader}"),
            waited: RESUME_TIMEOUT,
        }
    })?;
    let mut failures: Vec<_> = log
        .failures
        .into_iter()
        .filter(|f| f.at >= answered.sent)
        .collect();
    failures.sort_by_key(|f| f.at);
    let first = failures.first().map(|f| {
        format!(
            "{} ms after the reconfig was sent: {}",
            (f.at - answered.sent).as_millis(),
            f.why
        )
    });
    Ok((answered.reply, gap, (failures.len(), first)))
}
