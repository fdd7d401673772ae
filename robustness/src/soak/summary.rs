//! The soak's verdicts from its samples: the ensemble-wide figures of each sample (the largest member's
//! resident size, descriptors and disk; the sessions, ephemerals and znodes of the tree; the watches of
//! all members), their means over the first window after the warm-up and over the last window of the
//! load, the growth between the two, and whether the goals are met.

use std::fmt::Write as _;

use super::sample::{MemberSample, Phase, Sample};

/// Growth of the resident size or of the descriptors allowed after the warm-up, percent.
pub const GROWTH_LIMIT_PERCENT: f64 = 10.0;
/// A member's log may take this much disk: the active segment and the one before it (64 MiB each).
pub const LOG_BOUND_BYTES: u64 = 2 * 64 * 1024 * 1024;

/// One sample's ensemble-wide figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// The largest member's resident size, bytes.
    pub rss_bytes: f64,
    /// The largest member's open descriptors.
    pub fds: f64,
    /// Sessions (the most any member reports).
    pub sessions: f64,
    /// Watches, summed over the members.
    pub watches: f64,
    /// Ephemeral znodes (the most any member reports).
    pub ephemerals: f64,
    /// Znodes (the most any member reports).
    pub znodes: f64,
    /// The largest member's log and snapshot disk, bytes.
    pub disk_bytes: f64,
}

impl Totals {
    /// The figures of one sample's members.
    pub fn of(members: &[MemberSample]) -> Self {
        let max = |f: fn(&MemberSample) -> u64| members.iter().map(f).max().unwrap_or(0) as f64;
        Totals {
            rss_bytes: max(|m| m.rss_bytes),
            fds: max(|m| m.fds),
            sessions: max(|m| m.sessions),
            watches: members.iter().map(|m| m.watches).sum::<u64>() as f64,
            ephemerals: max(|m| m.ephemerals),
            znodes: max(|m| m.znodes),
            disk_bytes: max(|m| m.log_bytes + m.snapshot_bytes),
        }
    }

    /// The mean of `totals`.
    fn mean(totals: &[Totals]) -> Option<Totals> {
        if totals.is_empty() {
            return None;
        }
        let n = totals.len() as f64;
        let sum = |f: fn(&Totals) -> f64| totals.iter().map(f).sum::<f64>() / n;
        Some(Totals {
            rss_bytes: sum(|t| t.rss_bytes),
            fds: sum(|t| t.fds),
            sessions: sum(|t| t.sessions),
            watches: sum(|t| t.watches),
            ephemerals: sum(|t| t.ephemerals),
            znodes: sum(|t| t.znodes),
            disk_bytes: sum(|t| t.disk_bytes),
        })
    }
}

/// Growth from `first` to `last`, percent (`None` from zero).
pub fn growth_percent(first: f64, last: f64) -> Option<f64> {
    (first > 0.0).then(|| (last - first) / first * 100.0)
}

/// A goal and whether it was met, with the figures that decide it.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    /// What is asked.
    pub goal: String,
    /// Whether it was met.
    pub met: bool,
    /// The measured figures.
    pub measured: String,
}

/// The windows compared and the goals.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Mean figures over the first window after the warm-up, and its span in seconds.
    pub first: Totals,
    /// Its span, seconds since the run began.
    pub first_span: (f64, f64),
    /// Mean figures over the last window of the load.
    pub last: Totals,
    /// Its span.
    pub last_span: (f64, f64),
    /// The figures before the load.
    pub baseline: Totals,
    /// The figures at the end of the drain.
    pub drained: Totals,
    /// The goals about resources.
    pub goals: Vec<Goal>,
}

/// Why no summary could be made.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// A phase has no sample.
    #[error("no {0} sample")]
    Missing(&'static str),
}

