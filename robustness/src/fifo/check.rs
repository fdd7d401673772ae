//! The per-session FIFO check: given what the sessions did and what a member holds after the run, the
//! ways the member's state contradicts "a session's writes commit in the order it sent them, and a write
//! sent on a connection never commits after an earlier write of that connection was lost".
//!
//! A member's state is, for each session, its parent's children: the sequence suffix of a child gives the
//! commit order of the creates under that parent, the child's data is the submission number of the write
//! that made it. The rules:
//!
//! - (a) every acknowledged write is present, at the path it was acknowledged with, exactly once;
//! - (b) along the sequence suffixes the submission numbers strictly increase;
//! - (c) if submission `j` is absent, every present `k > j` was sent after the client learned that `j`
//!   failed or that its outcome was unknown (so on a later connection attempt);
//! - (d) every present value was submitted by that session.
//!
//! A write answered with an error and present anyway is not checked here: the server's error codes for
//! "outcome unknown" do not say the write did not happen.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::history::{Outcome, SessionHistory, Write};
use super::sequence_of;

/// What one member holds: for each session, the children of its parent by sequence number, with their data.
pub type Committed = BTreeMap<u32, BTreeMap<u64, Vec<u8>>>;

/// One way a member's state breaks per-session FIFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// (a) An acknowledged write is not at the path it was acknowledged with.
    AcknowledgedMissing {
        /// The session.
        session: u32,
        /// The write.
        submission: u64,
        /// The acknowledged path.
        path: String,
        /// What that path holds instead, if it exists.
        found: Option<String>,
    },
    /// (a) A write is present more than once.
    Duplicated {
        /// The session.
        session: u32,
        /// The write.
        submission: u64,
        /// The sequence numbers holding it.
        sequences: Vec<u64>,
    },
    /// (b) A write committed before one the session had sent earlier.
    Reordered {
        /// The session.
        session: u32,
        /// The sequence number and submission of the child that comes first.
        first: (u64, u64),
        /// The sequence number and submission of the next child, not sent later than `first`.
        second: (u64, u64),
    },
    /// (c) A write committed although an earlier write of the same connection attempt was lost.
    CommittedAfterLoss {
        /// The session.
        session: u32,
        /// The lost (absent) write.
        lost: Write,
        /// The committed later write, sent before the client learned of the loss.
        committed: Write,
    },
    /// (d) A child whose data is no submission of the session.
    NeverSubmitted {
        /// The session.
        session: u32,
        /// The child's sequence number.
        sequence: u64,
        /// Its data.
        data: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::AcknowledgedMissing {
                session,
                submission,
                path,
                found,
            } => write!(
                f,
                "session {session}: acknowledged write {submission} not at {path} (found {found:?})"
            ),
            Violation::Duplicated {
                session,
                submission,
                sequences,
            } => write!(
                f,
                "session {session}: write {submission} present at sequences {sequences:?}"
            ),
            Violation::Reordered {
                session,
                first,
                second,
            } => write!(
                f,
                "session {session}: sequence {} holds write {} but the next, sequence {}, holds write {}",
                first.0, first.1, second.0, second.1
            ),
            Violation::CommittedAfterLoss {
                session,
                lost,
                committed,
            } => write!(
                f,
                "session {session}: write {} (attempt {}, {:?}, sent at {} ns, outcome learned at {} ns) is \
                 lost but write {} (attempt {}, {:?}, sent at {} ns) committed",
                lost.submission,
                lost.attempt,
                lost.outcome,
                lost.invoked,
                lost.learned,
                committed.submission,
                committed.attempt,
                committed.outcome,
                committed.invoked
            ),
            Violation::NeverSubmitted {
                session,
                sequence,
                data,
            } => write!(
                f,
                "session {session}: sequence {sequence} holds {data:?}, never submitted"
            ),
        }
    }
}

/// Every violation of per-session FIFO by `committed`, one member's state, given the `histories`.
pub fn check(histories: &[SessionHistory], committed: &Committed) -> Vec<Violation> {
    let empty = BTreeMap::new();
    histories
        .iter()
        .flat_map(|history| {
            check_session(history, committed.get(&history.session).unwrap_or(&empty))
        })
        .chain(
            committed
                .iter()
                .filter(|(session, _)| !histories.iter().any(|h| h.session == **session))
                .flat_map(|(&session, children)| {
                    children
                        .iter()
                        .map(move |(&sequence, data)| Violation::NeverSubmitted {
                            session,
                            sequence,
                            data: String::from_utf8_lossy(data).into_owned(),
                        })
                }),
        )
        .collect()
}

