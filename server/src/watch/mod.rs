//! The watch manager: one-shot data/exist and child watches, persistent and persistent-recursive watches
//! (addWatch), per-session delivery of notification frames, checkWatches/removeWatches, and the counts and
//! dumps of the `wchs`, `wchc` and `wchp` four-letter words.
//!
//! As Apache, two tables are kept: data watches (getData, exists, persistent, persistent-recursive) and
//! child watches (getChildren, persistent). Events are sent to each session's sink, which the connection
//! handler drains in the same queue as its replies, so an event always precedes the reply that reveals it.

mod table;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use bytes::BytesMut;
use tokio::sync::mpsc::UnboundedSender;
use zk_proto::frame::notification_frame;
use zk_proto::{EventType, KeeperState, WatcherEvent, WatcherType};

pub use table::{WatchMode, WatchTable};

/// Where a session's notification frames go (whole frames: length, reply header with xid -1, event).
pub type NotificationSink = UnboundedSender<BytesMut>;

/// A change of the tree that can fire watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A node was created.
    Created(String),
    /// A node was deleted.
    Deleted(String),
    /// A node's data was set.
    DataChanged(String),
}

/// Watch counts as the `wchs` word prints them (sums over the data and child tables, as Apache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WatchSummary {
    /// Connections (sessions) with watches.
    pub connections: usize,
    /// Watched paths.
    pub paths: usize,
    /// Watches.
    pub total: usize,
}

/// Which of the two watch tables.
#[derive(Debug, Clone, Copy)]
enum Table {
    Data,
    Child,
}

#[derive(Debug, Default)]
struct Inner {
    data: WatchTable,
    child: WatchTable,
    sinks: HashMap<i64, NotificationSink>,
}

/// Every watch of this member, and where to deliver events.
#[derive(Debug, Default)]
pub struct WatchManager {
    inner: Mutex<Inner>,
}

/// Which watches a read leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// getData / exists: fires on data change, create, delete.
    Data,
    /// getChildren: fires on child-list change and delete.
    Child,
}

impl WatchManager {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Routes `session`'s events to `sink` (replacing an earlier sink, e.g. after a reconnect here).
    pub fn register_session(&self, session: i64, sink: NotificationSink) {
        self.lock().sinks.insert(session, sink);
    }

    /// Drops every watch of `session` and its sink (its connection closed, or the session ended).
    pub fn remove_session(&self, session: i64) {
        let mut inner = self.lock();
        inner.sinks.remove(&session);
        inner.data.remove_session(session);
        inner.child.remove_session(session);
    }

    /// Adds a one-shot watch.
    pub fn add(&self, session: i64, path: &str, kind: WatchKind) {
        let mut inner = self.lock();
        match kind {
            WatchKind::Data => inner.data.add(path, session, WatchMode::Standard),
            WatchKind::Child => inner.child.add(path, session, WatchMode::Standard),
        }
    }

    /// Adds a persistent watch (both tables) or a persistent-recursive one (data table only), as addWatch.
    pub fn add_persistent(&self, session: i64, path: &str, recursive: bool) {
        let mut inner = self.lock();
        if recursive {
            inner
                .data
                .add(path, session, WatchMode::PersistentRecursive);
        } else {
            inner.data.add(path, session, WatchMode::Persistent);
            inner.child.add(path, session, WatchMode::Persistent);
        }
    }

    /// Sends one event to `session` directly (setWatches' catch-up events).
    pub fn notify(&self, session: i64, zxid: i64, event_type: EventType, path: &str) {
        let inner = self.lock();
        send(&inner.sinks, session, zxid, event_type, path);
    }

    /// Fires the watches a committed change triggers, exactly as Apache's DataTree does: a create fires
    /// NodeCreated on the path and NodeChildrenChanged on the parent; a delete fires NodeDeleted on the path
    /// (once per session across both tables) and NodeChildrenChanged on the parent; a setData fires
    /// NodeDataChanged.
    pub fn fire(&self, zxid: i64, changes: &[Change]) {
        let mut inner = self.lock();
        let none = HashSet::new();
        for change in changes {
            match change {
                Change::Created(path) => {
                    inner.trigger(Table::Data, path, EventType::NodeCreated, zxid, &none);
                    inner.trigger(
                        Table::Child,
                        parent(path),
                        EventType::NodeChildrenChanged,
                        zxid,
                        &none,
                    );
                }
                Change::Deleted(path) => {
                    let notified =
                        inner.trigger(Table::Data, path, EventType::NodeDeleted, zxid, &none);
                    inner.trigger(Table::Child, path, EventType::NodeDeleted, zxid, &notified);
                    inner.trigger(
                        Table::Child,
                        parent(path),
                        EventType::NodeChildrenChanged,
                        zxid,
                        &none,
                    );
                }
                Change::DataChanged(path) => {
                    inner.trigger(Table::Data, path, EventType::NodeDataChanged, zxid, &none);
                }
            }
        }
    }

