//! A run's results written out: `soak.csv` (every sample), `soak.png` (the plot) and `summary.md` (what
//! ran, the windows compared, the goals and the linearizability verdicts); and, for the docs, the same
//! files in `docs/soak/` and the summary between the markers of `docs/robustness.md`'s section "Soak".

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::plot;
use super::run::{SoakOutcome, SoakSpec};
use super::sample::to_csv;
use super::summary::Summary;

/// Where the generated part of `docs/robustness.md` begins.
pub const BEGIN: &str = "<!-- soak:begin (written by scripts/soak.sh --docs) -->";
/// Where it ends.
pub const END: &str = "<!-- soak:end -->";

/// Why the results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] plot::PlotError),
    /// `docs/robustness.md` has no soak markers.
    #[error("{0} has no {BEGIN} … {END} section")]
    NoMarkers(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError {
    let path = path.to_path_buf();
    move |source| ReportError::Io { path, source }
}

/// Whether every segment's history is linearizable.
pub fn linearizable(outcome: &SoakOutcome) -> bool {
    !outcome.segments.is_empty() && outcome.segments.iter().all(|s| s.verdict.is_linearizable())
}

/// The summary, in markdown: what ran, the windows, the goals, the segments. `plot` is the PNG's link.
pub fn markdown(spec: &SoakSpec, outcome: &SoakOutcome, summary: &Summary, plot: &str) -> String {
    let c = &outcome.counters;
    let count = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Run: load and faults for **{:.1} minutes** (asked: {:.0}), a sample every {} s; {} sessions at once, \
         each living {}–{} s, an operation every {}–{} ms; a session left to expire every {} s; \
         reconfig every {} s ({} ↔ {} members), leader SIGKILL every {} s; `zoo.cfg` additions: `{}`.\n",
        outcome.load_secs / 60.0,
        spec.duration.as_secs_f64() / 60.0,
        spec.sample_every.as_secs(),
        spec.load.sessions,
        spec.load.lifetime_secs.0,
        spec.load.lifetime_secs.1,
        spec.load.pace_ms.0,
        spec.load.pace_ms.1,
        spec.load.expire_every.as_secs(),
        spec.nemesis.reconfig_every.as_secs(),
        spec.nemesis.base,
        spec.nemesis.top,
        spec.nemesis.kill_every.as_secs(),
        spec.settings.trim().replace('\n', " "),
    );
    let _ = writeln!(
        md,
        "Load: {} operations answered, {} failed with a lost connection; sessions opened {}, closed {}, \
         expired unplanned {}, left to expire {}; watch events {} one-shot, {} persistent; unexpected \
         errors {}.\n",
        count(&c.ops),
        count(&c.connection_errors),
        count(&c.opened),
        count(&c.closed),
        count(&c.expired),
        count(&c.left_to_expire),
        count(&c.oneshot_events),
        count(&c.persistent_events),
        c.unexpected
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len(),
    );
    let failed = outcome.events.iter().filter(|e| !e.ok).count();
    let _ = writeln!(
        md,
        "Faults: {} ({} failed): {}.\n",
        outcome.events.len(),
        failed,
        outcome
            .events
            .iter()
            .map(|e| format!("{:.0} s {}", e.at_secs, e.what))
            .collect::<Vec<_>>()
            .join("; ")
    );
    md.push_str(&summary.markdown());
    let ops: usize = outcome.segments.iter().map(|s| s.verdict.operations).sum();
    let unknown: usize = outcome.segments.iter().map(|s| s.verdict.unknown).sum();
    let _ = writeln!(
        md,
        "| every history linearizable | {} | {} segments, {ops} register operations ({unknown} of unknown \
         outcome) |",
        if linearizable(outcome) {
            "yes"
        } else {
            "**no**"
        },
        outcome.segments.len()
    );
    let _ = writeln!(
        md,
        "| the drain reached the baseline | {} | within the drain limit of {} s |\n",
        if outcome.drained { "yes" } else { "**no**" },
        spec.drain_limit.as_secs()
    );
    md.push_str("| segment | span | verdict |\n|---|---|---|\n");
    for s in &outcome.segments {
        let _ = writeln!(
            md,
            "| {} | {:.0}–{:.0} s | {} |",
            s.index, s.span_secs.0, s.span_secs.1, s.verdict
        );
    }
    let _ = writeln!(md, "\n![soak: every member over time]({plot})");
    md
}

/// Writes `soak.csv`, `soak.png` and `summary.md` into `out`; returns their paths.
pub fn write(
    out: &Path,
    spec: &SoakSpec,
    outcome: &SoakOutcome,
    summary: &Summary,
) -> Result<[PathBuf; 3], ReportError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let csv = out.join("soak.csv");
    std::fs::write(&csv, to_csv(&outcome.samples)).map_err(io(&csv))?;
    let png = out.join("soak.png");
    let title = format!(
        "zk-server soak: {:.0} minutes of load, reconfig {}↔{} every {} s, leader kill every {} s",
        outcome.load_secs / 60.0,
        spec.nemesis.base,
        spec.nemesis.top,
        spec.nemesis.reconfig_every.as_secs(),
        spec.nemesis.kill_every.as_secs()
    );
    plot::draw(&outcome.samples, &title, &png)?;
    let md = out.join("summary.md");
    let text = format!("# Soak\n\n{}", markdown(spec, outcome, summary, "soak.png"));
    std::fs::write(&md, text).map_err(io(&md))?;
    Ok([csv, png, md])
}

/// Copies `files` into `docs/soak/` and puts the summary between the markers of
/// `docs/robustness.md` (`docs` is the docs directory).
pub fn into_docs(
    docs: &Path,
    files: &[PathBuf],
    spec: &SoakSpec,
    outcome: &SoakOutcome,
    summary: &Summary,
) -> Result<(), ReportError> {
    let dir = docs.join("soak");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    for file in files {
        let to = dir.join(file.file_name().expect("a file name"));
        std::fs::copy(file, &to).map_err(io(&to))?;
    }
    let page = docs.join("robustness.md");
    let text = std::fs::read_to_string(&page).map_err(io(&page))?;
    let section = markdown(spec, outcome, summary, "soak/soak.png");
    let replaced = replace_between(&text, &section).ok_or(ReportError::NoMarkers(page.clone()))?;
    std::fs::write(&page, replaced).map_err(io(&page))
}

/// `text` with what lies between [`BEGIN`] and [`END`] replaced by `section`.
fn replace_between(text: &str, section: &str) -> Option<String> {
    let begin = text.find(BEGIN)? + BEGIN.len();
    let end = begin + text[begin..].find(END)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..begin],
        section.trim_end(),
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_between_the_markers_is_replaced() {
        let page = format!("# Title\n\n## Soak\n\nText.\n\n{BEGIN}\nold table\n{END}\n\n## Next\n");
        let replaced = replace_between(&page, "new table\n").unwrap();
        assert_eq!(
            replaced,
            format!("# Title\n\n## Soak\n\nText.\n\n{BEGIN}\nnew table\n{END}\n\n## Next\n")
        );
        assert_eq!(
            replace_between(&replaced, "x")
                .unwrap()
                .matches(BEGIN)
                .count(),
            1
        );
        assert!(replace_between("no markers", "x").is_none());
    }
}
