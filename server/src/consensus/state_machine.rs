//! The adapter between Raft's state machine interface and our [`StateMachine`].
//!
//! Every committed entry is applied in log order with `zxid = (term << 32) | (index & 0xffff_ffff)`:
//! normal entries go to [`StateMachine::apply`], membership entries to
//! [`StateMachine::apply_membership`], and blank entries (written by each new leader) only advance
//! the zxid. Snapshots are the state machine's own bytes plus Raft's metadata, stored by
//! [`SnapshotStore`]; on start the newest one is restored and Raft replays the log after it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use tokio::sync::Mutex;

use super::background;
use super::snapshot_store::SnapshotStore;
use super::typ::{
    Entry, LogId, Membership, PeerNode, Snapshot, SnapshotMeta, StoredMembership, TypeConfig,
};
use super::{Member, StateMachine};

/// The zxid of the entry at `log_id`: the term in the high 32 bits, the index in the low 32.
pub(crate) fn zxid_of(log_id: &LogId) -> i64 {
    ((log_id.leader_id.term << 32) | (log_id.index & 0xffff_ffff)) as i64
}

/// Applies one committed entry to `app`; the reply for its proposer. Normal entries go to
/// [`StateMachine::apply`], membership entries to [`StateMachine::apply_membership`], blank ones
/// only advance the zxid.
pub(crate) fn apply_entry(app: &dyn StateMachine, entry: &Entry) -> Vec<u8> {
    let zxid = zxid_of(&entry.log_id);
    match &entry.payload {
        EntryPayload::Blank => Vec::new(),
        EntryPayload::Normal(command) => app.apply(zxid, &command.0),
        EntryPayload::Membership(membership) => {
            app.apply_membership(zxid, &members_of(membership));
            Vec::new()
        }
    }
}

/// Our members as listed in a Raft membership (voters and learners, not the departed), in the
/// configuration's order: by rank where the change gave ranks, else by id.
pub(crate) fn members_of(membership: &Membership) -> Vec<Member> {
    let voters: std::collections::BTreeSet<u64> = membership.voter_ids().collect();
    let mut listed: Vec<(&u64, &PeerNode)> = membership
        .nodes()
        .filter(|(_, node)| !node.departed)
        .collect();
    listed.sort_by_key(|(id, node)| (node.rank.unwrap_or(u8::MAX), **id));
    listed
        .into_iter()
        .map(|(id, node)| Member {
            id: *id,
            spec: node.spec.clone(),
            voter: voters.contains(id),
        })
        .collect()
}

/// Raft's view of the application state machine; clones share the same state.
#[derive(Clone)]
pub(crate) struct StateMachineAdapter {
    shared: Arc<Shared>,
}

struct Shared {
    app: Arc<dyn StateMachine>,
    snapshots: SnapshotStore,
    applied: Mutex<Applied>,
    last_zxid: AtomicI64,
    commits: Commits,
}

/// Apache's `commit_count`: the entries this member proposed as leader that were committed (and
/// are now applied), since this process started. Entries of terms up to the one it started in are
/// left out: those are replayed from the log, not committed now.
struct Commits {
    /// This member's id (set with `after_term`).
    me: AtomicU64,
    /// Only entries of later terms count; `u64::MAX` (nothing counts) until set.
    after_term: AtomicU64,
    count: AtomicU64,
}

struct Applied {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    snapshot: Option<SnapshotMeta>,
}

impl StateMachineAdapter {
    /// Wraps `app`, first restoring it from the newest snapshot in `snapshots` if there is one.
    pub(crate) fn open(
        app: Arc<dyn StateMachine>,
        snapshots: SnapshotStore,
    ) -> io::Result<StateMachineAdapter> {
        let mut applied = Applied {
            last_applied: None,
            membership: StoredMembership::default(),
            snapshot: None,
        };
        let mut last_zxid = 0;
        if let Some((meta, data)) = snapshots.load_latest()? {
            app.restore(&data)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            tracing::info!(last_log_id = ?meta.last_log_id, "state restored from snapshot");
            last_zxid = meta.last_log_id.as_ref().map_or(0, zxid_of);
            applied.last_applied = meta.last_log_id;
            applied.membership = meta.last_membership.clone();
            applied.snapshot = Some(meta);
        }
        Ok(StateMachineAdapter {
            shared: Arc::new(Shared {
                app,
                snapshots,
                applied: Mutex::new(applied),
                last_zxid: AtomicI64::new(last_zxid),
                commits: Commits {
                    me: AtomicU64::new(0),
                    after_term: AtomicU64::new(u64::MAX),
                    count: AtomicU64::new(0),
                },
            }),
        })
    }

    /// Starts counting the commits of entries that member `me` proposes as leader in terms after
    /// `after_term` (the term this process started in).
    pub(crate) fn count_commits(&self, me: u64, after_term: u64) {
        let commits = &self.shared.commits;
        commits.me.store(me, Ordering::Relaxed);
        commits.after_term.store(after_term, Ordering::Release);
    }

