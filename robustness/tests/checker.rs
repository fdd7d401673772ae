//! The linearizability checker, built for real, on histories made here: a concurrent history that is
//! linearizable by construction, the same history with one read made stale, and one with operations of
//! unknown outcome.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zk_robustness::checker::{Checker, CheckerError, Outcome};
use zk_robustness::history::{History, Input, Operation, Output, Register};

/// Where the checker is built and its reports kept: under the target directory, so they survive a run.
fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("linearizability-checker")
}

/// A small deterministic pseudo-random sequence (xorshift), the same on every run.
struct Sequence(u64);

impl Sequence {
    /// A number below `bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// A register in its state at the start of a history.
fn register(value: i64, version: i32) -> Register {
    Register { value, version }
}

/// A history of `count` operations of 4 clients on 3 registers, linearizable by construction: operation
/// `i` takes effect at `1000 + 100 i` on the registers simulated here, and is invoked up to 150 ns before
/// and answered up to 150 ns after that, so that it overlaps its neighbours, while each client (`i % 4`)
/// runs one operation at a time. About one write or compare-and-set in sixteen has an unknown outcome, and
/// half of those take no effect.
fn concurrent_history(seed: u64, count: u64) -> History {
    let keys = ["/r0", "/r1", "/r2"];
    let initial: BTreeMap<String, Register> = keys
        .iter()
        .map(|key| (key.to_string(), register(0, 0)))
        .collect();
    let mut state = initial.clone();
    let mut random = Sequence(seed);
    let mut operations = Vec::new();
    for i in 0..count {
        let at = 1_000 + 100 * i;
        let key = keys[random.below(3) as usize];
        let current = state[key];
        let value = i as i64 + 1;
        let input = match random.below(3) {
            0 => Input::Read,
            1 => Input::Write { value },
            _ => Input::Cas {
                value,
                expected_version: current.version - random.below(2) as i32,
            },
        };
        let applies = match input {
            Input::Read => false,
            Input::Write { .. } => true,
            Input::Cas {
                expected_version, ..
            } => expected_version == current.version,
        };
        let unknown = input != Input::Read && random.below(16) == 0;
        let takes_effect = applies && (!unknown || random.below(2) == 0);
        if takes_effect {
            state.insert(key.to_owned(), register(value, current.version + 1));
        }
        let output = match input {
            _ if unknown => Output::Unknown,
            Input::Read => Output::Read {
                value: current.value,
                version: current.version,
            },
            _ if applies => Output::Written {
                version: current.version + 1,
            },
            _ => Output::BadVersion,
        };
        operations.push(Operation {
            client: (i % 4) as u32,
            key: key.to_owned(),
            input,
            output,
            call: at - 1 - random.below(150),
            ret: (!unknown).then(|| at + 1 + random.below(150)),
        });
    }
    History {
        initial,
        operations,
    }
}

/// Makes the last read that follows an acknowledged write on its register see the register's initial
/// state, which that write had already changed: a stale read.
fn make_a_read_stale(history: &mut History) -> usize {
    let acknowledged = |read: &Operation| {
        history.operations.iter().any(|op| {
            op.key == read.key
                && matches!(op.output, Output::Written { .. })
                && op.ret.is_some_and(|ret| ret < read.call)
        })
    };
    let stale = history
        .operations
        .iter()
        .rposition(|op| op.input == Input::Read && acknowledged(op))
        .expect("a read after an acknowledged write");
    let read = &mut history.operations[stale];
    let Register { value, version } = history.initial[&read.key];
    read.output = Output::Read { value, version };
    stale
}

#[tokio::test]
async fn concurrent_history_is_linearizable_until_a_read_is_made_stale() -> anyhow::Result<()> {
    let checker = Checker::build(checker_dir()).await?;
    let mut history = concurrent_history(0x5eed_cafe, 1_000);
    let unknown = history.outcome_counts().1;
    assert!(unknown > 0, "the history has operations of unknown outcome");

    let verdict = checker.check(&history).await?;
    assert_eq!(verdict.outcome, Outcome::Linearizable, "{verdict}");
    assert_eq!(
        (verdict.operations, verdict.keys, verdict.unknown),
        (1_000, 3, unknown)
    );
    assert_eq!(verdict.report, None);

    let stale = make_a_read_stale(&mut history);
    let verdict = checker.check(&history).await?;
    assert_eq!(
        verdict.outcome,
        Outcome::Violation,
        "operation {stale} made stale: {verdict}"
    );
    let report = verdict.report.as_ref().expect("a violation keeps a report");
    assert!(
        report
            .visualization
            .as_ref()
            .is_some_and(|path| path.is_file()),
        "{verdict}"
    );
    let kept: History = serde_json::from_slice(&std::fs::read(&report.history)?)?;
    assert_eq!(kept, history);
    // This violation is the one expected: its report need not outlive the test.
    if let Some(dir) = report.history.parent() {
        std::fs::remove_dir_all(dir)?;
    }
    Ok(())
}

#[tokio::test]
async fn unknown_outcomes_may_or_may_not_have_taken_effect() -> anyhow::Result<()> {
    let checker = Checker::build(checker_dir()).await?;
    let op = |client, input, output, call, ret| Operation {
        client,
        key: "/r".to_owned(),
        input,
        output,
        call,
        ret,
    };
    let history = History {
        initial: BTreeMap::from([("/r".to_owned(), register(10, 4))]),
        operations: vec![
            // Client 0's write is never answered: it takes effect after the read that follows it.
            op(0, Input::Write { value: 1 }, Output::Unknown, 0, None),
            op(
                1,
                Input::Read,
                Output::Read {
                    value: 10,
                    version: 4,
                },
                10,
                Some(20),
            ),
            op(
                1,
                Input::Read,
                Output::Read {
                    value: 1,
                    version: 5,
                },
                30,
                Some(40),
            ),
            // Client 2's compare-and-set expects a version that is gone: it never takes effect.
            op(
                2,
                Input::Cas {
                    value: 2,
                    expected_version: 4,
                },
                Output::Unknown,
                50,
                None,
            ),
            // Client 0 goes on after its unknown write, and so does a read that is never answered.
            op(0, Input::Read, Output::Unknown, 60, None),
            op(
                0,
                Input::Write { value: 3 },
                Output::Written { version: 6 },
                70,
                Some(80),
            ),
            // Client 3's compare-and-set is not answered, but a read shows it took effect.
            op(
                3,
                Input::Cas {
                    value: 4,
                    expected_version: 6,
                },
                Output::Unknown,
                90,
                None,
            ),
            op(
                1,
                Input::Cas {
                    value: 5,
                    expected_version: 6,
                },
                Output::BadVersion,
                100,
                Some(110),
            ),
            op(
                1,
                Input::Read,
                Output::Read {
                    value: 4,
                    version: 7,
                },
                120,
                Some(130),
            ),
            // A write whose outcome is unknown and that nothing ever sees.
            op(2, Input::Write { value: 6 }, Output::Unknown, 140, None),
        ],
    };
    let verdict = checker.check(&history).await?;
    assert_eq!(verdict.outcome, Outcome::Linearizable, "{verdict}");
    assert_eq!(
        (verdict.operations, verdict.keys, verdict.unknown),
        (10, 1, 5)
    );
    Ok(())
}

#[tokio::test]
async fn builds_once_and_refuses_a_register_without_initial_state() -> anyhow::Result<()> {
    let (a, b) = tokio::join!(Checker::build(checker_dir()), Checker::build(checker_dir()));
    let (a, b) = (a?, b?);
    assert_eq!(a.binary(), b.binary());
    assert!(a.binary().is_file());

    let history = History {
        initial: BTreeMap::new(),
        operations: vec![Operation {
            client: 0,
            key: "/nowhere".to_owned(),
            input: Input::Read,
            output: Output::Read {
                value: 0,
                version: 0,
            },
            call: 0,
            ret: Some(1),
        }],
    };
    let error = a.check(&history).await.expect_err("a refused history");
    assert!(
        matches!(&error, CheckerError::NoVerdict { stderr, .. } if stderr.contains("no initial state")),
        "{error}"
    );
    Ok(())
}