/// Mean totals of the load samples taken at the seconds `within` accepts.
fn window(samples: &[Sample], within: impl Fn(f64) -> bool) -> Option<Totals> {
    let totals: Vec<Totals> = samples
        .iter()
        .filter(|s| s.phase == Phase::Load && within(s.at_secs))
        .map(|s| Totals::of(&s.members))
        .collect();
    Totals::mean(&totals)
}

/// Summarizes `samples`: the load's first window of `window_secs` after `warmup_secs` from its start,
/// its last window, and the goals (`retained_snapshots`: how many snapshots a member keeps).
pub fn summarize(
    samples: &[Sample],
    warmup_secs: f64,
    window_secs: f64,
    retained_snapshots: u64,
) -> Result<Summary, SummaryError> {
    let load: Vec<&Sample> = samples.iter().filter(|s| s.phase == Phase::Load).collect();
    let (Some(load_start), Some(load_end)) = (load.first(), load.last()) else {
        return Err(SummaryError::Missing("load"));
    };
    let first_span = (
        load_start.at_secs + warmup_secs,
        load_start.at_secs + warmup_secs + window_secs,
    );
    let last_span = (
        (load_end.at_secs - window_secs).max(first_span.1),
        load_end.at_secs,
    );
    // The first window is [start, end), the last (start, end]: as many samples in each.
    let first = window(samples, |at| at >= first_span.0 && at < first_span.1)
        .ok_or(SummaryError::Missing("first window"))?;
    let last = window(samples, |at| at > last_span.0 && at <= last_span.1)
        .ok_or(SummaryError::Missing("last window"))?;
    let baseline = samples
        .iter()
        .rfind(|s| s.phase == Phase::Baseline)
        .map(|s| Totals::of(&s.members))
        .ok_or(SummaryError::Missing("baseline"))?;
    let drained = samples
        .iter()
        .rfind(|s| s.phase == Phase::Drain)
        .map(|s| Totals::of(&s.members))
        .ok_or(SummaryError::Missing("drain"))?;
    let mut goals = Vec::new();
    for (name, f) in [
        ("RSS", (|t: &Totals| t.rss_bytes) as fn(&Totals) -> f64),
        ("open fds", |t: &Totals| t.fds),
    ] {
        let growth = growth_percent(f(&first), f(&last));
        goals.push(Goal {
            goal: format!("{name} growth after warm-up < {GROWTH_LIMIT_PERCENT} %"),
            met: growth.is_some_and(|g| g < GROWTH_LIMIT_PERCENT),
            measured: growth.map_or("n/a".to_owned(), |g| format!("{g:+.1} %")),
        });
    }
    goals.push(disk_goal(&load, retained_snapshots));
    for (name, f) in [
        ("sessions", (|t: &Totals| t.sessions) as fn(&Totals) -> f64),
        ("ephemerals", |t: &Totals| t.ephemerals),
        ("watches", |t: &Totals| t.watches),
    ] {
        goals.push(Goal {
            goal: format!("{name} back to baseline after the load"),
            met: f(&drained) <= f(&baseline),
            measured: format!(
                "baseline {}, during the load up to {}, after {}",
                f(&baseline),
                load.iter()
                    .map(|s| f(&Totals::of(&s.members)))
                    .fold(0.0, f64::max),
                f(&drained)
            ),
        });
    }
    Ok(Summary {
        first,
        first_span,
        last,
        last_span,
        baseline,
        drained,
        goals,
    })
}

