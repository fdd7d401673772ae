//! One soak run: a three-member ensemble on its own network, the [`load`](super::load) and the
//! [`nemesis`](super::nemesis) for the given time, a sample of every member every few seconds, the
//! history checked segment by segment, then the load stopped and the drain watched until what the
//! load left behind has gone (or a limit passed).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use zk_bench::stats::percentile;
use zookeeper_client::Client;

use super::load::{self, Counters, Latencies, Load, LoadSpec};
use super::nemesis::{Event, Nemesis, NemesisSpec};
use super::sample::{MemberView, Phase, Sample, sample_member};
use super::segment::{self, SegmentVerdict, Segments};
use super::summary::Totals;
use crate::checker::{Checker, CheckerError};
use crate::ensemble::{Ensemble, EnsembleError};
use crate::workload::{WorkloadError, connect};

/// What a run is.
#[derive(Debug, Clone)]
pub struct SoakSpec {
    /// The `zk-server` binary.
    pub server_bin: PathBuf,
    /// `zoo.cfg` settings added to every member's (`key=value` lines).
    pub settings: String,
    /// How long the load and the faults run.
    pub duration: Duration,
    /// Time between two samples.
    pub sample_every: Duration,
    /// Time between two segments of the history.
    pub segment_every: Duration,
    /// Registers per segment.
    pub registers: usize,
    /// How long the drain may take at most.
    pub drain_limit: Duration,
    /// The load.
    pub load: LoadSpec,
    /// The faults.
    pub nemesis: NemesisSpec,
    /// Where the checker is built and keeps the histories it rejects.
    pub checker_dir: PathBuf,
}

/// What a run saw.
#[derive(Debug)]
pub struct SoakOutcome {
    /// Every sample.
    pub samples: Vec<Sample>,
    /// Every segment's verdict.
    pub segments: Vec<SegmentVerdict>,
    /// The faults.
    pub events: Vec<Event>,
    /// The load's counts.
    pub counters: Arc<Counters>,
    /// How long the load ran, seconds.
    pub load_secs: f64,
    /// Whether the drain reached the baseline before its limit.
    pub drained: bool,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// The ensemble could not be started or changed.
    #[error(transparent)]
    Ensemble(#[from] EnsembleError),
    /// The load could not be set up.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The checker could not be built or run.
    #[error(transparent)]
    Checker(#[from] CheckerError),
}

/// Samples shared between the sampler and the run.
type SampleLog = Arc<Mutex<Vec<Sample>>>;

/// Samples every member of `views` every `every`, in the phase `phase` holds, until `stop`.
async fn sampler(
    views: Arc<Mutex<Vec<MemberView>>>,
    latencies: Arc<Latencies>,
    phase: watch::Receiver<Phase>,
    mut stop: watch::Receiver<bool>,
    every: Duration,
    clock: Instant,
    log: SampleLog,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let at_secs = clock.elapsed().as_secs_f64();
        let current = views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut members = Vec::new();
        for view in &current {
            members.extend(sample_member(view).await);
        }
        let taken = latencies.take();
        let sample = Sample {
            at_secs,
            phase: *phase.borrow(),
            members,
            p99_ms: percentile(&taken, 0.99).map(|p| p.as_secs_f64() * 1000.0),
            ops: taken.len(),
        };
        tracing::info!(
            at = format!("{at_secs:.0} s"),
            phase = ?sample.phase,
            totals = ?Totals::of(&sample.members),
            p99_ms = ?sample.p99_ms,
            "sample"
        );
        log.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(sample);
    }
}

/// Opens a segment every `every` until `stop`, closing (checking) the one it replaces; the last
/// segment is left open for the caller.
async fn rotate_segments(
    segments: Arc<Segments>,
    admin: Client,
    checker: Checker,
    registers: usize,
    every: Duration,
    clock: Instant,
    mut stop: watch::Receiver<bool>,
) -> Result<Vec<SegmentVerdict>, SoakError> {
    let mut verdicts = Vec::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stopped| *stopped) => return Ok(verdicts),
        }
        let now = clock.elapsed().as_secs_f64();
        let index = segments.current().index + 1;
        let next = segment::open(&admin, index, registers, now).await?;
        let old = segments.replace(next);
        verdicts.push(segment::close(old, now, &checker, &admin).await?);
    }
}

