//! The Markdown tables printed at the end of a run: throughput and latency per row, memory, timings of
//! repeated measurements (reconfiguration: median and maximum; failover: every repetition, median and
//! range), and the reasons of whatever failed. Every ratio is ours ÷ Apache: above 1 means more of the quantity for our server
//! (better for ops/s, worse for latency and memory).

use std::fmt::Write as _;
use std::time::Duration;

use crate::launch::Flavour;
use crate::stats::{RowStats, Spread};
use crate::workload::{Concurrency, OpKind};

/// What a measurement gave on one flavour: `None` when it was not run, else a value or why it failed.
pub type Outcome<T> = Option<Result<T, String>>;

/// One measurement on both flavours.
#[derive(Debug, Clone)]
pub struct Pair<T> {
    /// On Apache ZooKeeper.
    pub apache: Outcome<T>,
    /// On our server.
    pub ours: Outcome<T>,
}

impl<T> Default for Pair<T> {
    fn default() -> Self {
        Pair {
            apache: None,
            ours: None,
        }
    }
}

impl<T> Pair<T> {
    /// The outcome slot of `flavour`.
    pub fn slot(&mut self, flavour: Flavour) -> &mut Outcome<T> {
        match flavour {
            Flavour::Apache => &mut self.apache,
            Flavour::Ours => &mut self.ours,
        }
    }

    /// The cells `Apache | ours` of `value`, formatted by `fmt`.
    fn cells(&self, value: impl Fn(&T) -> f64, fmt: impl Fn(f64) -> String) -> [String; 2] {
        [&self.apache, &self.ours].map(|outcome| match outcome {
            None => "—".to_owned(),
            Some(Err(_)) => "failed".to_owned(),
            Some(Ok(v)) => fmt(value(v)),
        })
    }

    /// Ours ÷ Apache of `value`, when both were measured.
    fn ratio(&self, value: impl Fn(&T) -> f64) -> String {
        match (&self.apache, &self.ours) {
            (Some(Ok(a)), Some(Ok(o))) if value(a) > 0.0 => format!("{:.2}", value(o) / value(a)),
            _ => "—".to_owned(),
        }
    }
}

/// One row of the throughput table.
#[derive(Debug, Clone)]
pub struct RowReport {
    /// The operation.
    pub kind: OpKind,
    /// Sessions × requests in flight.
    pub concurrency: Concurrency,
    /// What each flavour measured.
    pub stats: Pair<RowStats>,
}

/// Resident memory of a server before and after the memory load (mean over members).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryStats {
    /// Resident bytes once started and ready.
    pub idle: u64,
    /// Resident bytes after the znodes were created.
    pub loaded: u64,
    /// How many znodes were created.
    pub znodes: u64,
}

impl MemoryStats {
    /// Growth of the resident set per znode created, in bytes.
    pub fn bytes_per_znode(&self) -> f64 {
        self.loaded.saturating_sub(self.idle) as f64 / self.znodes.max(1) as f64
    }
}

/// One line of a timings table: a measurement repeated on each flavour.
#[derive(Debug, Clone)]
pub struct TimingRow {
    /// What was measured.
    pub label: String,
    /// Median and maximum on each flavour.
    pub spread: Pair<Spread>,
}

/// One measurement repeated on fresh deployments: every repetition's value on each flavour.
#[derive(Debug, Clone)]
pub struct RepeatedRow {
    /// What was measured.
    pub label: String,
    /// On Apache, by repetition (`None`: that repetition failed); `None` when Apache was not run.
    pub apache: Option<Vec<Option<Duration>>>,
    /// On our server, likewise.
    pub ours: Option<Vec<Option<Duration>>>,
}

/// Milliseconds of a duration.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Bytes to MiB.
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The throughput and latency table.
pub fn rows_table(rows: &[RowReport]) -> String {
    let header = "| workload | sessions×in flight | Apache ops/s | ours ops/s | ops/s ratio | Apache p50 ms | ours p50 ms | Apache p99 ms | ours p99 ms | p99 ratio |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    table(header, rows, |row| {
        let s = &row.stats;
        let [a_ops, o_ops] = s.cells(RowStats::throughput, |v| format!("{v:.0}"));
        let [a_p50, o_p50] = s.cells(|r| ms(r.p50), |v| format!("{v:.2}"));
        let [a_p99, o_p99] = s.cells(|r| ms(r.p99), |v| format!("{v:.2}"));
        format!(
            "| {} | {} | {a_ops} | {o_ops} | {} | {a_p50} | {o_p50} | {a_p99} | {o_p99} | {} |",
            row.kind,
            row.concurrency,
            s.ratio(RowStats::throughput),
            s.ratio(|r| ms(r.p99)),
        )
    })
}

