//! One table of watches (Apache keeps two: data/exist and child), indexed both by path and by session,
//! with each (session, path) pair's mode.

use std::collections::{HashMap, HashSet};

/// How a watch behaves when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Removed when it fires.
    Standard,
    /// Stays; fires for its own path.
    Persistent,
    /// Stays; fires for its path and every descendant (never for child-list changes).
    PersistentRecursive,
}

/// Watches of one kind.
#[derive(Debug, Default)]
pub struct WatchTable {
    by_path: HashMap<String, HashMap<i64, WatchMode>>,
    by_session: HashMap<i64, HashSet<String>>,
    recursive: usize,
}

impl WatchTable {
    /// Adds (or re-modes: the last registration wins, as Apache) the watch of `session` on `path`.
    pub fn add(&mut self, path: &str, session: i64, mode: WatchMode) {
        let old = self
            .by_path
            .entry(path.to_owned())
            .or_default()
            .insert(session, mode);
        if old == Some(WatchMode::PersistentRecursive) {
            self.recursive -= 1;
        }
        if mode == WatchMode::PersistentRecursive {
            self.recursive += 1;
        }
        self.by_session
            .entry(session)
            .or_default()
            .insert(path.to_owned());
    }

    /// The mode of the watch of `session` on `path`.
    pub fn mode(&self, path: &str, session: i64) -> Option<WatchMode> {
        self.by_path.get(path)?.get(&session).copied()
    }

    /// Removes the watch of `session` on `path`; whether there was one.
    pub fn remove(&mut self, path: &str, session: i64) -> bool {
        let Some(watchers) = self.by_path.get_mut(path) else {
            return false;
        };
        let Some(mode) = watchers.remove(&session) else {
            return false;
        };
        if watchers.is_empty() {
            self.by_path.remove(path);
        }
        if mode == WatchMode::PersistentRecursive {
            self.recursive -= 1;
        }
        if let Some(paths) = self.by_session.get_mut(&session) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_session.remove(&session);
            }
        }
        true
    }

    /// Removes every watch of `session`.
    pub fn remove_session(&mut self, session: i64) {
        for path in self.by_session.get(&session).cloned().unwrap_or_default() {
            self.remove(&path, session);
        }
    }

    /// The sessions to notify of an event of `child_event` kind on `path`, as Apache's `triggerWatch`:
    /// watches on the path itself fire (one-shot ones are removed), and recursive watches on the path or
    /// any ancestor fire unless the event is a child-list change.
    pub fn trigger(&mut self, path: &str, child_event: bool) -> HashSet<i64> {
        let mut fired = HashSet::new();
        let mut spent = Vec::new();
        for (i, at) in ancestors_and_self(path, self.recursive > 0).enumerate() {
            let Some(watchers) = self.by_path.get(at) else {
                continue;
            };
            for (&session, &mode) in watchers {
                match mode {
                    WatchMode::PersistentRecursive if !child_event => {
                        fired.insert(session);
                    }
                    WatchMode::PersistentRecursive => {}
                    _ if i == 0 => {
                        fired.insert(session);
                        if mode == WatchMode::Standard {
                            spent.push(session);
                        }
                    }
                    _ => {}
                }
            }
            if i == 0 {
                for session in spent.drain(..) {
                    self.remove(at, session);
                }
            }
        }
        fired
    }

    /// Number of watches (Apache's `size()`: the sum over paths of their watchers).
    pub fn count(&self) -> usize {
        self.by_path.values().map(HashMap::len).sum()
    }

    /// Number of watched paths.
    pub fn path_count(&self) -> usize {
        self.by_path.len()
    }

    /// Number of sessions with a watch.
    pub fn session_count(&self) -> usize {
        self.by_session.len()
    }

    /// Paths with their sessions, sorted.
    pub fn by_path(&self) -> Vec<(String, Vec<i64>)> {
        let mut out: Vec<_> = self
            .by_path
            .iter()
            .map(|(p, w)| {
                let mut s: Vec<i64> = w.keys().copied().collect();
                s.sort();
                (p.clone(), s)
            })
            .collect();
        out.sort();
        out
    }

    /// Sessions with their paths, sorted.
    pub fn by_session(&self) -> Vec<(i64, Vec<String>)> {
        let mut out: Vec<_> = self
            .by_session
            .iter()
            .map(|(s, p)| {
                let mut paths: Vec<String> = p.iter().cloned().collect();
                paths.sort();
                (*s, paths)
            })
            .collect();
        out.sort();
        out
    }
}

/// `path` first, then (when `ancestors`) each ancestor up to `/`.
fn ancestors_and_self(path: &str, ancestors: bool) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = if ancestors {
            crate::tree::path::parent(current)
        } else {
            None
        };
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_watches_fire_once() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::Standard);
        assert_eq!(t.trigger("/a", false), HashSet::from([1]));
        assert!(t.trigger("/a", false).is_empty());
        assert_eq!(t.count(), 0);
        assert_eq!(t.session_count(), 0);
    }

    #[test]
    fn persistent_watches_stay_and_recursive_ones_see_descendants() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::Persistent);
        t.add("/a", 2, WatchMode::PersistentRecursive);
        assert_eq!(t.trigger("/a", false), HashSet::from([1, 2]));
        assert_eq!(t.trigger("/a/b/c", false), HashSet::from([2]));
        assert!(t.trigger("/a/b", true).is_empty());
        assert_eq!(t.trigger("/a", true), HashSet::from([1]));
        assert_eq!(t.count(), 2);
        assert!(t.remove("/a", 2));
        assert!(!t.remove("/a", 2));
        assert!(t.trigger("/a/b", false).is_empty());
    }

    #[test]
    fn last_registration_wins() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::PersistentRecursive);
        t.add("/a", 1, WatchMode::Standard);
        assert!(t.trigger("/a/b", false).is_empty());
        assert_eq!(t.trigger("/a", false), HashSet::from([1]));
        assert_eq!(t.count(), 0);
    }
}