    /// Whether `session` has a watch of `watcher_type` on `path` (checkWatches).
    pub fn contains(&self, session: i64, path: &str, watcher_type: WatcherType) -> bool {
        let inner = self.lock();
        let data = inner.data.mode(path, session);
        let child = inner.child.mode(path, session).is_some();
        match watcher_type {
            WatcherType::Children => child,
            WatcherType::Data => data.is_some(),
            WatcherType::Any => child || data.is_some(),
            WatcherType::Persistent => data == Some(WatchMode::Persistent),
            WatcherType::PersistentRecursive => data == Some(WatchMode::PersistentRecursive),
        }
    }

    /// Removes the watches of `session` of `watcher_type` on `path` (removeWatches); whether any was removed.
    pub fn remove(&self, session: i64, path: &str, watcher_type: WatcherType) -> bool {
        let mut inner = self.lock();
        let mode = inner.data.mode(path, session);
        match watcher_type {
            WatcherType::Children => inner.child.remove(path, session),
            WatcherType::Data => inner.data.remove(path, session),
            WatcherType::Any => {
                let child = inner.child.remove(path, session);
                inner.data.remove(path, session) | child
            }
            WatcherType::Persistent if mode == Some(WatchMode::Persistent) => {
                inner.child.remove(path, session);
                inner.data.remove(path, session)
            }
            WatcherType::PersistentRecursive if mode == Some(WatchMode::PersistentRecursive) => {
                inner.data.remove(path, session)
            }
            WatcherType::Persistent | WatcherType::PersistentRecursive => false,
        }
    }

    /// Total number of watches (mntr `zk_watch_count`).
    pub fn count(&self) -> usize {
        let inner = self.lock();
        inner.data.count() + inner.child.count()
    }

    /// The `wchs` numbers. As in Apache, they describe the data-watch table only (data, exists and
    /// persistent watches); child watches count in `zk_watch_count` but not here.
    pub fn summary(&self) -> WatchSummary {
        let inner = self.lock();
        WatchSummary {
            connections: inner.data.session_count(),
            paths: inner.data.path_count(),
            total: inner.data.count(),
        }
    }

    /// The `wchp` (by path) or `wchc` (by session) dump of the data-watch table, in Apache's format: by
    /// path each path on its own line followed by `\t0x<session>` lines, by session each `0x<session>`
    /// followed by `\t<path>` lines. Child watches are not listed, as in Apache.
    pub fn dump(&self, by_path: bool) -> String {
        let inner = self.lock();
        let mut out = String::new();
        if by_path {
            for (path, sessions) in inner.data.by_path() {
                out.push_str(&path);
                out.push('\n');
                for s in sessions {
                    out.push_str(&format!("\t0x{s:x}\n"));
                }
            }
        } else {
            for (session, paths) in inner.data.by_session() {
                out.push_str(&format!("0x{session:x}\n"));
                for p in paths {
                    out.push_str(&format!("\t{p}\n"));
                }
            }
        }
        out
    }
}

impl Inner {
    /// Triggers one table for an event on `path` and sends the event to every fired session not in
    /// `skip`; the sessions fired.
    fn trigger(
        &mut self,
        table: Table,
        path: &str,
        event: EventType,
        zxid: i64,
        skip: &HashSet<i64>,
    ) -> HashSet<i64> {
        let table = match table {
            Table::Data => &mut self.data,
            Table::Child => &mut self.child,
        };
        let fired = table.trigger(path, event == EventType::NodeChildrenChanged);
        for session in fired.iter().filter(|s| !skip.contains(s)) {
            send(&self.sinks, *session, zxid, event, path);
        }
        fired
    }
}

/// The parent of a changed path.
fn parent(path: &str) -> &str {
    crate::tree::path::parent(path).unwrap_or("/")
}

fn send(
    sinks: &HashMap<i64, NotificationSink>,
    session: i64,
    zxid: i64,
    event_type: EventType,
    path: &str,
) {
    if let Some(sink) = sinks.get(&session) {
        let event = WatcherEvent {
            event_type: event_type.code(),
            state: KeeperState::SyncConnected.code(),
            path: path.to_owned(),
        };
        // A closed sink means the connection is going away; its watches are dropped with it.
        let _ = sink.send(notification_frame(zxid, &event));
    }
}

#[cfg(test)]
mod tests;
