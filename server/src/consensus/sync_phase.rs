//! How far a member that follows a leader has caught up with it: Apache's Zab phases
//! `synchronization` and `broadcast`, as `mntr`'s `zk_peer_state` reports them.
//!
//! Apache's follower (`Follower.followLeader`) is in synchronization from the moment it connects
//! to a leader until it holds the leader's state as of that moment (a diff, a truncation or a
//! whole snapshot, then `NEWLEADER`/`UPTODATE`), and in broadcast from then on, until it loses
//! the leader. The same rule here: a phase starts with the first contact from a leader of a new
//! term, or after a silence long enough to cut the member off (`syncLimit` ticks); the leader's
//! commit index reported by the first append-entries (or heartbeat) of the phase is the target;
//! the member is in broadcast once it has applied up to that target. The target stays fixed for
//! the phase, so a follower that keeps a few entries behind a leader under load (as every
//! follower does) is not sent back to synchronization; a joiner that first installs a large
//! snapshot stays in synchronization until it has applied it and the entries after it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a member that follows a leader stands, in Apache's words for its Zab phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Catching up with the leader's state as of the start of the phase.
    Synchronization,
    /// Caught up: applying the leader's entries as they are committed.
    Broadcast,
}

impl Phase {
    /// Apache's word for the phase (`synchronization`, `broadcast`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Synchronization => "synchronization",
            Phase::Broadcast => "broadcast",
        }
    }
}

/// This member's contact with its leader: when it last heard from one it accepts (an
/// append-entries or a snapshot of the current term), and the target of the current phase.
#[derive(Debug)]
pub(crate) struct LeaderContact {
    /// A silence longer than this starts a new phase (the member was cut off meanwhile).
    cut_off_after: Duration,
    contact: Mutex<Contact>,
}

#[derive(Debug)]
struct Contact {
    /// When the last contact came.
    at: Instant,
    /// The leader's term in it.
    term: u64,
    /// How many entries the leader had committed at the start of the phase (`index + 1` of its
    /// commit index), once an append-entries of the phase told it.
    target: Option<u64>,
}

impl LeaderContact {
    /// Contact as of now, of no term yet (a member starts as if it had just heard from a leader,
    /// and in synchronization).
    pub(crate) fn now(cut_off_after: Duration) -> LeaderContact {
        LeaderContact {
            cut_off_after,
            contact: Mutex::new(Contact {
                at: Instant::now(),
                term: 0,
                target: None,
            }),
        }
    }

    /// An append-entries (or heartbeat) of the leader of `term` was accepted; it said that
    /// `committed` entries (`index + 1` of its commit index) are committed.
    pub(crate) fn append_accepted(&self, term: u64, committed: u64) {
        self.record(term, Some(committed));
    }

    /// A snapshot of the leader of `term` was installed (it says nothing of the leader's commit
    /// index).
    pub(crate) fn snapshot_installed(&self, term: u64) {
        self.record(term, None);
    }

    /// A request of the leader of `term` arrived (before it is handled: installing a large
    /// snapshot may take longer than the cut-off). Counts as contact if this member already
    /// follows that leader and is not cut off yet (as Apache's follower counts any packet read
    /// from its leader); a new leader or the end of a silence is recorded once the request is
    /// accepted.
    pub(crate) fn request_arrived(&self, term: u64) {
        let mut contact = self.contact.lock().unwrap_or_else(|e| e.into_inner());
        if term == contact.term && contact.at.elapsed() <= self.cut_off_after {
            contact.at = Instant::now();
        }
    }

    fn record(&self, term: u64, committed: Option<u64>) {
        let mut contact = self.contact.lock().unwrap_or_else(|e| e.into_inner());
        if term != contact.term || contact.at.elapsed() > self.cut_off_after {
            contact.term = term;
            contact.target = None;
        }
        if contact.target.is_none() {
            contact.target = committed;
        }
        contact.at = Instant::now();
    }

    /// This member leads, acknowledged by a quorum: it is in contact with the ensemble. Counted
    /// as a contact (the phase stays as it is), so that a leader that steps down (a hand-over) is
    /// not taken for cut off before its successor's first append-entries reaches it.
    pub(crate) fn leading(&self) {
        self.contact.lock().unwrap_or_else(|e| e.into_inner()).at = Instant::now();
    }

    /// Time since the last contact.
    pub(crate) fn elapsed(&self) -> Duration {
        self.contact
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .at
            .elapsed()
    }

    /// The phase of a member that has applied `applied` entries (`index + 1` of its last applied
    /// entry) and still follows.
    pub(crate) fn phase(&self, applied: u64) -> Phase {
        let contact = self.contact.lock().unwrap_or_else(|e| e.into_inner());
        match contact.target {
            Some(target) if applied >= target => Phase::Broadcast,
            _ => Phase::Synchronization,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_once_the_commit_index_at_the_start_of_the_phase_is_applied() {
        let contact = LeaderContact::now(Duration::from_secs(60));
        assert_eq!(contact.phase(0), Phase::Synchronization, "no leader yet");
        contact.snapshot_installed(2);
        assert_eq!(
            contact.phase(500),
            Phase::Synchronization,
            "a snapshot alone does not tell the target"
        );
        contact.append_accepted(2, 1000);
        contact.append_accepted(2, 1200);
        assert_eq!(contact.phase(999), Phase::Synchronization);
        assert_eq!(
            contact.phase(1000),
            Phase::Broadcast,
            "the target is fixed at the first append-entries of the phase"
        );
        contact.append_accepted(3, 1300);
        assert_eq!(
            contact.phase(1250),
            Phase::Synchronization,
            "a new leader starts a new phase"
        );
        assert_eq!(contact.phase(1300), Phase::Broadcast);
    }

    #[test]
    fn a_request_of_the_followed_leader_counts_as_contact_when_it_arrives() {
        let ms = Duration::from_millis;
        let contact = LeaderContact::now(ms(1000));
        contact.append_accepted(1, 10);
        std::thread::sleep(ms(600));
        contact.request_arrived(1);
        assert!(contact.elapsed() < ms(300));
        std::thread::sleep(ms(600));
        contact.request_arrived(2);
        assert!(
            contact.elapsed() >= ms(600),
            "another leader's request counts once accepted"
        );
        std::thread::sleep(ms(500));
        contact.request_arrived(1);
        assert!(
            contact.elapsed() >= ms(1100),
            "after a silence that cut the member off, arrival alone does not end the silence"
        );
        contact.append_accepted(1, 20);
        assert_eq!(contact.phase(10), Phase::Synchronization, "a new phase");
    }

    #[test]
    fn a_silence_that_cut_the_member_off_starts_a_new_phase() {
        let contact = LeaderContact::now(Duration::from_millis(20));
        contact.append_accepted(1, 10);
        assert_eq!(contact.phase(10), Phase::Broadcast);
        std::thread::sleep(Duration::from_millis(40));
        contact.append_accepted(1, 5000);
        assert_eq!(contact.phase(10), Phase::Synchronization);
        assert_eq!(contact.phase(5000), Phase::Broadcast);
    }
}
