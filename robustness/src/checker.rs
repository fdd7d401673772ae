//! The linearizability checker: the Go program in `checker/`, built on Porcupine, run on a [`History`].
//!
//! [`Checker::build`] builds the program with `go build` once per process and output directory;
//! [`Checker::check`] writes the history as JSON, runs the program on it and reads its verdict, one line
//! of JSON:
//!
//! ```json
//! {"linearizable":false,"result":"illegal","operations":1200,"keys":3,"unknown":4}
//! ```
//!
//! `result` is `ok`, `illegal` or `unknown` (the check timed out); `unknown` counts the operations of
//! unknown outcome. The program's exit status is 0, 1 or 2 for these, and 2 with no verdict for a history
//! it refuses. `checker/main.go` says more, `checker/model.go` and `checker/pending.go` how a history is
//! judged.
//!
//! Each check runs in a directory of its own under the output directory's `reports/`: removed when the
//! history is linearizable, kept when it is not (or the check timed out), with the history and, for a
//! violation, Porcupine's HTML visualization of the check, so that a failing test can name them.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::history::History;

/// The checker's Go module.
const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checker");
/// The name of the checker's binary in the output directory.
const BINARY_NAME: &str = "zk-linearizability-checker";
/// The history's file in a check's directory.
const HISTORY_FILE: &str = "history.json";
/// The visualization's file in a check's directory.
const VISUALIZATION_FILE: &str = "visualization.html";
/// How long a check may take before its verdict is [`Outcome::Unknown`], unless [`Checker::with_timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The binaries built by this process, by output directory: each is built once, however many tasks ask.
static BUILDS: Mutex<BTreeMap<PathBuf, Arc<OnceCell<PathBuf>>>> = Mutex::new(BTreeMap::new());

/// What can go wrong building or running the checker. A history that is not linearizable is no error:
/// it is a [`Verdict`].
#[derive(Debug, thiserror::Error)]
pub enum CheckerError {
    /// A program could not be started (for `go`: is Go installed and on `PATH`?).
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `go build` failed.
    #[error("go build of the checker failed ({status}): {stderr}")]
    Build {
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A file or directory of the checker could not be written or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The history could not be serialized.
    #[error("serializing the history: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The checker gave no verdict: it refused the history or failed.
    #[error("the checker gave no verdict ({status}): {stderr}")]
    NoVerdict {
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on standard error.
        stderr: String,
    },
    /// The checker's verdict line could not be read.
    #[error("the checker's verdict {line:?} cannot be read: {source}")]
    BadVerdict {
        /// The line.
        line: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// The built checker, ready to check histories.
#[derive(Debug, Clone)]
pub struct Checker {
    binary: PathBuf,
    reports: PathBuf,
    timeout: Duration,
}

/// What the checker concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Outcome {
    /// The history is linearizable.
    #[serde(rename = "ok")]
    Linearizable,
    /// The history is not linearizable: a violation was found.
    #[serde(rename = "illegal")]
    Violation,
    /// The check timed out before it could decide.
    #[serde(rename = "unknown")]
    Unknown,
}

/// The checker's verdict on a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What the checker concluded.
    pub outcome: Outcome,
    /// How many operations the history has.
    pub operations: usize,
    /// How many registers the operations touch.
    pub keys: usize,
    /// How many operations have an unknown outcome.
    pub unknown: usize,
    /// Where the history and its visualization are kept: `None` when the history is linearizable.
    pub report: Option<Report>,
}

/// The files kept for a history that is not linearizable or could not be checked in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The history, in its JSON form (the checker's input: `zk-linearizability-checker history.json`
    /// runs the check again).
    pub history: PathBuf,
    /// For a violation, Porcupine's HTML visualization of the check: the longest partial linearizations
    /// and where they fail. `None` for a check that timed out: it is not run again to be drawn.
    pub visualization: Option<PathBuf>,
}

/// The checker's verdict line.
#[derive(Deserialize)]
struct Line {
    result: Outcome,
    operations: usize,
    keys: usize,
    unknown: usize,
}