/// A Markdown table: `header` (its heading and alignment lines), then one line per row, made by `line`.
fn table<R>(header: &str, rows: &[R], line: impl Fn(&R) -> String) -> String {
    let mut out = header.to_owned();
    for row in rows {
        let _ = writeln!(out, "{}", line(row));
    }
    out
}

/// The table of repeated timings: median and maximum in milliseconds on each flavour, and their ratios.
pub fn timings_table(rows: &[TimingRow]) -> String {
    let header = "| measurement | Apache median ms | Apache max ms | ours median ms | ours max ms | median ratio | max ratio |\n\
         |---|--:|--:|--:|--:|--:|--:|\n";
    table(header, rows, |row| {
        let s = &row.spread;
        let [a_med, o_med] = s.cells(|t| ms(t.median), |v| format!("{v:.1}"));
        let [a_max, o_max] = s.cells(|t| ms(t.max), |v| format!("{v:.1}"));
        format!(
            "| {} | {a_med} | {a_max} | {o_med} | {o_max} | {} | {} |",
            row.label,
            s.ratio(|t| ms(t.median)),
            s.ratio(|t| ms(t.max)),
        )
    })
}

/// The table of repeated measurements: one line per measurement and flavour with every repetition's value,
/// the median and the range (min–max) in milliseconds, and on our server's line the ratio of the medians.
pub fn repetitions_table(rows: &[RepeatedRow]) -> String {
    let repetitions = rows
        .iter()
        .flat_map(|r| [&r.apache, &r.ours])
        .filter_map(|v| v.as_ref().map(Vec::len))
        .max()
        .unwrap_or(0);
    let mut out = String::from("| measurement | server |");
    for n in 1..=repetitions {
        let _ = write!(out, " {n} |");
    }
    out.push_str(" median | min–max | median ours ÷ Apache |\n|---|---|");
    out.push_str(&"--:|".repeat(repetitions + 3));
    out.push('\n');
    for row in rows {
        let apache = row.apache.as_deref().and_then(spread);
        let ours = row.ours.as_deref().and_then(spread);
        let ratio = match (apache, ours) {
            (Some(a), Some(o)) if !a.median.is_zero() => {
                format!("{:.2}", ms(o.median) / ms(a.median))
            }
            _ => "—".to_owned(),
        };
        for (server, values, spread, ratio) in [
            ("Apache", &row.apache, apache, String::new()),
            ("ours", &row.ours, ours, ratio),
        ] {
            let Some(values) = values else { continue };
            let _ = write!(out, "| {} | {server} |", row.label);
            for n in 0..repetitions {
                let _ = match values.get(n) {
                    Some(Some(d)) => write!(out, " {:.1} |", ms(*d)),
                    Some(None) => write!(out, " failed |"),
                    None => write!(out, " — |"),
                };
            }
            let [median, range] = match spread {
                Some(s) => [
                    format!("{:.1}", ms(s.median)),
                    format!("{:.1}–{:.1}", ms(s.min), ms(s.max)),
                ],
                None => ["—".to_owned(), "—".to_owned()],
            };
            let _ = writeln!(out, " {median} | {range} | {ratio} |");
        }
    }
    out
}

/// The spread of the repetitions that gave a value.
fn spread(values: &[Option<Duration>]) -> Option<Spread> {
    Spread::of(values.iter().flatten().copied().collect())
}

/// The memory table for `znodes` znodes of `value_size` bytes on `members` members each.
pub fn memory_table(
    memory: &Pair<MemoryStats>,
    znodes: u64,
    value_size: usize,
    members: usize,
) -> String {
    let per_member = if members > 1 {
        " (mean per member)"
    } else {
        ""
    };
    let mut out =
        format!("| memory{per_member} | Apache | ours | ours/Apache |\n|---|--:|--:|--:|\n");
    memory_line(&mut out, memory, "RSS when ready, MiB", |m| mib(m.idle), 1);
    let loaded = format!("RSS after {znodes} znodes of {value_size} B, MiB");
    memory_line(&mut out, memory, &loaded, |m| mib(m.loaded), 1);
    let growth = "bytes per znode (RSS growth ÷ znodes)";
    memory_line(&mut out, memory, growth, MemoryStats::bytes_per_znode, 0);
    out
}

/// Appends the memory table's line `label`: `value` on each flavour with `precision` decimals, and the ratio.
fn memory_line(
    out: &mut String,
    memory: &Pair<MemoryStats>,
    label: &str,
    value: fn(&MemoryStats) -> f64,
    precision: usize,
) {
    let [a, o] = memory.cells(value, |v| format!("{v:.precision$}"));
    let _ = writeln!(out, "| {label} | {a} | {o} | {} |", memory.ratio(value));
}

