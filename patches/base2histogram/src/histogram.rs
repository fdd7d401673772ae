//! The histogram: counts per log-linear bucket, and percentiles read back from them.

use std::marker::PhantomData;

use crate::SUB_BUCKET_BITS;
use crate::percentile_stats::PercentileStats;

/// Buckets per power of two, and the number of values below 8 that have a bucket each.
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
/// Buckets in all: one per small value, then `SUB_BUCKETS` per power of two from 2^3 to 2^63.
const BUCKETS: usize = (SUB_BUCKETS as usize) * (64 - SUB_BUCKET_BITS as usize + 1);

/// A distribution of `u64` values, exact below 8 and within 1/16 of each value above.
///
/// `T` is the per-period data the crate this one stands in for attaches to its time slots; openraft names
/// the type `Histogram<()>` and never uses slots, so here it only completes the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram<T = ()> {
    /// Count per bucket; empty until the first value is recorded.
    counts: Vec<u64>,
    total: u64,
    slot_data: PhantomData<fn() -> T>,
}

impl<T> Default for Histogram<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Histogram<T> {
    /// An empty histogram; it allocates its buckets when it records its first value.
    pub fn new() -> Self {
        Self {
            counts: Vec::new(),
            total: 0,
            slot_data: PhantomData,
        }
    }

    /// Counts one `value`.
    pub fn record(&mut self, value: u64) {
        self.record_n(value, 1);
    }

    /// Counts `value` `count` times.
    pub fn record_n(&mut self, value: u64, count: u64) {
        if count == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket_of(value)] += count;
        self.total += count;
    }

    /// The number of values recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The value at fraction `p` (0.0 to 1.0) of the recorded values, in order: the middle of the bucket
    /// holding it. 0 when nothing was recorded.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (low, high) = bounds(index);
                return low + (high - low) / 2;
            }
        }
        unreachable!("the bucket counts add up to the total")
    }

    /// The percentiles openraft's statistics print.
    pub fn percentile_stats(&self) -> PercentileStats {
        PercentileStats {
            samples: self.total,
            p0_1: self.percentile(0.001),
            p1: self.percentile(0.01),
            p5: self.percentile(0.05),
            p10: self.percentile(0.10),
            p50: self.percentile(0.50),
            p90: self.percentile(0.90),
            p99: self.percentile(0.99),
            p99_9: self.percentile(0.999),
        }
    }

    /// The buckets holding values, in order: their lowest and highest value and their count.
    pub(crate) fn filled_buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(index, count)| {
                let (low, high) = bounds(index);
                (low, high, *count)
            })
    }
}

/// The bucket of `value`: the value itself below 8, otherwise its power of two and the three bits below
/// its highest set bit.
fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let exponent = u64::from(63 - value.leading_zeros());
    let sub = (value >> (exponent - u64::from(SUB_BUCKET_BITS))) & (SUB_BUCKETS - 1);
    ((exponent - u64::from(SUB_BUCKET_BITS) + 1) * SUB_BUCKETS + sub) as usize
}

/// The lowest and the highest value of bucket `index`.
fn bounds(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return (index, index);
    }
    let shift = index / SUB_BUCKETS - 1;
    let low = (SUB_BUCKETS + index % SUB_BUCKETS) << shift;
    (low, low + ((1 << shift) - 1))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn buckets_tile_every_value_in_order() {
        assert_eq!(bounds(0), (0, 0));
        assert_eq!(bucket_of(7), 7);
        assert_eq!(bounds(bucket_of(8)), (8, 8));
        assert_eq!(bounds(bucket_of(1000)), (960, 1023));
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bounds(BUCKETS - 1).1, u64::MAX);
        for index in 1..BUCKETS {
            assert_eq!(
                bounds(index).0,
                bounds(index - 1).1 + 1,
                "bucket {index} starts where {} ends",
                index - 1
            );
        }
    }

    proptest! {
        #[test]
        fn a_value_lies_in_its_bucket_whose_width_is_at_most_an_eighth_of_it(value: u64) {
            let (low, high) = bounds(bucket_of(value));
            prop_assert!(low <= value && value <= high);
            prop_assert!((high - low) <= low / 8, "bucket {low}..={high}");
        }
    }

    #[test]
    fn percentiles_come_from_the_recorded_distribution() {
        let mut histogram = Histogram::<()>::new();
        assert_eq!(histogram.percentile_stats(), PercentileStats::default());
        for value in 1..=1000 {
            histogram.record(value);
        }
        let stats = histogram.percentile_stats();
        assert_eq!(stats.samples, 1000);
        assert_eq!(stats.p0_1, 1);
        for (got, exact) in [
            (stats.p50, 500),
            (stats.p90, 900),
            (stats.p99, 990),
            (stats.p99_9, 999),
        ] {
            assert!(got.abs_diff(exact) <= exact / 16, "{got} for {exact}");
        }
    }

    #[test]
    fn recording_n_times_counts_as_n_records() {
        let mut once = Histogram::<()>::new();
        once.record_n(300, 3);
        once.record_n(5, 0);
        let mut each = Histogram::<()>::new();
        for _ in 0..3 {
            each.record(300);
        }
        assert_eq!(once, each);
        assert_eq!(once.total(), 3);
    }

    #[test]
    fn an_unused_histogram_holds_no_buckets() {
        let histogram = Histogram::<()>::new();
        assert_eq!(histogram.counts.capacity(), 0);
        assert_eq!(histogram.filled_buckets().count(), 0);
    }
}