/// Disk bounded: at every sample, each member's log within [`LOG_BOUND_BYTES`] and its snapshots
/// within one more than the retained count of its largest snapshot (one may be being written).
fn disk_goal(load: &[&Sample], retained_snapshots: u64) -> Goal {
    let members = load.iter().flat_map(|s| &s.members);
    let max_log = members.clone().map(|m| m.log_bytes).max().unwrap_or(0);
    let over: Vec<String> = load
        .iter()
        .flat_map(|s| s.members.iter().map(move |m| (s.at_secs, m)))
        .filter(|(_, m)| {
            m.log_bytes > LOG_BOUND_BYTES
                || m.snapshot_bytes > (retained_snapshots + 1) * m.largest_snapshot
        })
        .map(|(at, m)| format!("member {} at {at:.0} s", m.member))
        .collect();
    let max_snapshots = members.map(|m| m.snapshot_bytes).max().unwrap_or(0);
    Goal {
        goal: format!(
            "disk bounded: log <= {} MiB, snapshots <= {} x the largest",
            LOG_BOUND_BYTES >> 20,
            retained_snapshots + 1
        ),
        met: over.is_empty(),
        measured: format!(
            "log up to {:.1} MiB, snapshots up to {:.1} MiB{}",
            max_log as f64 / 1048576.0,
            max_snapshots as f64 / 1048576.0,
            if over.is_empty() {
                String::new()
            } else {
                format!("; over: {}", over.join(", "))
            }
        ),
    }
}

impl Summary {
    /// Whether every goal was met.
    pub fn met(&self) -> bool {
        self.goals.iter().all(|g| g.met)
    }

    /// The windows as a markdown table, then the goals as another.
    pub fn markdown(&self) -> String {
        let mib = |b: f64| format!("{:.1} MiB", b / 1048576.0);
        let count = |c: f64| format!("{c:.0}");
        type Row<'a> = (&'a str, fn(&Totals) -> f64, &'a dyn Fn(f64) -> String);
        let rows: [Row; 7] = [
            ("RSS (largest member)", |t| t.rss_bytes, &mib),
            ("open fds (largest member)", |t| t.fds, &count),
            ("sessions", |t| t.sessions, &count),
            ("watches (all members)", |t| t.watches, &count),
            ("ephemerals", |t| t.ephemerals, &count),
            ("znodes", |t| t.znodes, &count),
            (
                "log + snapshot disk (largest member)",
                |t| t.disk_bytes,
                &mib,
            ),
        ];
        let mut md = format!(
            "| | baseline | first window ({:.0}–{:.0} s) | last window ({:.0}–{:.0} s) | growth | after the load |\n\
             |---|---|---|---|---|---|\n",
            self.first_span.0, self.first_span.1, self.last_span.0, self.last_span.1
        );
        for (name, f, show) in rows {
            let growth = growth_percent(f(&self.first), f(&self.last))
                .map_or("n/a".to_owned(), |g| format!("{g:+.1} %"));
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {growth} | {} |",
                show(f(&self.baseline)),
                show(f(&self.first)),
                show(f(&self.last)),
                show(f(&self.drained))
            );
        }
        md.push_str("\n| goal | met | measured |\n|---|---|---|\n");
        for goal in &self.goals {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                goal.goal,
                if goal.met { "yes" } else { "**no**" },
                goal.measured
            );
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(
        rss_mib: u64,
        fds: u64,
        sessions: u64,
        watches: u64,
        ephemerals: u64,
    ) -> MemberSample {
        MemberSample {
            member: 1,
            rss_bytes: rss_mib << 20,
            fds,
            watches,
            sessions,
            znodes: 100 + ephemerals,
            ephemerals,
            log_bytes: 10 << 20,
            snapshot_bytes: 3 << 20,
            largest_snapshot: 1 << 20,
        }
    }

    /// A run: 2 baseline samples, 60 load samples (10 s apart) whose RSS goes from 100 MiB by
    /// `rss_step` MiB a sample, 3 drain samples with `left` sessions.
    fn run(rss_step: u64, left: u64) -> Vec<Sample> {
        let mut samples = Vec::new();
        let mut at = 0.0;
        let mut push = |phase, members: Vec<MemberSample>| {
            samples.push(Sample {
                at_secs: at,
                phase,
                members,
                p99_ms: Some(2.0),
                ops: 10,
            });
            at += 10.0;
        };
        for _ in 0..2 {
            push(Phase::Baseline, vec![member(50, 20, 1, 0, 0)]);
        }
        for i in 0..60 {
            let rss = 100 + rss_step * i;
            push(
                Phase::Load,
                vec![
                    member(rss, 250, 200, 150, 400),
                    member(rss / 2, 240, 200, 150, 400),
                ],
            );
        }
        for _ in 0..3 {
            push(Phase::Drain, vec![member(200, 20, left, 0, 0)]);
        }
        samples
    }

