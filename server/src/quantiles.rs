//! Quantiles of the values recorded in the last ten minutes, as Apache ZooKeeper's Prometheus
//! provider estimates them for its summaries (a sliding window of 600 s turned over in 5 steps).
//!
//! The estimator is a log-linear histogram of atomic counters (the layout of HdrHistogram with
//! 32 sub-buckets per power of two): values below 64 are counted exactly, larger ones in buckets
//! at most 1/32 of their value wide, so a quantile read back is within 1/64 (1.6 %) of the value
//! of that rank. It is kept here rather than taken from a crate because recording must take no
//! lock and the window must turn over without a writer-side handle: `hdrhistogram`'s `Histogram`
//! needs `&mut` to record (its `SyncHistogram` funnels recorders through a channel and a
//! refresh), and a sorted sample needs a lock. The window is five slots of two minutes, each a
//! full histogram stamped with its period: recording adds one to a counter of the current slot,
//! and the first value of a new period zeroes the slot it reuses. A value recorded in the instant
//! a slot is being zeroed may be lost, a bounded error once per two minutes.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

/// How long a slot collects values.
const PERIOD: Duration = Duration::from_secs(120);
/// Slots in the window: quantiles cover the last 8 to 10 minutes, as Apache's (simpleclient's
/// default `maxAgeSeconds` 600 with 5 `ageBuckets`).
const SLOTS: usize = 5;
/// Sub-buckets per power of two, as a power of two: buckets are at most 1/32 of their values wide.
const SUB_BITS: u32 = 5;
const SUB_BUCKETS: u64 = 1 << SUB_BITS;
/// Values below this are counted one bucket each.
const EXACT: u64 = 2 * SUB_BUCKETS;
/// Buckets for the whole `u64` range: the exact ones, then 32 for each power of two from 64 up.
const BUCKETS: usize =
    EXACT as usize + (64 - EXACT.trailing_zeros() as usize) * SUB_BUCKETS as usize;

/// Quantiles of the values of the last ten minutes; recording is lock-free.
#[derive(Debug)]
pub struct RecentQuantiles {
    /// Periods are counted from here.
    start: Instant,
    slots: [Slot; SLOTS],
}

/// One period's histogram.
struct Slot {
    /// The period counted here, plus one (0: none yet).
    stamp: AtomicU64,
    counts: Box<[AtomicU64]>,
}

/// A slot's stamp and number of values, not its 1,920 counters.
impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values: u64 = self.counts.iter().map(|c| c.load(Relaxed)).sum();
        f.debug_struct("Slot")
            .field("stamp", &self.stamp.load(Relaxed))
            .field("values", &values)
            .finish()
    }
}

/// The quantiles the reports print, of the values in the window; `None` when it holds none.
/// Prometheus summaries show 0.5, 0.9 and 0.99, `mntr` shows p50, p95, p99 and p999.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// The median.
    pub p50: Option<u64>,
    /// The 90th percentile.
    pub p90: Option<u64>,
    /// The 95th percentile.
    pub p95: Option<u64>,
    /// The 99th percentile.
    pub p99: Option<u64>,
    /// The 99.9th percentile.
    pub p999: Option<u64>,
}

impl Default for RecentQuantiles {
    fn default() -> RecentQuantiles {
        RecentQuantiles {
            start: Instant::now(),
            slots: std::array::from_fn(|_| Slot {
                stamp: AtomicU64::new(0),
                counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            }),
        }
    }
}

impl RecentQuantiles {
    /// Records one value.
    pub fn record(&self, value: u64) {
        self.record_in(self.period(), value);
    }

    /// The quantiles of the values recorded in the window.
    pub fn percentiles(&self) -> Percentiles {
        self.percentiles_in(self.period())
    }

    /// Forgets every value.
    pub fn reset(&self) {
        for slot in &self.slots {
            for count in &slot.counts {
                count.store(0, Relaxed);
            }
            slot.stamp.store(0, Release);
        }
    }

