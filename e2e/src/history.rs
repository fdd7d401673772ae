//! A client load whose history is checked, for scenarios that inject faults: the robustness suite's load
//! (`zk_robustness::workload`: several sessions reading with `sync` + `getData`, writing and
//! compare-and-setting a few registers, creating znodes of their own, each holding an ephemeral znode; an
//! operation whose answer was lost, `ConnectionLoss` among them, recorded as of unknown outcome) run through
//! an ensemble's client Service, under a chroot of its own so that several loads can run one after another
//! on one ensemble. At its end the robustness suite's checks run against every member pod (`sync`, then
//! every acknowledged create and the registers read through the pod's own address, those reads joining the
//! history) and the history goes to the linearizability checker (`zk_robustness::checker`).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use zk_robustness::history::{History, Output};
use zk_robustness::verify::{self, Findings};
use zk_robustness::workload::{Workload, WorkloadSpec};

use crate::ensemble::Ensemble;
use crate::wait;
use crate::zookeeper::{connect, create_open};
use crate::{Error, Result};

/// Sessions of the load.
const CLIENTS: u32 = 4;
/// Registers the sessions share: few, so that they contend.
const REGISTERS: usize = 3;

/// A running load recording a history; [`HistoryLoad::check`] ends and checks it.
pub struct HistoryLoad {
    workload: Workload,
    chroot: String,
}

/// What the load saw and the checker concluded.
#[derive(Debug)]
pub struct HistorySummary {
    /// Operations in the history, the final reads of every member included.
    pub operations: usize,
    /// Of those, operations of unknown outcome.
    pub unknown: usize,
    /// Register writes and compare-and-sets the ensemble acknowledged.
    pub acknowledged_writes: usize,
    /// Creates the ensemble acknowledged, each found on every member at the end.
    pub acknowledged_creates: usize,
    /// Writes refused with NotReadOnly (by a member whose volume is full); only a check that expects them
    /// accepts any.
    pub refused_writes: u32,
    /// The checker's verdict.
    pub verdict: String,
}

impl fmt::Display for HistorySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} operations ({} of unknown outcome), {} acknowledged register writes, {} acknowledged creates \
             on every member, {} writes refused with NotReadOnly; {}",
            self.operations,
            self.unknown,
            self.acknowledged_writes,
            self.acknowledged_creates,
            self.refused_writes,
            self.verdict
        )
    }
}

impl HistoryLoad {
    /// Creates the znode `chroot` through `address` (a client Service) and starts the load under it, seeded
    /// with `seed`.
    pub async fn start(address: &str, chroot: &str, seed: u64) -> Result<Self> {
        let setup = connect(address).await?;
        create_open(&setup, address, chroot, b"").await?;
        drop(setup);
        let spec = WorkloadSpec {
            clients: CLIENTS,
            registers: REGISTERS,
            seed,
        };
        let workload = Workload::start(&format!("{address}{chroot}"), &spec)
            .await
            .map_err(|e| Error::Unexpected(format!("starting the history load: {e}")))?;
        Ok(Self {
            workload,
            chroot: chroot.to_string(),
        })
    }

    /// Waits until `writes` more register writes than now are acknowledged; fails after `timeout`.
    pub async fn progress(&self, writes: usize, timeout: Duration) -> Result<()> {
        wait::count_grows(
            "acknowledged writes of the history load",
            writes,
            timeout,
            || acknowledged_writes(&self.workload.history()),
        )
        .await
    }

    /// Stops the load and checks it against `ensemble`'s member pods: no client error other than a lost
    /// connection, no session expired or lost its ephemeral, every member holds every acknowledged create
    /// and reads the same registers, and the history is linearizable (the checker is built in, and keeps
    /// the history of a failed check under, `checker_dir`). Fails with the problems found.
    pub async fn check(self, ensemble: &Ensemble, checker_dir: &Path) -> Result<HistorySummary> {
        self.check_expecting(ensemble, checker_dir, false).await
    }

    /// [`HistoryLoad::check`] of a load that met a member refusing writes (its volume full): writes refused with
    /// NotReadOnly are counted in the summary rather than reported as problems. Such a write was never applied
    /// (and is recorded as of unknown outcome, which allows that).
    pub async fn check_with_refused_writes(
        self,
        ensemble: &Ensemble,
        checker_dir: &Path,
    ) -> Result<HistorySummary> {
        self.check_expecting(ensemble, checker_dir, true).await
    }

    /// Stops the load and checks it, writes refused with NotReadOnly being a problem unless `refusals`.
    async fn check_expecting(
        self,
        ensemble: &Ensemble,
        checker_dir: &Path,
        refusals: bool,
    ) -> Result<HistorySummary> {
        let mut report = self.workload.stop().await;
        let refused_writes = report.refused_writes;
        if refusals {
            report.refused_writes = 0;
        }
        let mut members = Vec::new();
        for (pod, state) in ensemble.member_pods().await? {
            let id = pod
                .rsplit('-')
                .next()
                .and_then(|id| id.parse::<u32>().ok())
                .ok_or_else(|| Error::Unexpected(format!("member pod {pod} has no id")))?;
            let ip = state.ip.unwrap_or_default();
            members.push((id, format!("{ip}:2181{}", self.chroot)));
        }
        let Findings { problems, verdict } =
            verify::problems_at(&members, &report, REGISTERS, checker_dir)
                .await
                .map_err(|e| Error::Unexpected(format!("checking the history: {e}")))?;
        let history = report.history();
        let summary = HistorySummary {
            operations: history.operations.len(),
            unknown: history.outcome_counts().1,
            acknowledged_writes: acknowledged_writes(&history),
            acknowledged_creates: report.created.len(),
            refused_writes,
            verdict: verdict.to_string(),
        };
        if problems.is_empty() {
            Ok(summary)
        } else {
            Err(Error::Unexpected(format!(
                "the history under {} does not hold ({summary}): {problems:#?}\n{}",
                self.chroot,
                ensemble.report().await
            )))
        }
    }
}

/// Register writes and compare-and-sets of `history` the ensemble acknowledged.
fn acknowledged_writes(history: &History) -> usize {
    history
        .operations
        .iter()
        .filter(|op| matches!(op.output, Output::Written { .. }))
        .count()
}
