//! The session tracker: which sessions expire when, in buckets one tick wide, as Apache's `ExpiryQueue`.
//!
//! A session's deadline is `now + timeout` rounded up to the next tick boundary; every packet from the
//! session moves it to a later bucket. Checking expiry once per tick then only looks at one bucket.
//!
//! The tracker also remembers which sessions were touched since it was last asked: a member that
//! does not lead reports them to the leader, whose tracker is the one that expires sessions.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

/// One bucket of the tracker, for `dump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryBucket {
    /// Wall-clock time (ms since the epoch) at which the bucket expires.
    pub expires_at_ms: i64,
    /// Sessions in it, in id order.
    pub sessions: Vec<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Session id → (timeout, current bucket).
    sessions: HashMap<i64, (i32, i64)>,
    /// Bucket time → sessions.
    buckets: BTreeMap<i64, BTreeSet<i64>>,
    /// Sessions added or touched since the last [`SessionTracker::take_active`].
    active: HashSet<i64>,
}

impl Inner {
    fn place(&mut self, id: i64, timeout_ms: i32, deadline: i64) {
        self.active.insert(id);
        if let Some((_, old)) = self.sessions.insert(id, (timeout_ms, deadline))
            && old != deadline
        {
            self.unlink(id, old);
        }
        self.buckets.entry(deadline).or_default().insert(id);
    }

    fn unlink(&mut self, id: i64, bucket: i64) {
        if let Some(set) = self.buckets.get_mut(&bucket) {
            set.remove(&id);
            if set.is_empty() {
                self.buckets.remove(&bucket);
            }
        }
    }
}

/// Tracks session deadlines. All times are wall-clock milliseconds, passed in by the caller.
#[derive(Debug)]
pub struct SessionTracker {
    tick_ms: i64,
    inner: Mutex<Inner>,
}

