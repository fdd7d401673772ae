//! The ensemble's story in the log, in ZooKeeper's words: `LOOKING` when this member has no
//! leader, `LEADING`/`FOLLOWING`/`OBSERVING` with how long the election took (as Apache's
//! `LEADING - LEADER ELECTION TOOK - 12 MS`), and each configuration that takes effect (its
//! voters and observers; joint while a reconfig is under way). It watches Raft's server metrics, which change on votes, roles,
//! leaders and memberships only, never per write.

use std::collections::BTreeSet;

use openraft::ServerState;
use openraft::rt::watch::WatchReceiver;
use tokio::time::Instant;
use tracing::info;

use super::membership::is_observer_spec;
use super::typ::Raft;

/// What this member is doing, as Apache names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Looking,
    Leading,
    Following(u64),
    Observing(u64),
}

/// Logs role and configuration changes until the Raft instance shuts down.
pub(crate) async fn log_ensemble_events(raft: Raft, my_id: u64) {
    let mut metrics = raft.server_metrics();
    let mut phase: Option<Phase> = None;
    let mut looking_since = Instant::now();
    let mut configuration = None;
    loop {
        let now = metrics.borrow_watched().clone();
        let membership = now.membership_config.membership();
        let listed = membership.get_node(&my_id).filter(|node| !node.departed);
        let observer = listed.is_some_and(|node| is_observer_spec(&node.spec));
        let next = match (now.state, now.current_leader) {
            (ServerState::Leader, _) => Phase::Leading,
            (ServerState::Follower, Some(leader)) => Phase::Following(leader),
            // A learner whose configuration does not list it yet (an observer or a voter joining, before
            // the configuration that adds it arrives) does not know its role: nothing to tell yet.
            (ServerState::Learner, Some(_)) if listed.is_none() => phase.unwrap_or(Phase::Looking),
            (ServerState::Learner, Some(leader)) if observer => Phase::Observing(leader),
            (ServerState::Learner, Some(leader)) => Phase::Following(leader),
            _ => Phase::Looking,
        };
        if phase != Some(next) {
            let took = looking_since.elapsed().as_millis();
            let epoch = now.vote.leader_id().term;
            match next {
                Phase::Looking => {
                    looking_since = Instant::now();
                    info!("LOOKING");
                }
                Phase::Leading => {
                    info!(epoch, "LEADING - LEADER ELECTION TOOK - {took} MS");
                }
                Phase::Following(leader) => {
                    info!(
                        leader,
                        epoch, "FOLLOWING - LEADER ELECTION TOOK - {took} MS"
                    );
                }
                Phase::Observing(leader) => {
                    info!(
                        leader,
                        epoch, "OBSERVING - LEADER ELECTION TOOK - {took} MS"
                    );
                }
            }
            phase = Some(next);
        }
        let log_id = *now.membership_config.log_id();
        let voters: Vec<u64> = membership.voter_ids().collect();
        if configuration != Some(log_id) && !voters.is_empty() {
            configuration = Some(log_id);
            let joint = membership.get_joint_config();
            if joint.len() > 1 {
                let listed = |ids: &BTreeSet<u64>| ids.iter().copied().collect::<Vec<_>>();
                info!(
                    from = ?listed(&joint[0]),
                    to = ?listed(&joint[1]),
                    "reconfiguring: joint configuration"
                );
            } else {
                let observers: Vec<u64> = membership
                    .nodes()
                    .filter(|(_, node)| !node.departed && is_observer_spec(&node.spec))
                    .map(|(id, _)| *id)
                    .collect();
                info!(?voters, ?observers, "configuration in effect");
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}
