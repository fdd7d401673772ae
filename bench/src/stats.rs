//! Latency samples and what a row reports from them: throughput, and percentiles by the nearest-rank
//! method over the sorted samples (exact, no binning: a row holds at most a few hundred thousand samples).

use std::time::Duration;

/// The value at quantile `q` (0 < q ≤ 1) of `sorted` by the nearest-rank method: the smallest sample such
/// that at least `q` of all samples are at or below it. `None` when there are no samples.
pub fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// What one row measured on one server flavour.
#[derive(Debug, Clone, PartialEq)]
pub struct RowStats {
    /// Requests answered during the measured window (warm-up excluded).
    pub ops: u64,
    /// Length of the measured window: from the end of the warm-up to the last measured reply.
    pub window: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
}

impl RowStats {
    /// Summarises the latencies of every measured request (in any order) answered within `window`;
    /// `None` when no request was measured.
    pub fn from_samples(mut latencies: Vec<Duration>, window: Duration) -> Option<Self> {
        latencies.sort_unstable();
        Some(RowStats {
            ops: latencies.len() as u64,
            window,
            p50: percentile(&latencies, 0.50)?,
            p99: percentile(&latencies, 0.99)?,
        })
    }

    /// Requests per second over the measured window.
    pub fn throughput(&self) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs > 0.0 {
            self.ops as f64 / secs
        } else {
            0.0
        }
    }
}

/// The median, the smallest and the largest of a few repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// The median (nearest rank).
    pub median: Duration,
    /// The smallest.
    pub min: Duration,
    /// The largest.
    pub max: Duration,
    /// How many measurements.
    pub count: usize,
}

impl Spread {
    /// The spread of `samples` (in any order); `None` when there are none.
    pub fn of(mut samples: Vec<Duration>) -> Option<Self> {
        samples.sort_unstable();
        Some(Spread {
            median: percentile(&samples, 0.5)?,
            min: *samples.first()?,
            max: *samples.last()?,
            count: samples.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 0.50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&sorted, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&sorted, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&sorted, 0.001), Some(Duration::from_millis(1)));
    }

    #[test]
    fn percentile_of_few_samples_rounds_up() {
        let sorted = ms(&[10, 20, 30]);
        assert_eq!(percentile(&sorted, 0.50), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&sorted, 0.99), Some(Duration::from_millis(30)));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn stats_sort_unsorted_samples_and_compute_throughput() {
        let stats =
            RowStats::from_samples(ms(&[5, 1, 3, 2, 4]), Duration::from_millis(500)).unwrap();
        assert_eq!(stats.ops, 5);
        assert_eq!(stats.p50, Duration::from_millis(3));
        assert_eq!(stats.p99, Duration::from_millis(5));
        assert!((stats.throughput() - 10.0).abs() < 1e-9);
        assert_eq!(
            RowStats::from_samples(Vec::new(), Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn spread_of_repetitions() {
        let spread = Spread::of(ms(&[30, 10, 50, 20, 40])).unwrap();
        assert_eq!(spread.median, Duration::from_millis(30));
        assert_eq!(spread.min, Duration::from_millis(10));
        assert_eq!(spread.max, Duration::from_millis(50));
        assert_eq!(spread.count, 5);
        assert_eq!(Spread::of(Vec::new()), None);
    }
}
