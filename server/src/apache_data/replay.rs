//! Apache's transactions replayed on an imported tree, as Apache's `DataTree.processTxn` and
//! `FileTxnSnapLog.processTransaction` apply them when Apache loads its logs after a snapshot.
//!
//! A snapshot is fuzzy (taken while transactions were applied), so the first transactions after
//! its zxid may already be in it: as in Apache, a create of an existing node or a change of a
//! missing one is skipped, and a create raises the parent's cversion (and sets its pzxid) only if
//! that makes it larger. A failed multi changes nothing. A reconfig changes only the ensemble's
//! configuration, which the target server sets itself (see `snapshot`).

use std::collections::BTreeMap;

use super::txn_log::{Txn, TxnOp};
use crate::tree::{DataTree, NewNode, Node, NodeStat, path};

/// The state being rebuilt.
#[derive(Debug)]
pub struct Replay {
    /// The tree.
    pub tree: DataTree,
    /// Live sessions and their timeouts, ms.
    pub sessions: BTreeMap<i64, i32>,
    /// The zxid of the last transaction applied (or of the snapshot).
    pub zxid: i64,
    /// The latest transaction time seen, ms.
    pub time: i64,
}

impl Replay {
    /// Applies one transaction.
    pub fn apply(&mut self, txn: Txn) {
        self.zxid = txn.zxid;
        self.time = self.time.max(txn.time);
        self.apply_op(&txn, txn.op.clone());
    }

    fn apply_op(&mut self, txn: &Txn, op: TxnOp) {
        let (zxid, time) = (txn.zxid, txn.time);
        let tree = &mut self.tree;
        match op {
            TxnOp::CreateSession { timeout_ms } => {
                self.sessions.insert(txn.session, timeout_ms);
            }
            TxnOp::CloseSession => {
                for path in tree.ephemerals_of(txn.session) {
                    tree.delete(&path, zxid);
                }
                self.sessions.remove(&txn.session);
            }
            TxnOp::Create {
                path,
                data,
                acl,
                owner,
                parent_cversion,
            } => {
                let Some(parent) = path::parent(&path).and_then(|p| tree.get(p)) else {
                    return;
                };
                if tree.get(&path).is_some() {
                    return;
                }
                let current = parent.stored_stat().cversion;
                let cversion = match parent_cversion {
                    -1 => current.wrapping_add(1),
                    given => given,
                };
                if cversion > current {
                    let new = NewNode {
                        data,
                        acl: &acl,
                        owner,
                    };
                    tree.create(&path, new, cversion, zxid, time);
                } else {
                    let acl = tree.intern(&acl);
                    let stat = NodeStat::created(zxid, time, owner);
                    tree.insert_raw(&path, Node::new(data, acl, stat));
                }
            }
            TxnOp::Delete { path } => {
                if tree.get(&path).is_some_and(|n| n.has_no_children()) {
                    tree.delete(&path, zxid);
                }
            }
            TxnOp::SetData {
                path,
                data,
                version,
            } => {
                if tree.get(&path).is_some() {
                    tree.set_data(&path, data, version, zxid, time);
                }
            }
            TxnOp::SetAcl { path, acl, version } => {
                if tree.get(&path).is_some() {
                    tree.set_acl(&path, &acl, version);
                }
            }
            TxnOp::Multi(ops) => {
                for op in ops {
                    self.apply_op(txn, op);
                }
            }
            TxnOp::Reconfig | TxnOp::NoChange | TxnOp::FailedMulti => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::open_acl;

    fn txn(session: i64, zxid: i64, op: TxnOp) -> Txn {
        Txn {
            session,
            zxid,
            time: 1000 + zxid,
            op,
        }
    }

    fn create(path: &str, owner: i64, parent_cversion: i32) -> TxnOp {
        TxnOp::Create {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: open_acl(),
            owner,
            parent_cversion,
        }
    }

    fn replay() -> Replay {
        Replay {
            tree: DataTree::new(),
            sessions: BTreeMap::new(),
            zxid: 0,
            time: 0,
        }
    }

    #[test]
    fn creates_sets_and_deletes_give_apache_stats() {
        let mut r = replay();
        r.apply(txn(5, 1, TxnOp::CreateSession { timeout_ms: 4000 }));
        r.apply(txn(5, 2, create("/a", 0, -1)));
        r.apply(txn(5, 3, create("/a/e", 5, 1)));
        r.apply(txn(5, 4, create("/a/p", 0, 2)));
        r.apply(txn(
            5,
            5,
            TxnOp::SetData {
                path: "/a".into(),
                data: None,
                version: 1,
            },
        ));
        r.apply(txn(
            5,
            6,
            TxnOp::Delete {
                path: "/a/p".into(),
            },
        ));
        let a = r.tree.get("/a").unwrap();
        assert_eq!(
            (
                a.stored_stat().czxid,
                a.stored_stat().mzxid,
                a.stored_stat().pzxid
            ),
            (2, 5, 6)
        );
        assert_eq!((a.stored_stat().version, a.stored_stat().cversion), (1, 2));
        assert_eq!(a.stat().cversion, 3, "two creates and a delete");
        assert_eq!(a.data(), None);
        assert_eq!(r.tree.get("/").unwrap().stored_stat().cversion, 1);
        assert_eq!(r.sessions.get(&5), Some(&4000));
        r.apply(txn(5, 7, TxnOp::CloseSession));
        assert!(r.tree.get("/a/e").is_none());
        assert!(r.sessions.is_empty());
        assert_eq!(r.tree.get("/a").unwrap().stored_stat().pzxid, 7);
        assert_eq!((r.zxid, r.time), (7, 1007));
    }

    #[test]
    fn a_fuzzy_replay_neither_duplicates_nor_lowers() {
        let mut r = replay();
        r.apply(txn(1, 1, create("/a", 0, 1)));
        r.apply(txn(1, 2, create("/a/x", 0, 1)));
        r.apply(txn(1, 3, create("/a/y", 0, 2)));
        // Replayed again: the node exists; an older create of a deleted node keeps the parent.
        r.apply(txn(1, 2, create("/a/x", 0, 1)));
        r.apply(txn(1, 4, create("/a/z", 0, 1)));
        let a = r.tree.get("/a").unwrap();
        assert_eq!((a.stored_stat().cversion, a.stored_stat().pzxid), (2, 3));
        assert!(r.tree.get("/a/z").is_some());
        assert_eq!(r.tree.get("/a/x").unwrap().stored_stat().czxid, 2);
    }

    #[test]
    fn a_failed_multi_changes_nothing_and_a_good_one_everything() {
        let mut r = replay();
        r.apply(txn(1, 1, TxnOp::FailedMulti));
        assert_eq!(r.tree.iter().count(), DataTree::new().iter().count());
        r.apply(txn(
            1,
            2,
            TxnOp::Multi(vec![
                create("/m", 0, 1),
                create("/m/c", 0, 1),
                TxnOp::NoChange,
            ]),
        ));
        assert_eq!(r.tree.get("/m/c").unwrap().stored_stat().czxid, 2);
        assert_eq!(r.zxid, 2);
    }
}