impl SessionTracker {
    /// A tracker whose buckets are `tick_ms` wide.
    pub fn new(tick_ms: u32) -> SessionTracker {
        SessionTracker {
            tick_ms: i64::from(tick_ms.max(1)),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The bucket for a deadline: the next tick boundary strictly after it.
    fn round_up(&self, time_ms: i64) -> i64 {
        (time_ms / self.tick_ms + 1) * self.tick_ms
    }

    /// Starts tracking a session (or restarts its full timeout).
    pub fn add(&self, id: i64, timeout_ms: i32, now_ms: i64) {
        let deadline = self.round_up(now_ms + i64::from(timeout_ms));
        self.lock().place(id, timeout_ms, deadline);
    }

    /// Pushes the session's deadline back by its timeout. False when the session is not tracked (expired or
    /// closed).
    pub fn touch(&self, id: i64, now_ms: i64) -> bool {
        let mut inner = self.lock();
        let Some(&(timeout_ms, _)) = inner.sessions.get(&id) else {
            return false;
        };
        let deadline = self.round_up(now_ms + i64::from(timeout_ms));
        inner.place(id, timeout_ms, deadline);
        true
    }

    /// Makes the tracked sessions exactly the `live` ones (the leader does this every tick): a live
    /// session not tracked yet (created or resumed on another member) gets a full timeout, tracked
    /// ones keep their deadline, and those no longer live (closed on another member) are dropped.
    pub fn align(&self, live: impl IntoIterator<Item = (i64, i32)>, now_ms: i64) {
        let live: HashMap<i64, i32> = live.into_iter().collect();
        let mut inner = self.lock();
        let gone: Vec<(i64, i64)> = inner
            .sessions
            .iter()
            .filter(|(id, _)| !live.contains_key(id))
            .map(|(&id, &(_, bucket))| (id, bucket))
            .collect();
        for (id, bucket) in gone {
            inner.sessions.remove(&id);
            inner.unlink(id, bucket);
        }
        for (id, timeout_ms) in live {
            if !inner.sessions.contains_key(&id) {
                let deadline = self.round_up(now_ms + i64::from(timeout_ms));
                inner.place(id, timeout_ms, deadline);
            }
        }
    }

    /// The sessions added or touched since the last call, in id order.
    pub fn take_active(&self) -> Vec<i64> {
        let mut active: Vec<i64> = self.lock().active.drain().collect();
        active.sort_unstable();
        active
    }

    /// Stops tracking a session.
    pub fn remove(&self, id: i64) {
        let mut inner = self.lock();
        inner.active.remove(&id);
        if let Some((_, bucket)) = inner.sessions.remove(&id) {
            inner.unlink(id, bucket);
        }
    }

    /// True when the session is tracked.
    pub fn contains(&self, id: i64) -> bool {
        self.lock().sessions.contains_key(&id)
    }

    /// Replaces every tracked session with `sessions`, each with a fresh full timeout (a new leader does
    /// this: it cannot know how long sessions were silent under the old one).
    pub fn reset(&self, sessions: impl IntoIterator<Item = (i64, i32)>, now_ms: i64) {
        let mut fresh = Inner::default();
        for (id, timeout_ms) in sessions {
            fresh.place(
                id,
                timeout_ms,
                self.round_up(now_ms + i64::from(timeout_ms)),
            );
        }
        fresh.active.clear();
        *self.lock() = fresh;
    }

    /// Removes and returns the sessions whose bucket time has passed.
    pub fn take_expired(&self, now_ms: i64) -> Vec<i64> {
        let mut inner = self.lock();
        let due: Vec<i64> = inner.buckets.range(..=now_ms).map(|(t, _)| *t).collect();
        let mut expired = Vec::new();
        for time in due {
            if let Some(set) = inner.buckets.remove(&time) {
                for id in set {
                    inner.sessions.remove(&id);
                    expired.push(id);
                }
            }
        }
        expired
    }

    /// The earliest bucket time, if any session is tracked.
    pub fn next_deadline(&self) -> Option<i64> {
        self.lock().buckets.keys().next().copied()
    }

    /// Number of tracked sessions.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// True when no session is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tracked sessions with their timeouts, in id order.
    pub fn sessions(&self) -> Vec<(i64, i32)> {
        let mut all: Vec<(i64, i32)> = self
            .lock()
            .sessions
            .iter()
            .map(|(id, (t, _))| (*id, *t))
            .collect();
        all.sort_unstable();
        all
    }

    /// The buckets in time order, for `dump`.
    pub fn buckets(&self) -> Vec<ExpiryBucket> {
        self.lock()
            .buckets
            .iter()
            .map(|(t, set)| ExpiryBucket {
                expires_at_ms: *t,
                sessions: set.iter().copied().collect(),
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent maps behind (each update is a few map calls).
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_the_next_tick() {
        let t = SessionTracker::new(2000);
        t.add(1, 4000, 10_500);
        assert_eq!(t.next_deadline(), Some(16_000));
        assert!(t.take_expired(15_999).is_empty());
        assert_eq!(t.take_expired(16_000), vec![1]);
        assert!(!t.contains(1));
    }

    #[test]
    fn touch_moves_the_deadline_and_unknown_sessions_are_reported() {
        let t = SessionTracker::new(1000);
        t.add(1, 3000, 0);
        t.add(2, 3000, 0);
        assert!(t.touch(1, 2500));
        assert_eq!(t.take_expired(4000), vec![2]);
        assert_eq!(
            t.buckets(),
            vec![ExpiryBucket {
                expires_at_ms: 6000,
                sessions: vec![1]
            }]
        );
        assert!(!t.touch(2, 4000), "an expired session is gone");
        t.remove(1);
        assert!(t.is_empty());
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn activity_is_reported_once_and_alignment_keeps_tracked_deadlines() {
        let t = SessionTracker::new(1000);
        t.add(3, 4000, 0);
        t.add(5, 4000, 0);
        t.touch(1, 0);
        assert_eq!(
            t.take_active(),
            vec![3, 5],
            "an untracked session is not touched"
        );
        assert!(t.take_active().is_empty());
        t.touch(3, 1500);
        t.align([(3, 4000), (7, 2000)], 1500);
        assert!(!t.contains(5), "a session no longer live is dropped");
        assert_eq!(t.take_active(), vec![3, 7]);
        assert_eq!(
            t.buckets(),
            vec![
                ExpiryBucket {
                    expires_at_ms: 4000,
                    sessions: vec![7]
                },
                ExpiryBucket {
                    expires_at_ms: 6000,
                    sessions: vec![3]
                },
            ]
        );
        t.remove(7);
        t.touch(3, 2000);
        t.remove(3);
        assert!(
            t.take_active().is_empty(),
            "removed sessions are not reported"
        );
    }

    #[test]
    fn reset_gives_every_session_a_full_timeout() {
        let t = SessionTracker::new(1000);
        t.add(1, 2000, 0);
        t.reset([(1, 2000), (5, 10_000)], 50_000);
        assert_eq!(t.sessions(), vec![(1, 2000), (5, 10_000)]);
        assert!(t.take_expired(51_999).is_empty());
        assert_eq!(t.take_expired(53_000), vec![1]);
    }
}
