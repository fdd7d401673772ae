//! The failover benchmark: how long writes stop when the leader of a three-member ensemble is killed.
//!
//! Each repetition runs on a fresh deployment of the load rows' ensemble (three members on loopback,
//! `tickTime=2000`). Sessions spread over the members write in a loop, one setData at a time each, and
//! resume their session on the next member when their connection drops ([`Reconnect::ResumeOnNext`]).
//! After a few seconds of this the leader (`srvr` says `Mode: leader`) is killed with SIGKILL; the writers'
//! acknowledgements give the longest write pause around the kill and the time from the kill to the first
//! acknowledged write sent after it ([`WriteGap`]).

use std::time::{Duration, Instant};

use crate::fourlw::find_leader;
use crate::launch::{Deployment, Flavour, LaunchError, Launcher};
use crate::report::{RepeatedRow, note_line};
use crate::session::SessionError;
use crate::wait::{TimedOut, wait_for};
use crate::writers::{FailureKind, Reconnect, WriteGap, Writers};
use crate::zoocfg::Topology;

/// Members of each deployment.
pub const MEMBERS: usize = 3;
/// Sessions writing, session `i` first connected to member `i mod 3`.
pub const WRITERS: usize = 8;
/// Parent of the writers' nodes.
const PARENT: &str = "/zkbench/failover";
/// How long the writers run before the leader is killed.
pub const LOAD_BEFORE_KILL: Duration = Duration::from_secs(3);
/// How far before the kill the window of the longest pause starts.
pub const LEAD_IN: Duration = Duration::from_secs(1);
/// How long the writers keep going once a write sent after the kill has been acknowledged.
pub const AFTER_RESUME: Duration = Duration::from_secs(1);
/// How long writes may take to resume after the kill.
const RESUME_TIMEOUT: Duration = Duration::from_secs(60);
/// What is awaited after the kill.
const RESUMED: &str = "a write sent after the kill acknowledged";
/// How long the ensemble may take to have a leader once every member serves sessions.
const LEADER_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a repetition measured nothing.
#[derive(Debug, thiserror::Error)]
pub enum FailoverError {
    /// The deployment could not be started, or the leader not killed.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The writers' nodes could not be made.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Something awaited did not happen in time.
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
}

/// What one repetition measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Repetition {
    /// The member killed (it led the ensemble).
    pub killed: usize,
    /// Write availability around the kill.
    pub gap: WriteGap,
    /// Writes that failed (error code or connection lost) from the kill on.
    pub failed_writes: usize,
    /// Connection or resumption attempts that failed from the kill on.
    pub failed_connects: usize,
    /// Sessions resumed on another connection from the kill on.
    pub resumed: usize,
    /// The first failure after the kill: how long after it, and what.
    pub first_failure: Option<String>,
}

/// The repetitions of one flavour, in order: each one's measurement or why it failed.
pub type Repetitions = Vec<Result<Repetition, String>>;

/// The members of every deployment: three on loopback from `port`, with the load rows' settings.
pub fn topology(port: u16) -> Topology {
    Topology::loopback(MEMBERS, port)
}

/// Runs `repetitions` repetitions on `flavour`, each on a fresh deployment of `topology`; a failed
/// repetition is recorded and the next one goes on.
pub async fn run_repetitions(
    launcher: &Launcher,
    flavour: Flavour,
    topology: &Topology,
    repetitions: usize,
) -> Repetitions {
    let mut done = Vec::with_capacity(repetitions);
    for repetition in 1..=repetitions {
        match run_repetition(launcher, flavour, topology).await {
            Ok(measured) => {
                tracing::info!(
                    %flavour, repetition, killed = measured.killed,
                    longest_pause_ms = measured.gap.longest_pause.as_millis() as u64,
                    first_write_ms = measured.gap.first_ack.as_millis() as u64,
                    failed_writes = measured.failed_writes, resumed = measured.resumed,
                    "repetition done"
                );
                done.push(Ok(measured));
            }
            Err(e) => {
                tracing::warn!(%flavour, repetition, "repetition failed: {e}");
                done.push(Err(e.to_string()));
            }
        }
    }
    done
}

