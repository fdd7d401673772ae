//! The replicated session table: id, negotiated timeout and password of every live session. Timing
//! (expiry) is not here: the leader's session tracker proposes closes.

use std::collections::BTreeMap;

/// One live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Negotiated timeout, ms.
    pub timeout_ms: i32,
    /// The 16-byte password a reconnecting client must present.
    pub password: Vec<u8>,
}

/// Live sessions by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionTable {
    sessions: BTreeMap<i64, SessionRecord>,
}

impl SessionTable {
    /// Adds (or replaces) a session.
    pub fn insert(&mut self, id: i64, record: SessionRecord) {
        self.sessions.insert(id, record);
    }

    /// Removes a session; whether it existed.
    pub fn remove(&mut self, id: i64) -> bool {
        self.sessions.remove(&id).is_some()
    }

    /// The session with this id.
    pub fn get(&self, id: i64) -> Option<&SessionRecord> {
        self.sessions.get(&id)
    }

    /// Every session, by id.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &SessionRecord)> {
        self.sessions.iter().map(|(id, r)| (*id, r))
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}
