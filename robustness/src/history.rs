//! A history: every operation the clients invoked on the registers under test, when it was invoked, when
//! its answer came back and what the answer was. A register is one znode whose data is a decimal number;
//! its state is that number and the znode's data version.
//!
//! Operations whose outcome the client could not learn (the connection was lost, the session expired, the
//! call timed out) are recorded with [`Output::Unknown`] and no return time: they may or may not have taken
//! effect, at any moment after they were invoked. That is what makes a history of a faulty run checkable.
//!
//! The JSON form of [`History`] is what the checker in `checker/` reads.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The state of one register: a znode's data, read as a number, and its data version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    /// The znode's data.
    pub value: i64,
    /// The znode's data version (`Stat.version`).
    pub version: i32,
}

/// What a client asked of a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Input {
    /// `sync` then `getData`: ZooKeeper's linearizable read (a plain read may be stale on a follower).
    Read,
    /// `setData` with version -1.
    Write {
        /// The new data.
        value: i64,
    },
    /// `setData` with an expected version: compare-and-set.
    Cas {
        /// The new data.
        value: i64,
        /// The version the register must have.
        expected_version: i32,
    },
}

/// What the client saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Output {
    /// A read's answer.
    Read {
        /// The data read.
        value: i64,
        /// The data version read.
        version: i32,
    },
    /// A write or compare-and-set succeeded; the version the register has now.
    Written {
        /// `Stat.version` of the reply.
        version: i32,
    },
    /// A compare-and-set was refused: the register's version was not the expected one.
    BadVersion,
    /// No answer the client could trust: the operation may or may not have taken effect.
    Unknown,
}

/// One operation of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Which client (each client runs one operation at a time).
    pub client: u32,
    /// The register's path.
    pub key: String,
    /// What was asked.
    pub input: Input,
    /// What was seen.
    pub output: Output,
    /// When it was invoked, in nanoseconds since the history began.
    pub call: u64,
    /// When its answer came back; `None` when the outcome is unknown.
    #[serde(rename = "return")]
    pub ret: Option<u64>,
}

/// A whole history: the registers' states before the first operation, and the operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Each register's state when the history began.
    pub initial: BTreeMap<String, Register>,
    /// The operations, in the order they were invoked.
    pub operations: Vec<Operation>,
}

impl History {
    /// How many operations ended with each kind of answer: (succeeded or refused, unknown).
    pub fn outcome_counts(&self) -> (usize, usize) {
        let unknown = self
            .operations
            .iter()
            .filter(|op| op.output == Output::Unknown)
            .count();
        (self.operations.len() - unknown, unknown)
    }

    /// When the first write or compare-and-set invoked at or after `since` was acknowledged, if one was.
    pub fn first_write_acknowledged_after(&self, since: u64) -> Option<u64> {
        self.operations
            .iter()
            .filter(|op| op.call >= since && matches!(op.output, Output::Written { .. }))
            .filter_map(|op| op.ret)
            .min()
    }
}

/// Records a history from many client tasks at once: one clock, one list.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    history: Arc<Mutex<History>>,
}

/// An operation invoked and not yet answered; [`Pending::complete`] records it.
#[derive(Debug)]
#[must_use = "an invoked operation is recorded when it is completed"]
pub struct Pending {
    recorder: Recorder,
    client: u32,
    key: String,
    input: Input,
    call: u64,
}

impl Recorder {
    /// A history whose registers start in the states `initial`.
    pub fn new(initial: BTreeMap<String, Register>) -> Self {
        Recorder {
            start: Instant::now(),
            history: Arc::new(Mutex::new(History {
                initial,
                operations: Vec::new(),
            })),
        }
    }

    /// The history's clock: nanoseconds since it began.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Notes that `client` invokes `input` on `key`, now.
    pub fn invoke(&self, client: u32, key: &str, input: Input) -> Pending {
        Pending {
            recorder: self.clone(),
            client,
            key: key.to_owned(),
            input,
            call: self.now(),
        }
    }

    /// The history recorded so far.
    pub fn history(&self) -> History {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Pending {
    /// Records the operation with the answer `output`, received now.
    pub fn complete(self, output: Output) {
        let ret = (output != Output::Unknown).then(|| self.recorder.now());
        let operation = Operation {
            client: self.client,
            key: self.key,
            input: self.input,
            output,
            call: self.call,
            ret,
        };
        self.recorder
            .history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .operations
            .push(operation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_is_what_the_checker_reads() {
        let recorder = Recorder::new(BTreeMap::from([(
            "/r0".to_owned(),
            Register {
                value: 0,
                version: 0,
            },
        )]));
        recorder
            .invoke(1, "/r0", Input::Write { value: 7 })
            .complete(Output::Written { version: 1 });
        recorder
            .invoke(
                2,
                "/r0",
                Input::Cas {
                    value: 9,
                    expected_version: 0,
                },
            )
            .complete(Output::Unknown);
        let history = recorder.history();
        assert_eq!(history.outcome_counts(), (1, 1));
        let json = serde_json::to_value(&history).unwrap();
        assert_eq!(json["initial"]["/r0"]["version"], 0);
        let ops = json["operations"].as_array().unwrap();
        assert_eq!(ops[0]["input"]["kind"], "write");
        assert_eq!(ops[0]["output"]["kind"], "written");
        assert!(ops[0]["return"].as_u64().unwrap() >= ops[0]["call"].as_u64().unwrap());
        assert_eq!(ops[1]["input"]["expected_version"], 0);
        assert_eq!(ops[1]["output"]["kind"], "unknown");
        assert!(ops[1]["return"].is_null());
        let back: History = serde_json::from_value(json).unwrap();
        assert_eq!(back, history);
    }
}
