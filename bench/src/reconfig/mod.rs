//! The reconfiguration benchmark: how long membership changes take on each flavour, on loopback, each
//! round on a fresh deployment grown from one member by reconfig as an operator grows it.
//!
//! - [`config`]: the text of `/zookeeper/config`;
//! - [`admin`]: reading it, sending a reconfig, a member's mode, waiting;
//! - [`ensemble`]: starting joiners, adding and removing members;
//! - [`round`]: one round of every measurement, with [`crate::writers`] writing through the leader's
//!   removal; [`summary`]: rounds of both flavours as table rows.

pub mod admin;
pub mod config;
pub mod ensemble;
pub mod error;
pub mod round;
pub mod summary;

use crate::launch::{Flavour, Launcher};
use crate::zoocfg::Topology;

pub use error::ReconfigError;
pub use round::{RoundTimings, run_round};
pub use summary::Rounds;

/// The members each round may grow to, on loopback from `port` (quorum and election ports 100 and 200
/// above), with the settings a reconfigurable ensemble needs.
pub fn topology(members: usize, port: u16) -> Topology {
    Topology::loopback(members, port).with_settings(ensemble::RECONFIG_SETTINGS)
}

/// Runs `repetitions` rounds on `flavour`, each on a fresh deployment of `topology`; a failed round is
/// recorded and the next one goes on.
pub async fn run_rounds(
    launcher: &Launcher,
    flavour: Flavour,
    topology: &Topology,
    repetitions: usize,
) -> Rounds {
    let mut rounds = Rounds::default();
    for repetition in 1..=repetitions {
        match run_round(launcher, flavour, topology).await {
            Ok(timings) => {
                tracing::info!(%flavour, repetition, ?timings, "round done");
                rounds.record(repetition, timings);
            }
            Err(e) => {
                tracing::warn!(%flavour, repetition, "round failed: {e}");
                rounds.fail(repetition, e);
            }
        }
    }
    rounds
}
