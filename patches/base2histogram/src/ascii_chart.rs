//! Named histograms drawn as text bars, one line per filled bucket.

use std::fmt;

use crate::histogram::Histogram;

/// The widest bar, in characters.
const BAR_WIDTH: u64 = 40;

/// Histograms to draw together, each under its name.
#[derive(Debug, Clone)]
pub struct AsciiChart<T = ()> {
    series: Vec<(String, Histogram<T>)>,
}

impl<T> AsciiChart<T> {
    /// A chart of no histogram.
    pub fn new() -> Self {
        Self { series: Vec::new() }
    }

    /// The chart with `histogram` added under `name`.
    pub fn add(mut self, name: &str, histogram: Histogram<T>) -> Self {
        self.series.push((name.to_owned(), histogram));
        self
    }

    /// Every histogram's filled buckets, a bar each, scaled to the histogram's fullest bucket.
    pub fn detailed(&self) -> DetailedDisplay<'_, T> {
        DetailedDisplay { chart: self }
    }
}

impl<T> Default for AsciiChart<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The text of [`AsciiChart::detailed`].
pub struct DetailedDisplay<'a, T> {
    chart: &'a AsciiChart<T>,
}

impl<T> fmt::Display for DetailedDisplay<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, histogram) in &self.chart.series {
            writeln!(f, "{name} (n={})", histogram.total())?;
            let fullest = histogram
                .filled_buckets()
                .map(|(_, _, count)| count)
                .max()
                .unwrap_or(0);
            for (low, high, count) in histogram.filled_buckets() {
                let bar = "#".repeat((count * BAR_WIDTH).div_ceil(fullest) as usize);
                writeln!(f, "  {low:>10}..={high:<10} {count:>10} {bar}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filled_bucket_is_a_bar_scaled_to_the_fullest() {
        let mut latencies = Histogram::<()>::new();
        latencies.record_n(3, 4);
        latencies.record_n(100, 2);
        let text = AsciiChart::new()
            .add("latency", latencies)
            .add("empty", Histogram::new())
            .detailed()
            .to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "latency (n=6)");
        assert!(
            lines[1].trim_start().starts_with("3..=3") && lines[1].ends_with(&"#".repeat(40)),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].trim_start().starts_with("96..=103")
                && lines[2].ends_with(&format!(" {}", "#".repeat(20))),
            "{}",
            lines[2]
        );
        assert_eq!(lines[3], "empty (n=0)");
        assert_eq!(lines.len(), 4);
    }
}