impl Checker {
    /// Builds the checker into `dir` (created if need be) with `go build`, unless this process already
    /// did. Checks keep their reports in `dir/reports`.
    pub async fn build(dir: impl AsRef<Path>) -> Result<Checker, CheckerError> {
        let dir = dir.as_ref().to_path_buf();
        let cell = BUILDS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(dir.clone())
            .or_default()
            .clone();
        let binary = cell.get_or_try_init(|| go_build(&dir)).await?.clone();
        let reports = dir.join("reports");
        tokio::fs::create_dir_all(&reports)
            .await
            .map_err(|source| CheckerError::Io {
                path: reports.clone(),
                source,
            })?;
        Ok(Checker {
            binary,
            reports,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same checker, giving up on a history after `timeout` ([`Outcome::Unknown`]); zero for never.
    pub fn with_timeout(self, timeout: Duration) -> Checker {
        Checker { timeout, ..self }
    }

    /// The checker's binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Checks `history` for linearizability.
    pub async fn check(&self, history: &History) -> Result<Verdict, CheckerError> {
        let dir = tempfile::Builder::new()
            .prefix("check-")
            .tempdir_in(&self.reports)
            .map_err(|source| CheckerError::Io {
                path: self.reports.clone(),
                source,
            })?;
        let history_file = dir.path().join(HISTORY_FILE);
        let json = serde_json::to_vec(history).map_err(CheckerError::Serialize)?;
        tokio::fs::write(&history_file, json)
            .await
            .map_err(|source| CheckerError::Io {
                path: history_file.clone(),
                source,
            })?;
        let line = self.run(&history_file, None).await?;
        let report = match line.result {
            Outcome::Linearizable => None,
            Outcome::Violation => {
                // Drawing the check costs more than the check: done only once a violation is found.
                let visualization = dir.path().join(VISUALIZATION_FILE);
                self.run(&history_file, Some(&visualization)).await?;
                Some(Report {
                    history: history_file,
                    visualization: Some(visualization),
                })
            }
            Outcome::Unknown => Some(Report {
                history: history_file,
                visualization: None,
            }),
        };
        if report.is_some() {
            let _kept: PathBuf = dir.keep();
        }
        Ok(Verdict {
            outcome: line.result,
            operations: line.operations,
            keys: line.keys,
            unknown: line.unknown,
            report,
        })
    }

    /// Runs the checker on the history in `history_file`, writing the visualization to `visualization`
    /// if given, and reads its verdict.
    async fn run(
        &self,
        history_file: &Path,
        visualization: Option<&Path>,
    ) -> Result<Line, CheckerError> {
        let mut command = Command::new(&self.binary);
        command
            .arg("-timeout")
            .arg(format!("{}ms", self.timeout.as_millis()));
        if let Some(visualization) = visualization {
            command.arg("-visualize").arg(visualization);
        }
        let output = command
            .arg(history_file)
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| CheckerError::Spawn {
                program: self.binary.display().to_string(),
                source,
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(line) = stdout.lines().rfind(|line| !line.trim().is_empty()) else {
            return Err(CheckerError::NoVerdict {
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        };
        serde_json::from_str(line).map_err(|source| CheckerError::BadVerdict {
            line: line.to_owned(),
            source,
        })
    }
}

impl Verdict {
    /// Whether the history is linearizable.
    pub fn is_linearizable(&self) -> bool {
        self.outcome == Outcome::Linearizable
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Linearizable => "linearizable",
            Outcome::Violation => "NOT linearizable",
            Outcome::Unknown => "not checked in time",
        };
        write!(
            f,
            "{outcome}: {} operations on {} registers, {} of unknown outcome",
            self.operations, self.keys, self.unknown
        )?;
        if let Some(report) = &self.report {
            if let Some(visualization) = &report.visualization {
                write!(f, "; visualization {}", visualization.display())?;
            }
            write!(f, "; history {}", report.history.display())?;
        }
        Ok(())
    }
}

/// Builds the checker into `dir` and returns the binary's path. The binary is built under a name of this
/// process's and then renamed, so that another process building into the same directory at the same time
/// cannot leave a half-written binary.
async fn go_build(dir: &Path) -> Result<PathBuf, CheckerError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|source| CheckerError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    let binary = dir.join(BINARY_NAME);
    let building = dir.join(format!(".{BINARY_NAME}.{}", std::process::id()));
    let output = Command::new("go")
        .args(["build", "-buildvcs=false", "-o"])
        .arg(&building)
        .arg(".")
        .current_dir(SOURCE_DIR)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| CheckerError::Spawn {
            program: "go".to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(CheckerError::Build {
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    tokio::fs::rename(&building, &binary)
        .await
        .map_err(|source| CheckerError::Io {
            path: binary.clone(),
            source,
        })?;
    Ok(binary)
}
