//! A soak test of an ensemble on this machine: hours (or what fits) of churning sessions, watches and
//! ephemerals, with reconfigs and leader kills, to find what grows when it should not.
//!
//! - [`load`]: the sessions and what they do;
//! - [`nemesis`]: the reconfigs (3 → 5 → 3) and leader kills, on a schedule;
//! - [`segment`]: the history cut into segments with registers of their own, each checked alone;
//! - [`sample`]: what is recorded about each member every few seconds;
//! - [`summary`]: growth between the first and last windows, and the goals' verdicts;
//! - [`plot`]: the samples as a PNG;
//! - [`report`]: the CSV, the PNG and the summary written out, and into the docs;
//! - [`run`]: one run, start to drain.

pub mod load;
pub mod nemesis;
pub mod plot;
pub mod report;
pub mod run;
pub mod sample;
pub mod segment;
pub mod summary;
