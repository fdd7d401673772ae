//! Prometheus metrics of the operator, served as text at `/metrics`.

use std::sync::atomic::AtomicI64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: String,
}

/// The operator's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    reconciliations: Counter,
    duration: Histogram,
    failures: Family<ErrorLabels, Counter>,
    steps: Family<StepLabels, Counter>,
    step_durations: Family<StepLabels, Histogram>,
    leader: Gauge<i64, AtomicI64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("zk_operator");
        let reconciliations = Counter::default();
        let duration = Histogram::new(exponential_buckets(0.01, 2.0, 12));
        let failures = Family::<ErrorLabels, Counter>::default();
        let steps = Family::<StepLabels, Counter>::default();
        let step_durations = Family::<StepLabels, Histogram>::new_with_constructor(
            step_duration_histogram as fn() -> Histogram,
        );
        let leader = Gauge::<i64, AtomicI64>::default();
        registry.register("reconciliations", "Reconciles run", reconciliations.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            duration.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Failed reconciles by kind of error",
            failures.clone(),
        );
        registry.register("steps", "Steps taken by kind", steps.clone());
        registry.register(
            "step_duration_seconds",
            "Time spent applying one step, by kind",
            step_durations.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            leader.clone(),
        );
        Self {
            registry,
            reconciliations,
            duration,
            failures,
            steps,
            step_durations,
            leader,
        }
    }
}

impl Metrics {
    /// Counts one reconcile and its duration.
    pub fn reconciled(&self, elapsed: Duration) {
        self.reconciliations.inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Counts a failed reconcile under `error`.
    pub fn reconcile_failed(&self, error: &str) {
        self.failures
            .get_or_create(&ErrorLabels {
                error: error.to_string(),
            })
            .inc();
    }

    /// Counts a step that changed something and the time `elapsed` applying it took.
    pub fn step_taken(&self, step: &str, elapsed: Duration) {
        let labels = StepLabels {
            step: step.to_string(),
        };
        self.steps.get_or_create(&labels).inc();
        self.step_durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Buckets of a step's duration: 10 ms to about 40 s (a step waits on the API server and on members'
/// `reconfig`).
fn step_duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 13))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counted_values() {
        let metrics = Metrics::default();
        metrics.reconciled(Duration::from_millis(30));
        metrics.reconcile_failed("kube");
        metrics.step_taken("AddMember", Duration::from_millis(300));
        metrics.set_leader(true);
        let text = metrics.encode();
        assert!(
            text.contains("zk_operator_reconciliations_total 1"),
            "{text}"
        );
        assert!(
            text.contains("zk_operator_reconcile_failures_total{error=\"kube\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("zk_operator_steps_total{step=\"AddMember\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("zk_operator_step_duration_seconds_count{step=\"AddMember\"} 1"),
            "{text}"
        );
        assert!(text.contains("zk_operator_leader 1"), "{text}");
    }
}
