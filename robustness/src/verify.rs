//! What must hold once the faults have stopped: every member, asked directly, has every acknowledged
//! create and reads each register as every other member does. Those final reads join the history, so the
//! linearizability check also covers what the members hold at the end.

use std::collections::BTreeSet;
use std::path::Path;

use crate::checker::{Checker, CheckerError, Verdict};

use crate::ensemble::Ensemble;
use crate::history::{Input, Output};
use crate::workload::{CREATES, WorkloadError, WorkloadReport, connect, register_path};

/// Client ids of the final reads start here (member `id` reads as `FINAL_READER + id`).
pub const FINAL_READER: u32 = 1_000_000;

/// What the members hold that they should not, or lack.
#[derive(Debug, Default)]
pub struct Convergence {
    /// Acknowledged creates a member does not have, as `member N: path`.
    pub missing_creates: Vec<String>,
    /// Registers members disagree on, with what each read.
    pub diverging_registers: Vec<String>,
}

impl Convergence {
    /// Nothing missing, nothing diverging.
    pub fn holds(&self) -> bool {
        self.missing_creates.is_empty() && self.diverging_registers.is_empty()
    }
}

/// Why the checks could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A member could not be asked.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The linearizability checker could not be built or run.
    #[error(transparent)]
    Checker(#[from] CheckerError),
}

/// Everything that must hold once the faults are over, as the list of what does not: no client saw an
/// error other than a lost connection, no session expired or lost its ephemeral znode, and every one of `members` holds every acknowledged create and
/// the same registers (see [`converged`]), and the history, final reads included, is linearizable
/// (the checker is built in, and keeps the report of a violation under, `checker_dir`).
pub async fn problems_after(
    ensemble: &Ensemble,
    members: &[usize],
    report: &WorkloadReport,
    registers: usize,
    checker_dir: &Path,
) -> Result<Vec<String>, VerifyError> {
    let addresses: Vec<(u32, String)> = members
        .iter()
        .map(|&id| (id as u32, ensemble.client_addr(id).to_string()))
        .collect();
    Ok(problems_at(&addresses, report, registers, checker_dir)
        .await?
        .problems)
}

/// What [`problems_at`] found: the problems, and the checker's verdict on the history.
#[derive(Debug)]
pub struct Findings {
    /// What does not hold; empty when everything does.
    pub problems: Vec<String>,
    /// The checker's verdict on the history, final reads included.
    pub verdict: Verdict,
}

/// [`problems_after`] for members reached at `members`: `(id, host:port)` each, wherever they run.
pub async fn problems_at(
    members: &[(u32, String)],
    report: &WorkloadReport,
    registers: usize,
    checker_dir: &Path,
) -> Result<Findings, VerifyError> {
    let mut problems = Vec::new();
    if report.expirations > 0 {
        problems.push(format!("{} sessions expired", report.expirations));
    }
    if report.refused_writes > 0 {
        problems.push(format!(
            "{} writes refused with NotReadOnly",
            report.refused_writes
        ));
    }
    problems.extend(
        report
            .unexpected_errors
            .iter()
            .map(|error| format!("client error: {error}")),
    );
    problems.extend(
        report
            .lost_ephemerals
            .iter()
            .map(|lost| format!("ephemeral lost: {lost}")),
    );
    let convergence = converged(members, report, registers).await?;
    problems.extend(
        convergence
            .missing_creates
            .into_iter()
            .map(|missing| format!("acknowledged create missing on {missing}")),
    );
    problems.extend(
        convergence
            .diverging_registers
            .into_iter()
            .map(|diverging| format!("members disagree on {diverging}")),
    );
    let verdict = linearizability(report, checker_dir).await?;
    if !verdict.is_linearizable() {
        problems.push(format!("history {verdict}"));
    }
    tracing::info!(%verdict, "linearizability");
    Ok(Findings { problems, verdict })
}

/// [`problems_after`], for a test: panics with the list of problems if there is any.
pub async fn assert_no_problems(
    ensemble: &Ensemble,
    members: &[usize],
    report: &WorkloadReport,
    registers: usize,
    checker_dir: &Path,
) {
    let problems = problems_after(ensemble, members, report, registers, checker_dir)
        .await
        .expect("the checks could not be made");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The checker's verdict on the load's history as recorded so far.
pub async fn linearizability(
    report: &WorkloadReport,
    checker_dir: &Path,
) -> Result<Verdict, CheckerError> {
    Checker::build(checker_dir)
        .await?
        .check(&report.history())
        .await
}

/// Asks each of `members` (`(id, host:port)`) directly (after `sync`) for the creates and the `registers`
/// registers, adding the register reads to the load's history.
pub async fn converged(
    members: &[(u32, String)],
    report: &WorkloadReport,
    registers: usize,
) -> Result<Convergence, WorkloadError> {
    let recorder = &report.recorder;
    let mut convergence = Convergence::default();
    let mut reads: Vec<Vec<(i64, i32)>> = Vec::new();
    for (id, addr) in members {
        let session = connect(addr).await?;
        let zk = |what: String| move |source| WorkloadError::ZooKeeper { what, source };
        session
            .sync("/")
            .await
            .map_err(zk(format!("sync on member {id}")))?;
        let children: BTreeSet<String> = session
            .list_children(CREATES)
            .await
            .map_err(zk(format!("list {CREATES} on member {id}")))?
            .into_iter()
            .map(|child| format!("{CREATES}/{child}"))
            .collect();
        convergence.missing_creates.extend(
            report
                .created
                .iter()
                .filter(|path| !children.contains(*path))
                .map(|path| format!("member {id}: {path}")),
        );
        let mut member_reads = Vec::new();
        for index in 0..registers {
            let key = register_path(index);
            let pending = recorder.invoke(FINAL_READER + id, &key, Input::Read);
            let (data, stat) = session
                .get_data(&key)
                .await
                .map_err(zk(format!("read {key} on member {id}")))?;
            let value = String::from_utf8_lossy(&data).parse().unwrap_or(i64::MIN);
            pending.complete(Output::Read {
                value,
                version: stat.version,
            });
            member_reads.push((value, stat.version));
        }
        reads.push(member_reads);
    }
    for index in 0..registers {
        let seen: BTreeSet<(i64, i32)> = reads.iter().map(|r| r[index]).collect();
        if seen.len() > 1 {
            convergence.diverging_registers.push(format!(
                "{}: {:?}",
                register_path(index),
                members
                    .iter()
                    .zip(&reads)
                    .map(|((id, _), r)| (id, r[index]))
                    .collect::<Vec<_>>()
            ));
        }
    }
    Ok(convergence)
}