    /// Back to no commit counted.
    pub(crate) fn reset_commit_count(&self) {
        self.shared.commits.count.store(0, Ordering::Relaxed);
    }

    /// How many entries this member proposed as leader were committed (see [`Commits`]).
    pub(crate) fn commit_count(&self) -> u64 {
        self.shared.commits.count.load(Ordering::Relaxed)
    }

    /// The zxid of the last applied entry (0 before the first).
    pub(crate) fn last_applied_zxid(&self) -> i64 {
        self.shared.last_zxid.load(Ordering::Acquire)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineAdapter {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        // Frozen under the apply lock, so the state matches the metadata exactly; encoded into
        // its file after it, while later entries apply, at a lower priority than serving.
        let (meta, encoder) = {
            let applied = self.shared.applied.lock().await;
            let meta = SnapshotMeta {
                last_log_id: applied.last_applied,
                last_membership: applied.membership.clone(),
            };
            (meta, self.shared.app.freeze())
        };
        let (store, to_save) = (self.shared.snapshots.clone(), meta.clone());
        let started = std::time::Instant::now();
        let bytes =
            background::run("snapshot-writer", move || store.save(&to_save, &encoder)).await?;
        // How long it took tells how busy the member was: a snapshot gives way to serving.
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(last_log_id = ?meta.last_log_id, bytes, ms, "snapshot written");
        self.shared.applied.lock().await.snapshot = Some(meta.clone());
        // Raft keeps only the metadata of a snapshot it had built: the data stays in its file,
        // read back by `get_current_snapshot` when a member needs it sent.
        Ok(Snapshot {
            meta,
            snapshot: Vec::new(),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineAdapter {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = StateMachineAdapter;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let applied = self.shared.applied.lock().await;
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut applied = self.shared.applied.lock().await;
        let commits = &self.shared.commits;
        let after_term = commits.after_term.load(Ordering::Acquire);
        let me = commits.me.load(Ordering::Relaxed);
        let mut committed_here = 0;
        while let Some((entry, responder)) = entries.try_next().await? {
            let zxid = zxid_of(&entry.log_id);
            let leader = &entry.log_id.leader_id;
            if leader.node_id == me
                && leader.term > after_term
                && !matches!(entry.payload, EntryPayload::Blank)
            {
                committed_here += 1;
            }
            let reply = apply_entry(self.shared.app.as_ref(), &entry);
            if let EntryPayload::Membership(membership) = &entry.payload {
                applied.membership = StoredMembership::new(Some(entry.log_id), membership.clone());
            }
            applied.last_applied = Some(entry.log_id);
            self.shared.last_zxid.store(zxid, Ordering::Release);
            if let Some(responder) = responder {
                responder.send(reply);
            }
        }
        commits.count.fetch_add(committed_here, Ordering::Relaxed);
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Vec<u8>,
    ) -> Result<(), io::Error> {
        let mut applied = self.shared.applied.lock().await;
        let (app, store, to_save) = (
            self.shared.app.clone(),
            self.shared.snapshots.clone(),
            meta.clone(),
        );
        // Restoring a large state takes long: off the async workers, which carry this member's
        // heartbeats and replies (and, in tests, other members' too).
        tokio::task::spawn_blocking(move || {
            app.restore(&snapshot)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            store.save(&to_save, &|out| out.write_all(&snapshot))
        })
        .await
        .map_err(io::Error::other)??;
        tracing::info!(last_log_id = ?meta.last_log_id, "snapshot installed");
        applied.last_applied = meta.last_log_id;
        applied.membership = meta.last_membership.clone();
        applied.snapshot = Some(meta.clone());
        self.shared.last_zxid.store(
            meta.last_log_id.as_ref().map_or(0, zxid_of),
            Ordering::Release,
        );
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        if self.shared.applied.lock().await.snapshot.is_none() {
            return Ok(None);
        }
        let store = self.shared.snapshots.clone();
        let latest = tokio::task::spawn_blocking(move || store.load_latest())
            .await
            .map_err(io::Error::other)??;
        Ok(latest.map(|(meta, snapshot)| Snapshot { meta, snapshot }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn membership(nodes: &[(u64, PeerNode)]) -> Membership {
        let voters: BTreeSet<u64> = nodes.iter().map(|(id, _)| *id).collect();
        let nodes: BTreeMap<u64, PeerNode> = nodes.iter().cloned().collect();
        Membership::new(vec![voters], nodes).unwrap()
    }

    #[test]
    fn members_are_listed_by_rank_where_ranked_else_by_id() {
        let ranked = membership(&[
            (1, PeerNode::ranked("a", Some(1))),
            (2, PeerNode::ranked("b", Some(2))),
            (4, PeerNode::ranked("d", Some(0))),
        ]);
        let ids: Vec<u64> = members_of(&ranked).iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![4, 1, 2]);
        let plain = membership(&[(2, PeerNode::new("b")), (1, PeerNode::new("a"))]);
        let ids: Vec<u64> = members_of(&plain).iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 2]);
    }
}