/// Whether `now` is back to `baseline`: sessions, ephemerals and watches no higher.
fn back_to(baseline: &Totals, now: &Totals) -> bool {
    now.sessions <= baseline.sessions
        && now.ephemerals <= baseline.ephemerals
        && now.watches <= baseline.watches
}

/// The most recent sample's totals.
fn last_totals(log: &SampleLog) -> Option<Totals> {
    log.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .last()
        .map(|s| Totals::of(&s.members))
}

/// Runs the soak.
pub async fn run(spec: &SoakSpec) -> Result<SoakOutcome, SoakError> {
    let clock = Instant::now();
    let checker = Checker::build(&spec.checker_dir).await?;
    let mut ensemble =
        Ensemble::start_growable(&spec.server_bin, spec.nemesis.top, &spec.settings).await?;
    for id in 2..=spec.nemesis.base {
        ensemble.join(id).await?;
    }
    let connect_string = ensemble.connect_string();
    let members: Vec<_> = ensemble
        .ids()
        .into_iter()
        .map(|id| ensemble.client_addr(id))
        .collect();
    let views = Arc::new(Mutex::new(Vec::new()));
    let mut nemesis = Nemesis::new(
        ensemble,
        (1..=spec.nemesis.base).collect(),
        views.clone(),
        clock,
    );

    let admin = connect(&connect_string).await?;
    load::prepare(&admin, &spec.load).await?;
    let first = segment::open(&admin, 0, spec.registers, clock.elapsed().as_secs_f64()).await?;
    let segments = Arc::new(Segments::new(first));

    let (phase_tx, phase_rx) = watch::channel(Phase::Baseline);
    let (stop_tx, stop_rx) = watch::channel(false);
    let log: SampleLog = Arc::default();
    let latencies = Arc::new(Latencies::default());
    let sampling = tokio::spawn(sampler(
        views,
        latencies.clone(),
        phase_rx,
        stop_rx.clone(),
        spec.sample_every,
        clock,
        log.clone(),
    ));
    // Two baseline samples.
    tokio::time::sleep(spec.sample_every * 2 + Duration::from_secs(1)).await;
    let baseline = last_totals(&log).unwrap_or_default();

    tracing::info!(duration = ?spec.duration, "load and faults start");
    phase_tx.send_replace(Phase::Load);
    let load_start = Instant::now();
    let load = Load::start(
        &connect_string,
        &members,
        &spec.load,
        segments.clone(),
        latencies,
    );
    let (faults_stop, faults_stop_rx) = watch::channel(false);
    let rotation = tokio::spawn(rotate_segments(
        segments.clone(),
        connect(&connect_string).await?,
        checker.clone(),
        spec.registers,
        spec.segment_every,
        clock,
        faults_stop_rx.clone(),
    ));
    let nemesis_spec = spec.nemesis.clone();
    let faults = tokio::spawn(async move {
        let events = nemesis.run(&nemesis_spec, faults_stop_rx).await;
        (nemesis, events)
    });
    tokio::time::sleep(spec.duration).await;
    faults_stop.send_replace(true);
    let (nemesis, events) = faults.await.expect("the nemesis panicked");
    let counters = load.stop().await;
    let load_secs = load_start.elapsed().as_secs_f64();
    phase_tx.send_replace(Phase::Drain);
    tracing::info!(load_secs, "load stopped; draining");

    let mut verdicts = rotation.await.expect("the segment rotation panicked")?;
    verdicts.push(
        segment::close(
            segments.current(),
            clock.elapsed().as_secs_f64(),
            &checker,
            &admin,
        )
        .await?,
    );
    drop(admin);

    let drain_start = Instant::now();
    let mut drained = false;
    while drain_start.elapsed() < spec.drain_limit {
        tokio::time::sleep(spec.sample_every).await;
        let drain_samples = log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .filter(|s| s.phase == Phase::Drain)
            .count();
        if drain_samples >= 2 && last_totals(&log).is_some_and(|now| back_to(&baseline, &now)) {
            drained = true;
            break;
        }
    }
    stop_tx.send_replace(true);
    sampling.await.expect("the sampler panicked");
    nemesis.ensemble.stop().await;
    let samples = std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(SoakOutcome {
        samples,
        segments: verdicts,
        events,
        counters,
        load_secs,
        drained,
    })
}