/// One line per failed measurement, naming the flavour, the measurement and why.
pub fn failures(rows: &[RowReport], memory: &Pair<MemoryStats>) -> String {
    let mut out = String::new();
    let mut note = |flavour: Flavour, what: &str, outcome: Option<&String>| {
        if let Some(why) = outcome {
            out.push_str(&note_line(flavour, what, why));
        }
    };
    for row in rows {
        let what = format!("{} {}", row.kind, row.concurrency);
        note(Flavour::Apache, &what, failure(&row.stats.apache));
        note(Flavour::Ours, &what, failure(&row.stats.ours));
    }
    note(Flavour::Apache, "memory", failure(&memory.apache));
    note(Flavour::Ours, "memory", failure(&memory.ours));
    out
}

/// One line of a list of notes under a table: `- flavour, what: why`.
pub fn note_line(flavour: Flavour, what: &str, why: &str) -> String {
    format!("- {flavour}, {what}: {why}\n")
}

/// The reason of a failed outcome.
fn failure<T>(outcome: &Outcome<T>) -> Option<&String> {
    outcome.as_ref().and_then(|r| r.as_ref().err())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(ops: u64, p50_ms: u64, p99_ms: u64) -> RowStats {
        RowStats {
            ops,
            window: Duration::from_secs(1),
            p50: Duration::from_millis(p50_ms),
            p99: Duration::from_millis(p99_ms),
        }
    }

    #[test]
    fn row_table_shows_both_flavours_and_ratios() {
        let rows = [
            RowReport {
                kind: OpKind::SetData,
                concurrency: "8x1".parse().unwrap(),
                stats: Pair {
                    apache: Some(Ok(stats(5000, 1, 3))),
                    ours: Some(Ok(stats(10000, 1, 2))),
                },
            },
            RowReport {
                kind: OpKind::GetData,
                concurrency: "1x1".parse().unwrap(),
                stats: Pair {
                    apache: Some(Ok(stats(2000, 1, 4))),
                    ours: Some(Err("refused".to_owned())),
                },
            },
        ];
        let table = rows_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[2],
            "| setData | 8×1 | 5000 | 10000 | 2.00 | 1.00 | 1.00 | 3.00 | 2.00 | 0.67 |"
        );
        assert_eq!(
            lines[3],
            "| getData | 1×1 | 2000 | failed | — | 1.00 | failed | 4.00 | failed | — |"
        );
        let notes = failures(&rows, &Pair::default());
        assert_eq!(notes, "- ours, getData 1×1: refused\n");
    }

    #[test]
    fn timings_table_shows_median_max_and_ratios() {
        let spread = |median, max| Spread {
            median: Duration::from_millis(median),
            min: Duration::ZERO,
            max: Duration::from_millis(max),
            count: 5,
        };
        let rows = [TimingRow {
            label: "add 1→2: reply".to_owned(),
            spread: Pair {
                apache: Some(Ok(spread(40, 80))),
                ours: Some(Ok(spread(10, 40))),
            },
        }];
        let table = timings_table(&rows);
        assert_eq!(
            table.lines().nth(2),
            Some("| add 1→2: reply | 40.0 | 80.0 | 10.0 | 40.0 | 0.25 | 0.50 |")
        );
    }

    #[test]
    fn repetitions_table_lists_every_repetition_median_range_and_ratio() {
        let ms = |v: u64| Some(Duration::from_millis(v));
        let rows = [RepeatedRow {
            label: "longest write pause".to_owned(),
            apache: Some(vec![ms(800), ms(600), ms(700)]),
            ours: Some(vec![ms(70), None, ms(50)]),
        }];
        let table = repetitions_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| measurement | server | 1 | 2 | 3 | median | min–max | median ours ÷ Apache |"
        );
        assert_eq!(lines[1], "|---|---|--:|--:|--:|--:|--:|--:|");
        assert_eq!(
            lines[2],
            "| longest write pause | Apache | 800.0 | 600.0 | 700.0 | 700.0 | 600.0–800.0 |  |"
        );
        assert_eq!(
            lines[3],
            "| longest write pause | ours | 70.0 | failed | 50.0 | 50.0 | 50.0–70.0 | 0.07 |"
        );
    }

    #[test]
    fn memory_table_reports_mib_and_growth_per_znode() {
        let memory = Pair {
            apache: Some(Ok(MemoryStats {
                idle: 100 << 20,
                loaded: 300 << 20,
                znodes: 100_000,
            })),
            ours: None,
        };
        let table = memory_table(&memory, 100_000, 100, 1);
        assert!(table.starts_with("| memory | Apache | ours | ours/Apache |\n"));
        assert!(table.contains("| RSS when ready, MiB | 100.0 | — | — |\n"));
        assert!(table.contains("| RSS after 100000 znodes of 100 B, MiB | 300.0 | — | — |\n"));
        assert!(table.contains("| bytes per znode (RSS growth ÷ znodes) | 2097 | — | — |\n"));
        assert!(memory_table(&memory, 100_000, 100, 3).starts_with("| memory (mean per member) |"));
    }
}