/// One repetition on a fresh deployment of `topology`; the deployment is stopped whatever happens.
pub async fn run_repetition(
    launcher: &Launcher,
    flavour: Flavour,
    topology: &Topology,
) -> Result<Repetition, FailoverError> {
    let mut deployment = launcher.start(flavour, topology).await?;
    let outcome = kill_leader_under_writes(&mut deployment).await;
    deployment.stop().await;
    outcome
}

/// Finds the leader, starts the writers, kills the leader after [`LOAD_BEFORE_KILL`], and lets the
/// writers go on until [`AFTER_RESUME`] after writes have resumed.
async fn kill_leader_under_writes(
    deployment: &mut Deployment,
) -> Result<Repetition, FailoverError> {
    let addrs = deployment.client_addrs();
    let leader = wait_for("a leader", LEADER_TIMEOUT, async || {
        find_leader(&addrs).await
    })
    .await?
        + 1;
    let writers = Writers::start(&addrs, PARENT, WRITERS, Reconnect::ResumeOnNext).await?;
    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    let killed_at = Instant::now();
    let killed = deployment.kill(leader).await;
    let resumed = wait_for(RESUMED, RESUME_TIMEOUT, async || {
        writers.sent_and_acked_since(killed_at).then_some(())
    })
    .await;
    if resumed.is_ok() {
        tokio::time::sleep(AFTER_RESUME).await;
    }
    let log = writers.stop().await;
    killed?;
    resumed?;
    let gap = WriteGap::measure(&log.acks, killed_at, LEAD_IN).ok_or_else(|| TimedOut {
        what: RESUMED.to_owned(),
        waited: RESUME_TIMEOUT,
    })?;
    let mut failures: Vec<_> = log.failures.iter().filter(|f| f.at >= killed_at).collect();
    failures.sort_by_key(|f| f.at);
    let count = |kind| failures.iter().filter(|f| f.kind == kind).count();
    Ok(Repetition {
        killed: leader,
        gap,
        failed_writes: count(FailureKind::Write),
        failed_connects: count(FailureKind::Connect),
        resumed: log.resumed.iter().filter(|&&t| t >= killed_at).count(),
        first_failure: failures.first().map(|f| {
            format!(
                "{} ms after the kill: {}",
                (f.at - killed_at).as_millis(),
                f.why
            )
        }),
    })
}

/// The table lines of both flavours (either may not have run): the longest pause and the first write.
pub fn rows(apache: Option<&Repetitions>, ours: Option<&Repetitions>) -> Vec<RepeatedRow> {
    let line = |label: &str, value: fn(&Repetition) -> Duration| {
        let values = |reps: &Repetitions| reps.iter().map(|r| r.as_ref().ok().map(value)).collect();
        RepeatedRow {
            label: label.to_owned(),
            apache: apache.map(values),
            ours: ours.map(values),
        }
    };
    vec![
        line("longest write pause, ms", |r| r.gap.longest_pause),
        line("kill → first write sent after it acknowledged, ms", |r| {
            r.gap.first_ack
        }),
    ]
}

/// One note per repetition of both flavours: which member was killed, what failed and how many sessions
/// were resumed; or why the repetition failed.
pub fn notes(apache: Option<&Repetitions>, ours: Option<&Repetitions>) -> String {
    [(Flavour::Apache, apache), (Flavour::Ours, ours)]
        .into_iter()
        .filter_map(|(flavour, reps)| reps.map(|r| (flavour, r)))
        .flat_map(|(flavour, reps)| {
            reps.iter().enumerate().map(move |(index, rep)| {
                let what = format!("repetition {}", index + 1);
                let why = match rep {
                    Ok(r) => format!(
                        "leader {} killed; {} write(s) and {} connection attempt(s) failed after it, {} \
                         session(s) resumed on another member{}",
                        r.killed,
                        r.failed_writes,
                        r.failed_connects,
                        r.resumed,
                        r.first_failure
                            .as_deref()
                            .map(|f| format!("; first failure {f}"))
                            .unwrap_or_default()
                    ),
                    Err(e) => format!("failed: {e}"),
                };
                note_line(flavour, &what, &why)
            })
        })
        .collect()
}
