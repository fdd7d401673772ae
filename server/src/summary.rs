//! A summary of a stream of values — count, sum, min, max and the last one — kept with atomics, so
//! that recording a value takes no lock (Apache's `AvgMinMaxCounter`, plus the last value `cons`
//! prints). Request latencies, the log writer's batch sizes and its fsync times are kept in one;
//! those the metrics report quantiles of in a [`QuantileSummary`], which adds the quantiles of
//! the last ten minutes (Apache's `AvgMinMaxPercentileCounter`, and its Prometheus summaries).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::quantiles::{Percentiles, RecentQuantiles};

/// Count, sum, min, max and last of the values recorded.
#[derive(Debug, Default)]
pub struct Summary {
    count: AtomicU64,
    total: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    last: AtomicU64,
}

impl Summary {
    /// Records one value.
    pub fn record(&self, value: u64) {
        if self.count.fetch_add(1, Relaxed) == 0 {
            self.min.store(value, Relaxed);
        } else {
            self.min.fetch_min(value, Relaxed);
        }
        self.total.fetch_add(value, Relaxed);
        self.max.fetch_max(value, Relaxed);
        self.last.store(value, Relaxed);
    }

    /// The lowest value (0 before any).
    pub fn min(&self) -> u64 {
        self.min.load(Relaxed)
    }

    /// The highest value (0 before any).
    pub fn max(&self) -> u64 {
        self.max.load(Relaxed)
    }

    /// The last value (0 before any).
    pub fn last(&self) -> u64 {
        self.last.load(Relaxed)
    }

    /// The mean (0 before any value).
    pub fn avg(&self) -> f64 {
        self.figures().avg()
    }

    /// Count, sum, min and max as of now.
    pub fn figures(&self) -> SummaryFigures {
        SummaryFigures {
            count: self.count.load(Relaxed),
            sum: self.total.load(Relaxed),
            min: self.min(),
            max: self.max(),
        }
    }

    /// Back to no value.
    pub fn reset(&self) {
        for counter in [&self.count, &self.total, &self.min, &self.max, &self.last] {
            counter.store(0, Relaxed);
        }
    }
}

/// A [`Summary`]'s figures at one moment, as `mntr` prints them (`zk_{avg,min,max,cnt,sum}_<name>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SummaryFigures {
    /// How many values.
    pub count: u64,
    /// Their sum.
    pub sum: u64,
    /// The lowest (0 before any).
    pub min: u64,
    /// The highest (0 before any).
    pub max: u64,
}

impl SummaryFigures {
    /// The mean (0 before any value).
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

/// A [`Summary`] with the quantiles of its recent values.
#[derive(Debug, Default)]
pub struct QuantileSummary {
    summary: Summary,
    recent: RecentQuantiles,
}

impl QuantileSummary {
    /// Records one value.
    pub fn record(&self, value: u64) {
        self.summary.record(value);
        self.recent.record(value);
    }

    /// The figures since start (or the last reset), with the quantiles of the last ten minutes.
    pub fn figures(&self) -> QuantileFigures {
        QuantileFigures {
            summary: self.summary.figures(),
            recent: self.recent.percentiles(),
        }
    }

    /// Back to no value.
    pub fn reset(&self) {
        self.summary.reset();
        self.recent.reset();
    }
}

/// A [`QuantileSummary`]'s figures at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuantileFigures {
    /// Count, sum, min and max since start.
    pub summary: SummaryFigures,
    /// Quantiles of the last ten minutes.
    pub recent: Percentiles,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_count_sum_min_max_and_last() {
        let summary = Summary::default();
        assert_eq!(summary.figures(), SummaryFigures::default());
        assert_eq!(summary.avg(), 0.0);
        for value in [5, 2, 9] {
            summary.record(value);
        }
        let figures = summary.figures();
        assert_eq!(
            (figures.count, figures.sum, figures.min, figures.max),
            (3, 16, 2, 9)
        );
        assert_eq!(summary.last(), 9);
        assert!((summary.avg() - 16.0 / 3.0).abs() < 1e-9);
        summary.reset();
        assert_eq!(summary.figures(), SummaryFigures::default());
    }

    #[test]
    fn a_quantile_summary_keeps_figures_and_quantiles_of_the_same_values() {
        let summary = QuantileSummary::default();
        for value in 1..=60 {
            summary.record(value);
        }
        let figures = summary.figures();
        assert_eq!((figures.summary.count, figures.summary.sum), (60, 1830));
        assert_eq!(
            (figures.recent.p50, figures.recent.p99),
            (Some(30), Some(60))
        );
        summary.reset();
        assert_eq!(summary.figures(), QuantileFigures::default());
    }
}
