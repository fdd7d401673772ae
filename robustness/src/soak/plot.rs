//! The soak's samples drawn as a PNG: one panel per figure over time (per member where members differ),
//! with plotters' bitmap backend and a font compiled in (DejaVu Sans), so no system font is needed.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::sample::{MemberSample, Sample};

/// The image's size, pixels.
const SIZE: (u32, u32) = (1600, 1000);
/// The font family the panels use, registered from the compiled-in font.
const FONT: &str = "sans-serif";

/// Why the plot could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("plot {path}: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

/// One panel: its title and the value drawn for a member, or for the whole sample.
struct Panel {
    title: &'static str,
    value: Value,
}

enum Value {
    /// One line per member.
    PerMember(fn(&MemberSample) -> f64),
    /// One line.
    Whole(fn(&Sample) -> Option<f64>),
}

/// The panels, in reading order.
fn panels() -> Vec<Panel> {
    vec![
        Panel {
            title: "RSS (MiB) per member",
            value: Value::PerMember(|m| m.rss_bytes as f64 / 1048576.0),
        },
        Panel {
            title: "open fds per member",
            value: Value::PerMember(|m| m.fds as f64),
        },
        Panel {
            title: "watches per member",
            value: Value::PerMember(|m| m.watches as f64),
        },
        Panel {
            title: "sessions (global)",
            value: Value::Whole(|s| s.members.iter().map(|m| m.sessions as f64).reduce(f64::max)),
        },
        Panel {
            title: "ephemerals",
            value: Value::Whole(|s| {
                s.members
                    .iter()
                    .map(|m| m.ephemerals as f64)
                    .reduce(f64::max)
            }),
        },
        Panel {
            title: "znodes",
            value: Value::Whole(|s| s.members.iter().map(|m| m.znodes as f64).reduce(f64::max)),
        },
        Panel {
            title: "log disk (MiB) per member",
            value: Value::PerMember(|m| m.log_bytes as f64 / 1048576.0),
        },
        Panel {
            title: "snapshot disk (MiB) per member",
            value: Value::PerMember(|m| m.snapshot_bytes as f64 / 1048576.0),
        },
        Panel {
            title: "load p99 latency (ms)",
            value: Value::Whole(|s| s.p99_ms),
        },
    ]
}

/// Draws `samples` into the PNG `path`, with `title` above the panels.
pub fn draw(samples: &[Sample], title: &str, path: &Path) -> Result<(), PlotError> {
    let error = |message: String| PlotError {
        path: path.display().to_string(),
        message,
    };
    // Registering twice only replaces the font.
    register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| error("the compiled-in font does not load".to_owned()))?;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| error(e.to_string()))?;
    let root = root
        .titled(title, (FONT, 26))
        .map_err(|e| error(e.to_string()))?;
    let end = samples
        .last()
        .map_or(1.0, |s| s.at_secs / 60.0)
        .max(1.0 / 6.0);
    let members: Vec<usize> = {
        let mut ids: Vec<usize> = samples
            .iter()
            .flat_map(|s| s.members.iter().map(|m| m.member))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    for (area, panel) in root.split_evenly((3, 3)).iter().zip(panels()) {
        let lines: Vec<(String, Vec<(f64, f64)>)> = match panel.value {
            Value::PerMember(value) => members
                .iter()
                .map(|&id| {
                    let points = samples
                        .iter()
                        .filter_map(|s| {
                            let m = s.members.iter().find(|m| m.member == id)?;
                            Some((s.at_secs / 60.0, value(m)))
                        })
                        .collect();
                    (format!("member {id}"), points)
                })
                .collect(),
            Value::Whole(value) => vec![(
                String::new(),
                samples
                    .iter()
                    .filter_map(|s| Some((s.at_secs / 60.0, value(s)?)))
                    .collect(),
            )],
        };
        let top = lines
            .iter()
            .flat_map(|(_, points)| points.iter().map(|p| p.1))
            .fold(1.0, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, (FONT, 18))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..end, 0.0..top)
            .map_err(|e| error(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("minutes")
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| error(e.to_string()))?;
        for (index, (label, points)) in lines.into_iter().enumerate() {
            let colour = Palette99::pick(index).to_rgba();
            let series = chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| error(e.to_string()))?;
            if !label.is_empty() {
                series
                    .label(label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            }
        }
        if members.len() > 1 && matches!(panel.value, Value::PerMember(_)) {
            chart
                .configure_series_labels()
                .label_font((FONT, 11))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| error(e.to_string()))?;
        }
    }
    root.present().map_err(|e| error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::sample::Phase;

    #[test]
    fn draws_a_png() {
        let member = |id, rss| MemberSample {
            member: id,
            rss_bytes: rss << 20,
            fds: 100,
            watches: 50,
            sessions: 200,
            znodes: 500,
            ephemerals: 300,
            log_bytes: 1 << 20,
            snapshot_bytes: 2 << 20,
            largest_snapshot: 1 << 20,
        };
        let samples: Vec<Sample> = (0..30u64)
            .map(|i| Sample {
                at_secs: i as f64 * 10.0,
                phase: Phase::Load,
                members: vec![member(1, 40 + i), member(2, 30)],
                p99_ms: Some(3.0),
                ops: 100,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("soak.png");
        draw(&samples, "soak", &path).unwrap();
        let png = std::fs::read(&path).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 10_000, "{}", png.len());
    }
}
