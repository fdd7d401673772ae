//! Log-linear histograms with the API openraft 0.10 uses for its runtime statistics.
//!
//! A value falls in a bucket named by its power of two and the next [`SUB_BUCKET_BITS`] bits below its
//! highest set bit, so a bucket's width is at most 1/8 of its lower bound; values below 8 have a bucket
//! each. The index is computed from the value's bits: no table is built, and a histogram holds no
//! bucket array until its first value (openraft creates fifteen at start and fills few of them).

mod ascii_chart;
mod histogram;
mod percentile_stats;

pub use ascii_chart::{AsciiChart, DetailedDisplay};
pub use histogram::Histogram;
pub use percentile_stats::PercentileStats;

/// Bits below a value's highest set bit that name its bucket within its power of two.
pub const SUB_BUCKET_BITS: u32 = 3;
