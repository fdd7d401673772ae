//! The percentiles of a histogram that openraft's runtime statistics print.

use std::fmt;

/// A histogram's sample count and percentiles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PercentileStats {
    /// Values recorded.
    pub samples: u64,
    /// 0.1th percentile.
    pub p0_1: u64,
    /// 1st percentile.
    pub p1: u64,
    /// 5th percentile.
    pub p5: u64,
    /// 10th percentile.
    pub p10: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p99_9: u64,
}

impl fmt::Display for PercentileStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} p50={} p90={} p99={} p99.9={}",
            self.samples, self.p50, self.p90, self.p99, self.p99_9
        )
    }
}