    fn period(&self) -> u64 {
        self.start.elapsed().as_secs() / PERIOD.as_secs()
    }

    fn record_in(&self, period: u64, value: u64) {
        let slot = &self.slots[period as usize % SLOTS];
        let stamp = period + 1;
        let seen = slot.stamp.load(Acquire);
        if seen > stamp {
            // A period of the past that a slow caller measured: out of the window already.
            return;
        }
        // A slot never used (or reset) holds no count: only a slot of an older period is zeroed.
        if seen < stamp
            && slot
                .stamp
                .compare_exchange(seen, stamp, AcqRel, Acquire)
                .is_ok()
            && seen != 0
        {
            for count in &slot.counts {
                count.store(0, Relaxed);
            }
        }
        slot.counts[bucket(value)].fetch_add(1, Relaxed);
    }

    fn percentiles_in(&self, period: u64) -> Percentiles {
        let mut counts = vec![0u64; BUCKETS];
        for slot in &self.slots {
            let stamp = slot.stamp.load(Acquire);
            if stamp == 0 || stamp > period + 1 || stamp + SLOTS as u64 <= period + 1 {
                continue;
            }
            for (sum, count) in counts.iter_mut().zip(slot.counts.iter()) {
                *sum += count.load(Relaxed);
            }
        }
        let quantile = |q: f64| quantile(&counts, q);
        Percentiles {
            p50: quantile(0.5),
            p90: quantile(0.9),
            p95: quantile(0.95),
            p99: quantile(0.99),
            p999: quantile(0.999),
        }
    }
}

/// The value of rank ⌈q·n⌉ (at least 1) among the `n` values `counts` holds, as its bucket's
/// middle; `None` when there are none.
fn quantile(counts: &[u64], q: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    counts.iter().enumerate().find_map(|(index, count)| {
        seen += count;
        (seen >= rank).then(|| middle(index))
    })
}

/// The bucket counting `value`.
fn bucket(value: u64) -> usize {
    if value < EXACT {
        return value as usize;
    }
    let power = 63 - value.leading_zeros();
    let sub = (value >> (power - SUB_BITS)) - SUB_BUCKETS;
    (EXACT + u64::from(power - EXACT.trailing_zeros()) * SUB_BUCKETS + sub) as usize
}

