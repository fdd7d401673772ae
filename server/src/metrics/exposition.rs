//! `mntr`'s metrics in the Prometheus text format, named and typed as Apache's Prometheus
//! provider names and types them: `zk_<name>` becomes `<name>`; a summary set's
//! `zk_{avg,min,max,cnt,sum}_<name>` (with a percentile counter's `zk_{p50,p95,p99,p999}_<name>`)
//! becomes the summary `<name>`: the `quantile` lines Apache's provider writes for it (0.5, 0.9
//! and 0.99 for a percentile counter, 0.5 for any other; labels with Apache's trailing comma;
//! `NaN` when no value was recorded in the last ten minutes or the summary is not measured here),
//! then `<name>_count` and `<name>_sum`. Text values (`zk_version`, `zk_server_state`,
//! `zk_peer_state`) are left out, as Apache's provider has no metric for them.

use std::fmt::Write;

use super::apache_types::{SUMMARIES, quantiles_of, type_of};
use crate::fourlw::MetricValue;
use crate::quantiles::Percentiles;

/// The parts of a summary set in `mntr` (the percentiles only in a percentile counter's).
const SUMMARY_PARTS: [&str; 9] = [
    "avg", "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999",
];

/// Renders `metrics` (as [`crate::fourlw::metrics`] lists them) as a Prometheus text exposition,
/// with the quantiles of each summary from `recent` (as [`crate::fourlw::recent_quantiles`] lists
/// them).
pub fn render(metrics: &[(&str, MetricValue)], recent: &[(&str, Percentiles)]) -> String {
    let mut out = String::new();
    for (key, value) in metrics {
        let Some(name) = key.strip_prefix("zk_") else {
            continue;
        };
        let Some(number) = as_number(value) else {
            continue;
        };
        match summary_part(name) {
            // A summary is written once, at its `cnt` line, with the sum found beside it.
            Some(("cnt", summary)) => {
                let sum = metrics
                    .iter()
                    .find(|(k, _)| k.strip_prefix("zk_sum_") == Some(summary))
                    .and_then(|(_, v)| as_number(v))
                    .unwrap_or(0.0);
                header(&mut out, summary, "summary");
                let percentiles = recent
                    .iter()
                    .find(|(name, _)| *name == summary)
                    .map(|(_, p)| *p)
                    .unwrap_or_default();
                for quantile in quantiles_of(summary) {
                    let value = at(&percentiles, quantile)
                        .map_or_else(|| "NaN".to_string(), |v| java_number(v as f64));
                    let _ = writeln!(out, "{summary}{{quantile=\"{quantile}\",}} {value}");
                }
                let _ = writeln!(out, "{summary}_count {}", java_number(number));
                let _ = writeln!(out, "{summary}_sum {}", java_number(sum));
            }
            Some(_) => {}
            None => {
                header(&mut out, name, type_of(name));
                let _ = writeln!(out, "{name} {}", java_number(number));
            }
        }
    }
    out
}

/// `Some((part, summary))` when `name` is `<part>_<summary>` of a summary Apache exports.
fn summary_part(name: &str) -> Option<(&str, &str)> {
    let (part, rest) = name.split_once('_')?;
    (SUMMARY_PARTS.contains(&part) && SUMMARIES.contains(&rest)).then_some((part, rest))
}

/// The figure of `percentiles` a `quantile` label names.
fn at(percentiles: &Percentiles, quantile: &str) -> Option<u64> {
    match quantile {
        "0.5" => percentiles.p50,
        "0.9" => percentiles.p90,
        "0.99" => percentiles.p99,
        _ => None,
    }
}

/// A numeric value; `None` for text.
fn as_number(value: &MetricValue) -> Option<f64> {
    match value {
        MetricValue::Int(v) => Some(*v as f64),
        MetricValue::Float(v) => Some(*v),
        MetricValue::Text(_) => None,
    }
}

fn header(out: &mut String, name: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {name}\n# TYPE {name} {kind}");
}

/// A number as Java's `Double.toString` writes it for the values metrics take (`5.0`, `0.25`).
fn java_number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e7 {
        format!("{value:.1}")
    } else if value.is_nan() {
        "NaN".to_string()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_counters_and_summaries_are_named_and_typed_as_apache_does() {
        let metrics = vec![
            ("zk_version", MetricValue::Text("3.9.3".into())),
            ("zk_avg_latency", MetricValue::Float(0.25)),
            ("zk_znode_count", MetricValue::Int(5)),
            ("zk_commit_count", MetricValue::Int(7)),
            ("zk_avg_fsynctime", MetricValue::Float(1.5)),
            ("zk_min_fsynctime", MetricValue::Int(1)),
            ("zk_max_fsynctime", MetricValue::Int(2)),
            ("zk_cnt_fsynctime", MetricValue::Int(2)),
            ("zk_sum_fsynctime", MetricValue::Int(3)),
        ];
        let recent = [(
            "fsynctime",
            Percentiles {
                p50: Some(1),
                ..Percentiles::default()
            },
        )];
        assert_eq!(
            render(&metrics, &recent),
            "# HELP avg_latency avg_latency\n# TYPE avg_latency gauge\navg_latency 0.25\n\
             # HELP znode_count znode_count\n# TYPE znode_count gauge\nznode_count 5.0\n\
             # HELP commit_count commit_count\n# TYPE commit_count counter\ncommit_count 7.0\n\
             # HELP fsynctime fsynctime\n# TYPE fsynctime summary\nfsynctime{quantile=\"0.5\",} 1.0\n\
             fsynctime_count 2.0\nfsynctime_sum 3.0\n"
        );
    }

    #[test]
    fn every_metric_of_a_live_mntr_is_rendered_once_and_text_is_left_out() {
        let metrics = vec![
            ("zk_server_state", MetricValue::Text("leader".into())),
            ("zk_packets_received", MetricValue::Int(12)),
            ("zk_cnt_sync_processor_batch_size", MetricValue::Int(0)),
            ("zk_sum_sync_processor_batch_size", MetricValue::Int(0)),
        ];
        let text = render(&metrics, &[]);
        assert_eq!(text.matches("# TYPE").count(), 2, "{text}");
        assert!(!text.contains("server_state"));
        assert!(text.contains(
            "sync_processor_batch_size{quantile=\"0.5\",} NaN\nsync_processor_batch_size_count 0.0\n"
        ));
    }

    #[test]
    fn a_percentile_counter_has_apaches_three_quantiles() {
        let metrics = vec![
            ("zk_cnt_readlatency", MetricValue::Int(40)),
            ("zk_sum_readlatency", MetricValue::Int(90)),
            ("zk_p50_readlatency", MetricValue::Int(2)),
        ];
        let recent = [
            (
                "readlatency",
                Percentiles {
                    p50: Some(2),
                    p90: Some(5),
                    p95: Some(6),
                    p99: Some(11),
                    p999: Some(12),
                },
            ),
            ("updatelatency", Percentiles::default()),
        ];
        assert_eq!(
            render(&metrics, &recent),
            "# HELP readlatency readlatency\n# TYPE readlatency summary\n\
             readlatency{quantile=\"0.5\",} 2.0\nreadlatency{quantile=\"0.9\",} 5.0\n\
             readlatency{quantile=\"0.99\",} 11.0\nreadlatency_count 40.0\nreadlatency_sum 90.0\n"
        );
    }
}
