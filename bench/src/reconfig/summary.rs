//! The rounds of each flavour as the lines of a timings table: one line per measurement, its median and
//! maximum over the rounds, and notes on rounds that failed or whose reconfig was refused before it was
//! accepted.

use std::time::Duration;

use crate::launch::Flavour;
use crate::reconfig::error::ReconfigError;
use crate::reconfig::round::RoundTimings;
use crate::report::{Pair, TimingRow, note_line};
use crate::stats::Spread;

/// What the rounds on one flavour gave.
#[derive(Debug, Clone, Default)]
pub struct Rounds {
    /// The rounds that completed.
    pub done: Vec<RoundTimings>,
    /// Failed rounds and refused reconfigs: (round number, what happened).
    pub notes: Vec<(usize, String)>,
}

impl Rounds {
    /// Records completed round `repetition`, noting any reconfig sent more than once.
    pub fn record(&mut self, repetition: usize, timings: RoundTimings) {
        for (step, add) in timings.adds.iter().enumerate() {
            if add.retries > 0 {
                self.notes.push((
                    repetition,
                    format!(
                        "add {} refused {} time(s) as premature (NewConfigNoQuorum or ReconfigInProgress) before \
                         it was accepted; timed from the accepted attempt",
                        growth(step),
                        add.retries
                    ),
                ));
            }
        }
        if let (count @ 1.., first) = &timings.failed_writes {
            self.notes.push((
                repetition,
                format!(
                    "{count} write(s) or reconnection(s) failed while the leader was removed; the first {}",
                    first.as_deref().unwrap_or("?")
                ),
            ));
        }
        for (label, value) in measurements(&timings) {
            if value.is_none() {
                self.notes.push((
                    repetition,
                    format!(
                        "{label}: none, the connection was closed before the reply came (the change was then \
                         found in the committed configuration)"
                    ),
                ));
            }
        }
        self.done.push(timings);
    }

    /// Records that round `repetition` failed.
    pub fn fail(&mut self, repetition: usize, error: ReconfigError) {
        self.notes.push((repetition, format!("failed: {error}")));
    }
}

/// `k→k+1` for the add of step `step` (from 0: member 2 joining member 1).
fn growth(step: usize) -> String {
    format!("{}→{}", step + 1, step + 2)
}

/// Every measurement of one round, labelled, in table order; `None` where a reply was lost.
pub fn measurements(round: &RoundTimings) -> Vec<(String, Option<Duration>)> {
    let size = round.adds.len() + 1;
    let mut out = Vec::new();
    for (step, add) in round.adds.iter().enumerate() {
        out.push((format!("add {}: reply", growth(step)), add.reply));
        out.push((format!("add {}: voting", growth(step)), Some(add.voting)));
    }
    out.push((
        format!("remove follower {size}→{}: reply", size - 1),
        round.remove_follower,
    ));
    let leader = format!("remove leader {}→{}", size - 1, size - 2);
    out.push((format!("{leader}: reply"), round.remove_leader));
    out.push((
        format!("{leader}: first write ack after send"),
        Some(round.gap.first_ack),
    ));
    out.push((
        format!("{leader}: longest write pause"),
        Some(round.gap.longest_pause),
    ));
    out
}

/// The table lines of `apache` and `ours` (either may not have run).
pub fn rows(apache: Option<&Rounds>, ours: Option<&Rounds>) -> Vec<TimingRow> {
    let labels: Vec<String> = [apache, ours]
        .into_iter()
        .flatten()
        .find_map(|r| r.done.first())
        .map(|round| measurements(round).into_iter().map(|(l, _)| l).collect())
        .unwrap_or_default();
    labels
        .iter()
        .enumerate()
        .map(|(index, label)| TimingRow {
            label: label.clone(),
            spread: Pair {
                apache: apache.map(|r| spread_of(r, index)),
                ours: ours.map(|r| spread_of(r, index)),
            },
        })
        .collect()
}

/// The spread of measurement `index` over the completed rounds.
fn spread_of(rounds: &Rounds, index: usize) -> Result<Spread, String> {
    let samples = rounds
        .done
        .iter()
        .filter_map(|r| measurements(r).get(index).and_then(|&(_, d)| d))
        .collect();
    Spread::of(samples).ok_or_else(|| "no round measured it".to_owned())
}

/// The notes of both flavours, one line each.
pub fn notes(apache: Option<&Rounds>, ours: Option<&Rounds>) -> String {
    [(Flavour::Apache, apache), (Flavour::Ours, ours)]
        .into_iter()
        .filter_map(|(flavour, rounds)| rounds.map(|r| (flavour, r)))
        .flat_map(|(flavour, rounds)| {
            rounds
                .notes
                .iter()
                .map(move |(n, why)| note_line(flavour, &format!("round {n}"), why))
        })
        .collect()
}