/// The middle value of bucket `index` (rounded down).
fn middle(index: usize) -> u64 {
    let index = index as u64;
    if index < EXACT {
        return index;
    }
    let above = index - EXACT;
    let power = EXACT.trailing_zeros() as u64 + above / SUB_BUCKETS;
    let shift = power - u64::from(SUB_BITS);
    let low = (SUB_BUCKETS + above % SUB_BUCKETS) << shift;
    low + ((1u64 << shift) - 1) / 2
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// The value of rank ⌈q·n⌉ among `sorted`.
    fn exact(sorted: &[u64], q: f64) -> u64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    fn assert_close(estimate: Option<u64>, truth: u64, what: &str) {
        let estimate = estimate.unwrap_or_else(|| panic!("{what}: no estimate"));
        let error = estimate.abs_diff(truth) as f64;
        assert!(
            error <= truth as f64 / 64.0,
            "{what}: estimated {estimate}, exact {truth}"
        );
    }

    fn check_distribution(values: Vec<u64>, name: &str) {
        let quantiles = RecentQuantiles::default();
        for &value in &values {
            quantiles.record_in(0, value);
        }
        let mut sorted = values;
        sorted.sort_unstable();
        let p = quantiles.percentiles_in(0);
        for (estimate, q) in [
            (p.p50, 0.5),
            (p.p90, 0.9),
            (p.p95, 0.95),
            (p.p99, 0.99),
            (p.p999, 0.999),
        ] {
            assert_close(estimate, exact(&sorted, q), &format!("{name} q={q}"));
        }
    }

    #[test]
    fn every_bucket_holds_the_values_around_its_middle() {
        let mut value = 0u64;
        loop {
            let index = bucket(value);
            assert!(index < BUCKETS, "{value} → {index}");
            let middle = middle(index);
            assert_eq!(bucket(middle), index, "{value}: middle {middle}");
            assert!(
                middle.abs_diff(value) as f64 <= value as f64 / 64.0,
                "{value} → {middle}"
            );
            match value.checked_add(value / 16 + 1) {
                Some(next) => value = next,
                None => break,
            }
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert!(bucket(63) < bucket(64) && bucket(64) < bucket(66));
    }

    #[test]
    fn small_values_are_counted_exactly() {
        check_distribution((0..EXACT).collect(), "0..64");
        let quantiles = RecentQuantiles::default();
        for value in [3, 3, 3, 7] {
            quantiles.record_in(0, value);
        }
        let p = quantiles.percentiles_in(0);
        assert_eq!((p.p50, p.p99), (Some(3), Some(7)));
    }

    #[test]
    fn uniform_exponential_and_bimodal_samples_are_within_one_sixty_fourth() {
        let mut rng = StdRng::seed_from_u64(12);
        check_distribution((1..=100_000).collect(), "uniform 1..=100000");
        let exponential = (0..50_000)
            .map(|_| (-(1.0 - rng.random::<f64>()).ln() * 2_000.0) as u64)
            .collect();
        check_distribution(exponential, "exponential, mean 2000");
        // Mostly fast answers, one in fifty slow: the tail quantiles land in the slow mode.
        let bimodal = (0..20_000)
            .map(|i| match i % 50 {
                0 => rng.random_range(900..1_100),
                _ => rng.random_range(1..5),
            })
            .collect();
        check_distribution(bimodal, "bimodal");
    }

    #[test]
    fn the_window_keeps_the_last_five_periods() {
        let quantiles = RecentQuantiles::default();
        assert_eq!(quantiles.percentiles_in(0), Percentiles::default());
        quantiles.record_in(0, 1_000);
        for period in 1..5 {
            quantiles.record_in(period, 10);
        }
        // Periods 0 to 4 are in the window of period 4: one value in five is 1000.
        let p = quantiles.percentiles_in(4);
        assert_eq!((p.p50, p.p90), (Some(10), Some(middle(bucket(1_000)))));
        // At period 5 the slot of period 0 has aged out, before any value reuses it.
        assert_eq!(quantiles.percentiles_in(5).p999, Some(10));
        // A value of period 5 reuses that slot and starts it afresh.
        quantiles.record_in(5, 20);
        let p = quantiles.percentiles_in(5);
        assert_eq!((p.p50, p.p999), (Some(10), Some(20)));
        // Long after, nothing is left; a late value of a past period is dropped.
        assert_eq!(quantiles.percentiles_in(20), Percentiles::default());
        quantiles.record_in(0, 5);
        assert_eq!(quantiles.percentiles_in(5).p50, Some(10));
    }

    #[test]
    fn reset_forgets_every_value() {
        let quantiles = RecentQuantiles::default();
        quantiles.record(4);
        assert_eq!(quantiles.percentiles().p50, Some(4));
        quantiles.reset();
        assert_eq!(quantiles.percentiles(), Percentiles::default());
    }

    #[test]
    fn concurrent_recorders_lose_no_value_within_a_period() {
        let quantiles = RecentQuantiles::default();
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                let quantiles = &quantiles;
                scope.spawn(move || {
                    for value in 0..10_000 {
                        quantiles.record_in(0, thread * 10_000 + value);
                    }
                });
            }
        });
        let counts: u64 = quantiles.slots[0]
            .counts
            .iter()
            .map(|c| c.load(Relaxed))
            .sum();
        assert_eq!(counts, 40_000);
        assert_close(
            quantiles.percentiles_in(0).p50,
            20_000,
            "median of 0..40000",
        );
    }
}