/// The violations within one session's parent.
fn check_session(history: &SessionHistory, children: &BTreeMap<u64, Vec<u8>>) -> Vec<Violation> {
    let session = history.session;
    let mut violations = Vec::new();
    let submitted: BTreeMap<u64, &Write> =
        history.writes.iter().map(|w| (w.submission, w)).collect();

    // (d), and the children as (sequence, submission) in commit order.
    let mut order: Vec<(u64, u64)> = Vec::new();
    for (&sequence, data) in children {
        let text = String::from_utf8_lossy(data);
        match text.parse::<u64>() {
            Ok(submission) if submitted.contains_key(&submission) => {
                order.push((sequence, submission));
            }
            _ => violations.push(Violation::NeverSubmitted {
                session,
                sequence,
                data: text.into_owned(),
            }),
        }
    }

    // (a) exactly once.
    let mut places: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &(sequence, submission) in &order {
        places.entry(submission).or_default().push(sequence);
    }
    violations.extend(
        places
            .iter()
            .filter(|(_, sequences)| sequences.len() > 1)
            .map(|(&submission, sequences)| Violation::Duplicated {
                session,
                submission,
                sequences: sequences.clone(),
            }),
    );
    // (a) every acknowledged write where it was acknowledged.
    for write in &history.writes {
        if let Outcome::Created { path } = &write.outcome {
            let found = sequence_of(path).and_then(|sequence| children.get(&sequence));
            if found.map(Vec::as_slice) != Some(write.submission.to_string().as_bytes()) {
                violations.push(Violation::AcknowledgedMissing {
                    session,
                    submission: write.submission,
                    path: path.clone(),
                    found: found.map(|data| String::from_utf8_lossy(data).into_owned()),
                });
            }
        }
    }

    // (b) commit order is submission order.
    violations.extend(
        order
            .windows(2)
            .filter(|pair| pair[0].1 >= pair[1].1)
            .map(|pair| Violation::Reordered {
                session,
                first: pair[0],
                second: pair[1],
            }),
    );

    // (c) nothing sent before a lost write's loss was known commits after it. The lost write learned
    // last so far is the one a later write must have been sent after.
    let present: BTreeSet<u64> = places.keys().copied().collect();
    let mut last_loss: Option<&Write> = None;
    for write in &history.writes {
        if present.contains(&write.submission) {
            if let Some(lost) = last_loss.filter(|lost| write.invoked <= lost.learned) {
                violations.push(Violation::CommittedAfterLoss {
                    session,
                    lost: lost.clone(),
                    committed: write.clone(),
                });
            }
        } else if !write.acknowledged() && last_loss.is_none_or(|l| write.learned > l.learned) {
            last_loss = Some(write);
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fifo::parent;

    /// A write sent at `invoked` on `attempt`, learned at `learned`.
    fn write(submission: u64, attempt: u32, invoked: u64, outcome: Outcome, learned: u64) -> Write {
        Write {
            submission,
            attempt,
            invoked,
            outcome,
            learned,
        }
    }

    fn created(sequence: u64) -> Outcome {
        Outcome::Created {
            path: format!("{}/w-{sequence:010}", parent(0)),
        }
    }

    /// Session 0's children: (sequence, data).
    fn holding(children: &[(u64, &str)]) -> Committed {
        BTreeMap::from([(
            0,
            children
                .iter()
                .map(|&(sequence, data)| (sequence, data.as_bytes().to_vec()))
                .collect(),
        )])
    }

    fn session(writes: Vec<Write>) -> Vec<SessionHistory> {
        vec![SessionHistory { session: 0, writes }]
    }

    /// Writes 1..=4 pipelined on attempt 0: 1 and 2 acknowledged, 3 unknown (the connection dropped) and
    /// 4 unknown with it; 5 and 6 sent on attempt 1 after that, and acknowledged.
    fn faulty_run() -> Vec<SessionHistory> {
        session(vec![
            write(1, 0, 10, created(0), 50),
            write(2, 0, 11, created(1), 51),
            write(3, 0, 12, Outcome::Unknown, 90),
            write(4, 0, 13, Outcome::Unknown, 90),
            write(5, 1, 100, created(3), 150),
            write(6, 1, 101, created(4), 151),
        ])
    }

    #[test]
    fn accepts_a_fifo_state_with_a_lost_tail_or_an_unknown_write_committed() {
        // 3 committed (its answer was lost), 4 lost with the connection.
        let state = holding(&[(0, "1"), (1, "2"), (2, "3"), (3, "5"), (4, "6")]);
        assert_eq!(check(&faulty_run(), &state), vec![]);
        // 3 and 4 both lost.
        let state = holding(&[(0, "1"), (1, "2"), (3, "5"), (4, "6")]);
        assert_eq!(check(&faulty_run(), &state), vec![]);
    }

    #[test]
    fn refuses_a_missing_or_moved_acknowledged_write() {
        let state = holding(&[(0, "1"), (3, "5"), (4, "6")]);
        assert!(matches!(
            check(&faulty_run(), &state)[..],
            [Violation::AcknowledgedMissing {
                submission: 2,
                found: None,
                ..
            }]
        ));
        let state = holding(&[(0, "1"), (1, "5"), (3, "2"), (4, "6")]);
        let violations = check(&faulty_run(), &state);
        assert!(violations.iter().any(|v| matches!(
            v,
            Violation::AcknowledgedMissing { submission: 2, found: Some(f), .. } if f == "5"
        )));
    }

    #[test]
    fn refuses_a_write_committed_twice() {
        let state = holding(&[(0, "1"), (1, "2"), (2, "2"), (3, "5"), (4, "6")]);
        let violations = check(&faulty_run(), &state);
        assert!(violations.contains(&Violation::Duplicated {
            session: 0,
            submission: 2,
            sequences: vec![1, 2],
        }));
    }

    #[test]
    fn refuses_commits_out_of_submission_order() {
        // 6 before 5 (their acknowledged paths swapped too, so only the order is wrong).
        let mut run = faulty_run();
        run[0].writes[4].outcome = created(4);
        run[0].writes[5].outcome = created(3);
        let state = holding(&[(0, "1"), (1, "2"), (3, "6"), (4, "5")]);
        assert_eq!(
            check(&run, &state),
            vec![Violation::Reordered {
                session: 0,
                first: (3, 6),
                second: (4, 5),
            }]
        );
    }

    #[test]
    fn refuses_a_gap_on_one_connection_attempt() {
        // 3 lost, 4 (sent on the same connection before the loss was known) committed.
        let state = holding(&[(0, "1"), (1, "2"), (2, "4"), (3, "5"), (4, "6")]);
        let violations = check(&faulty_run(), &state);
        assert!(
            matches!(
                &violations[..],
                [Violation::CommittedAfterLoss { lost, committed, .. }]
                    if lost.submission == 3 && committed.submission == 4
            ),
            "{violations:?}"
        );
    }

    #[test]
    fn refuses_an_acknowledged_write_after_a_failed_one_of_the_same_connection() {
        let run = session(vec![
            write(1, 0, 10, Outcome::Failed { code: -4 }, 20),
            write(2, 0, 11, created(0), 21),
        ]);
        let violations = check(&run, &holding(&[(0, "2")]));
        assert!(
            matches!(&violations[..], [Violation::CommittedAfterLoss { .. }]),
            "{violations:?}"
        );
    }

    #[test]
    fn refuses_a_value_never_submitted() {
        let state = holding(&[(0, "1"), (1, "2"), (3, "5"), (4, "6"), (5, "7")]);
        assert_eq!(
            check(&faulty_run(), &state),
            vec![Violation::NeverSubmitted {
                session: 0,
                sequence: 5,
                data: "7".to_owned(),
            }]
        );
        let mut stranger = holding(&[(0, "1"), (1, "2"), (3, "5"), (4, "6")]);
        stranger.insert(9, BTreeMap::from([(0, b"x".to_vec())]));
        assert_eq!(check(&faulty_run(), &stranger).len(), 1);
    }
}
