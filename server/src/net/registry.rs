//! Open client connections and which one currently carries each session (a session resumed on a new
//! connection closes its old one, as Apache does).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use zk_proto::Id;

use super::stats::ConnectionStats;

/// One open connection.
#[derive(Debug)]
pub struct ConnectionEntry {
    /// Registry-local id.
    pub id: u64,
    /// The client's address.
    pub remote: SocketAddr,
    /// When the connection was accepted (ms since the epoch).
    pub established_ms: i64,
    /// Its counters.
    pub stats: ConnectionStats,
    /// The identities of its verified TLS client certificate (`x509:<subject>`), if any.
    pub certificate_ids: Vec<Id>,
    session: Mutex<Option<(i64, i32)>>,
    close: watch::Sender<bool>,
}

impl ConnectionEntry {
    /// The session (id, negotiated timeout) once the handshake succeeded.
    pub fn session(&self) -> Option<(i64, i32)> {
        *self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the connection's task to close it.
    pub fn close(&self) {
        self.close.send_replace(true);
    }

    /// Resolves once [`ConnectionEntry::close`] was called.
    pub async fn closed(&self) {
        let mut receiver = self.close.subscribe();
        let _ = receiver.wait_for(|closed| *closed).await;
    }
}

#[derive(Debug, Default)]
struct Inner {
    connections: HashMap<u64, Arc<ConnectionEntry>>,
    sessions: HashMap<i64, u64>,
}

/// Every open client connection.
#[derive(Debug, Default)]
pub struct Registry {
    next_id: AtomicU64,
    inner: Mutex<Inner>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new connection, with the identities of its client certificate.
    pub fn add(
        &self,
        remote: SocketAddr,
        now_ms: i64,
        certificate_ids: Vec<Id>,
    ) -> Arc<ConnectionEntry> {
        let entry = Arc::new(ConnectionEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            remote,
            established_ms: now_ms,
            stats: ConnectionStats::new(),
            certificate_ids,
            session: Mutex::new(None),
            close: watch::Sender::new(false),
        });
        self.lock().connections.insert(entry.id, entry.clone());
        entry
    }

    /// Binds `session` to `entry`, closing the connection that carried it before, if any.
    pub fn bind_session(&self, entry: &ConnectionEntry, session: i64, timeout_ms: i32) {
        *entry.session.lock().unwrap_or_else(|e| e.into_inner()) = Some((session, timeout_ms));
        let mut inner = self.lock();
        if let Some(old) = inner.sessions.insert(session, entry.id)
            && old != entry.id
            && let Some(old_entry) = inner.connections.get(&old)
        {
            old_entry.close();
        }
    }

    /// Forgets a closed connection. Returns its session if this connection still carried it (then the
    /// session's watches and notification sink go with it).
    pub fn remove(&self, entry: &ConnectionEntry) -> Option<i64> {
        let mut inner = self.lock();
        inner.connections.remove(&entry.id);
        let (session, _) = entry.session()?;
        if inner.sessions.get(&session) == Some(&entry.id) {
            inner.sessions.remove(&session);
            Some(session)
        } else {
            None
        }
    }

    /// Closes the connection carrying `session` (the session was closed or expired).
    pub fn close_session(&self, session: i64) {
        let inner = self.lock();
        if let Some(entry) = inner
            .sessions
            .get(&session)
            .and_then(|id| inner.connections.get(id))
        {
            entry.close();
        }
    }

    /// Closes every connection (shutdown).
    pub fn close_all(&self) {
        for entry in self.lock().connections.values() {
            entry.close();
        }
    }

    /// The open connections, oldest first.
    pub fn connections(&self) -> Vec<Arc<ConnectionEntry>> {
        let mut all: Vec<Arc<ConnectionEntry>> =
            self.lock().connections.values().cloned().collect();
        all.sort_by_key(|e| e.id);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resuming_a_session_closes_its_old_connection() {
        let registry = Registry::default();
        let addr: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let old = registry.add(addr, 0, Vec::new());
        let new = registry.add(addr, 1, Vec::new());
        registry.bind_session(&old, 7, 4000);
        registry.bind_session(&new, 7, 4000);
        old.closed().await;
        assert_eq!(registry.remove(&old), None, "the session moved on");
        assert_eq!(registry.remove(&new), Some(7));
        assert!(registry.connections().is_empty());
    }

    #[tokio::test]
    async fn close_session_closes_its_connection() {
        let registry = Registry::default();
        let entry = registry.add("127.0.0.1:1001".parse().unwrap(), 0, Vec::new());
        registry.bind_session(&entry, 9, 4000);
        registry.close_session(9);
        entry.closed().await;
    }
}
