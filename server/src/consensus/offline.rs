//! A member's storage while no server runs on it: seeding a new data directory with a state (an
//! import), and recovering the state a stopped member would start with (an export).
//!
//! A seeded member looks like one whose log was purged by a snapshot: the snapshot holds the
//! state with the last log id `(term = zxid >> 32, index = zxid & 0xffff_ffff)`, so the zxid the
//! server reports after the restore is the seeded one, and the membership of the given members;
//! the log is empty and the vote is at the snapshot's term (not committed). On start the member
//! is an initialized ensemble member: its first election is for the next term, and every entry
//! after the seed has a larger zxid. Members of its ensemble started with empty storage join it
//! and receive the snapshot from the leader.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{RaftLogReader, RaftLogStorage};
use openraft::vote::RaftLeaderId;

use super::log_store::{DEFAULT_SEGMENT_BYTES, LogStore, seed_vote};
use super::snapshot_store::SnapshotStore;
use super::state_machine::{apply_entry, zxid_of};
use super::typ::{LogId, Membership, PeerNode, SnapshotMeta, StoredMembership, TypeConfig, Vote};
use super::{ConsensusError, Member, SnapshotEncoder, StateMachine};

type LeaderId = <TypeConfig as openraft::RaftTypeConfig>::LeaderId;

fn storage(e: impl std::fmt::Display) -> ConsensusError {
    ConsensusError::Storage(e.to_string())
}

/// Writes the storage of member `my_id` (snapshots under `data_dir`, the vote under
/// `data_log_dir`) so that it starts with `state` (a state frozen by [`StateMachine::freeze`],
/// encoded straight into the snapshot file) as applied up to `last_zxid`, in an ensemble of
/// `members`. The directories must hold no storage of a member yet. Returns the snapshot file's
/// size.
pub fn seed(
    data_dir: &Path,
    data_log_dir: &Path,
    my_id: u64,
    members: &[Member],
    last_zxid: i64,
    state: &SnapshotEncoder,
) -> Result<u64, ConsensusError> {
    if !members.iter().any(|m| m.id == my_id && m.voter) {
        return Err(ConsensusError::Config(format!(
            "member {my_id} is not a voter of the member list"
        )));
    }
    let term = (last_zxid as u64) >> 32;
    let leader = LeaderId::new(term, my_id);
    let last = LogId::new(leader.to_committed(), last_zxid as u64 & 0xffff_ffff);
    let voters: BTreeSet<u64> = members.iter().filter(|m| m.voter).map(|m| m.id).collect();
    let nodes: BTreeMap<u64, PeerNode> = members
        .iter()
        .map(|m| (m.id, PeerNode::new(&m.spec)))
        .collect();
    let membership = Membership::new(vec![voters], nodes)
        .map_err(|e| ConsensusError::InvalidMembership(e.to_string()))?;
    let meta = SnapshotMeta {
        last_log_id: Some(last),
        last_membership: StoredMembership::new(Some(last), membership),
    };
    std::fs::create_dir_all(data_log_dir).map_err(storage)?;
    let bytes = SnapshotStore::open(data_dir, 1)
        .and_then(|store| store.save(&meta, state))
        .map_err(storage)?;
    seed_vote(data_log_dir, &Vote::new(term, my_id)).map_err(storage)?;
    Ok(bytes)
}

/// Restores `sm` to the state a member with this storage would start with: its newest snapshot,
/// then the committed log entries after it. Returns the zxid of the last entry applied and the
/// number of entries past the committed mark that were left out (appended but not known to be
/// committed).
pub async fn recover(
    data_dir: &Path,
    data_log_dir: &Path,
    sm: Arc<dyn StateMachine>,
) -> Result<(i64, u64), ConsensusError> {
    let snapshots = SnapshotStore::open(data_dir, u32::MAX).map_err(storage)?;
    let mut last = None;
    if let Some((meta, data)) = snapshots.load_latest().map_err(storage)? {
        sm.restore(&data).map_err(storage)?;
        last = meta.last_log_id;
    }
    let mut last_zxid = last.as_ref().map_or(0, zxid_of);
    let mut log = LogStore::open(data_log_dir, DEFAULT_SEGMENT_BYTES, false).map_err(storage)?;
    let committed = log.read_committed().await.map_err(storage)?;
    let from = last.map_or(0, |l| l.index + 1);
    let entries = log.try_get_log_entries(from..).await.map_err(storage)?;
    let mut left_out = 0;
    for entry in entries {
        if committed.is_none_or(|c| entry.log_id > c) {
            left_out += 1;
            continue;
        }
        last_zxid = zxid_of(&entry.log_id);
        apply_entry(sm.as_ref(), &entry);
    }
    Ok((last_zxid, left_out))
}