    fn goal<'a>(summary: &'a Summary, name: &str) -> &'a Goal {
        summary
            .goals
            .iter()
            .find(|g| g.goal.starts_with(name))
            .unwrap_or_else(|| panic!("no goal {name}: {:?}", summary.goals))
    }

    #[test]
    fn flat_run_meets_every_goal() {
        let summary = summarize(&run(0, 1), 100.0, 100.0, 3).unwrap();
        assert!(summary.met(), "{}", summary.markdown());
        assert_eq!(summary.first.watches, 300.0);
        assert_eq!(summary.first.rss_bytes, (100u64 << 20) as f64);
        assert!(
            summary
                .markdown()
                .contains("| RSS (largest member) | 50.0 MiB | 100.0 MiB")
        );
    }

    #[test]
    fn growing_rss_fails_its_goal_only() {
        let summary = summarize(&run(1, 1), 100.0, 100.0, 3).unwrap();
        let rss = goal(&summary, "RSS");
        assert!(!rss.met, "{rss:?}");
        // First window: samples 10..20 after the load's start (means 114.5), last: 50..60 (154.5).
        let expected = (154.5 - 114.5) / 114.5 * 100.0;
        assert_eq!(rss.measured, format!("{expected:+.1} %"));
        assert!(goal(&summary, "open fds").met);
        assert!(!summary.met());
    }

    #[test]
    fn sessions_left_after_the_load_are_a_leak() {
        let summary = summarize(&run(0, 5), 100.0, 100.0, 3).unwrap();
        let sessions = goal(&summary, "sessions");
        assert!(!sessions.met);
        assert!(sessions.measured.contains("baseline 1"), "{sessions:?}");
        assert!(sessions.measured.ends_with("after 5"), "{sessions:?}");
        assert!(goal(&summary, "ephemerals").met);
        assert!(goal(&summary, "watches").met);
    }

    #[test]
    fn disk_over_its_bound_is_named() {
        let mut samples = run(0, 1);
        samples[30].members[1].snapshot_bytes = 5 << 20;
        samples[40].members[0].log_bytes = LOG_BOUND_BYTES + 1;
        let summary = summarize(&samples, 100.0, 100.0, 3).unwrap();
        let disk = goal(&summary, "disk");
        assert!(!disk.met);
        assert!(disk.measured.contains("member 1 at 300 s"), "{disk:?}");
        assert!(disk.measured.contains("member 1 at 400 s"), "{disk:?}");
        // Keeping one more snapshot allows the larger snapshot directory, not the larger log.
        let disk = summarize(&samples, 100.0, 100.0, 4).unwrap().goals[2].clone();
        assert!(!disk.measured.contains("at 300 s"), "{disk:?}");
        assert!(disk.measured.contains("member 1 at 400 s"), "{disk:?}");
    }

    #[test]
    fn growth_is_relative_to_the_first_window() {
        assert_eq!(growth_percent(200.0, 210.0), Some(5.0));
        assert_eq!(growth_percent(200.0, 180.0), Some(-10.0));
        assert_eq!(growth_percent(0.0, 5.0), None);
    }

    #[test]
    fn missing_phases_are_errors() {
        let samples: Vec<Sample> = run(0, 1)
            .into_iter()
            .filter(|s| s.phase != Phase::Drain)
            .collect();
        assert!(matches!(
            summarize(&samples, 100.0, 100.0, 3),
            Err(SummaryError::Missing("drain"))
        ));
        assert!(summarize(&[], 100.0, 100.0, 3).is_err());
    }
}
