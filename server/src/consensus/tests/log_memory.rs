//! The log store with committed entries out of memory: read back from the segment files exactly
//! as appended, through truncations, purges and reopens, against a plain in-memory model; and
//! its segment files bounded by purges.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::EntryPayload;
use openraft::rt::Oneshot;
use openraft::storage::{IOFlushed, RaftLogReader, RaftLogStorage};
use openraft::testing::log_id;
use openraft::type_config::alias::OneshotOf;
use proptest::prelude::*;

use super::append_durably;
use crate::consensus::log_store::LogStore;
use crate::consensus::typ::{Command, Entry, LogId, TypeConfig};

/// An entry of `term` at `index` whose command (of `len` bytes) tells both apart.
fn entry(term: u64, index: u64, len: usize) -> Entry {
    let mut command = format!("{term}/{index}/").into_bytes();
    command.resize(command.len() + len, b'a' + (index % 26) as u8);
    Entry {
        log_id: log_id::<TypeConfig>(term, 1, index),
        payload: EntryPayload::Normal(Command(command)),
    }
}

fn entries(term: u64, indexes: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    indexes
        .map(|i| entry(term, i, (i * 37 % 300) as usize))
        .collect()
}

fn committed(index: u64, term: u64) -> Option<LogId> {
    Some(log_id::<TypeConfig>(term, 1, index))
}

/// Every entry of the store.
async fn all(store: &mut LogStore) -> Vec<Entry> {
    store.try_get_log_entries(..).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_out_of_memory_read_back_as_appended() {
    let dir = tempfile::tempdir().unwrap();
    // Small segments: reads cross segment boundaries.
    let mut store = LogStore::open_keeping(dir.path(), 512, true, 4).unwrap();
    let appended = entries(1, 1..=60);
    append_durably(&mut store, appended.clone()).await;
    assert_eq!(store.in_memory(), 60, "nothing committed yet");
    store.save_committed(committed(50, 1)).await.unwrap();
    assert_eq!(
        store.in_memory(),
        14,
        "the 4 last committed and the 10 uncommitted"
    );

    assert_eq!(all(&mut store).await, appended);
    let range = store.try_get_log_entries(10..=52).await.unwrap();
    assert_eq!(range, appended[9..52], "across the disk and memory");
    let range = store.try_get_log_entries(3..7).await.unwrap();
    assert_eq!(range, appended[2..6], "from the disk only");

    // Committed before it is written (a leader's quorum may not include itself): readable
    // throughout, out of memory once written.
    let more = entries(1, 61..=70);
    let (tx, rx) = <OneshotOf<TypeConfig> as Oneshot>::channel();
    store
        .append(more.clone(), IOFlushed::signal(tx))
        .await
        .unwrap();
    store.save_committed(committed(70, 1)).await.unwrap();
    let all_appended: Vec<Entry> = appended.iter().chain(&more).cloned().collect();
    assert_eq!(all(&mut store).await, all_appended);
    rx.await.unwrap().unwrap();
    store.save_committed(committed(70, 1)).await.unwrap();
    assert_eq!(store.in_memory(), 4, "written: only the kept ones stay");
    assert_eq!(all(&mut store).await, all_appended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_purge_and_reopen_with_entries_out_of_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open_keeping(dir.path(), 256, true, 2).unwrap();
    let mut expected = entries(1, 1..=30);
    append_durably(&mut store, expected.clone()).await;
    store
        .truncate_after(Some(log_id::<TypeConfig>(1, 1, 25)))
        .await
        .unwrap();
    expected.truncate(25);
    let later = entries(2, 26..=28);
    append_durably(&mut store, later.clone()).await;
    expected.extend(later);
    store.save_committed(committed(28, 2)).await.unwrap();
    assert_eq!(store.in_memory(), 2);
    let refused = store
        .truncate_after(Some(log_id::<TypeConfig>(1, 1, 10)))
        .await;
    assert!(refused.is_err(), "entries out of memory are committed");

    store.purge(log_id::<TypeConfig>(1, 1, 12)).await.unwrap();
    expected.drain(..12);
    assert_eq!(all(&mut store).await, expected);
    // Every write done, the committed mark with them (the first one is written at once).
    append_durably(&mut store, Vec::new()).await;
    drop(store);

    let mut store = LogStore::open_keeping(dir.path(), 256, true, 2).unwrap();
    assert_eq!(store.in_memory(), 2, "the committed mark was read back");
    let state = store.get_log_state().await.unwrap();
    assert_eq!(
        state.last_purged_log_id,
        Some(log_id::<TypeConfig>(1, 1, 12))
    );
    assert_eq!(state.last_log_id, committed(28, 2));
    assert_eq!(all(&mut store).await, expected);
    let later = entries(2, 29..=31);
    append_durably(&mut store, later.clone()).await;
    expected.extend(later);
    assert_eq!(all(&mut store).await, expected);
    store.purge(log_id::<TypeConfig>(2, 1, 27)).await.unwrap();
    expected.drain(..15);
    assert_eq!(all(&mut store).await, expected);
}

/// The segment files of the log in `dir`: how many and their bytes.
fn segment_files(dir: &Path) -> (usize, u64) {
    std::fs::read_dir(dir.join("raft-log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .fold((0, 0), |(n, bytes), p| {
            (n + 1, bytes + std::fs::metadata(p).unwrap().len())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purges_after_snapshots_keep_the_segments_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // Segments far larger than what is written between two snapshots: only the roll at each
    // purge lets the written ones go.
    let mut store = LogStore::open(dir.path(), 1 << 30, false).unwrap();
    let per_snapshot = 200;
    let mut most = (0, 0);
    for snapshot in 1..=10u64 {
        let last = snapshot * per_snapshot;
        append_durably(&mut store, entries(1, last - per_snapshot + 1..=last)).await;
        store.save_committed(committed(last, 1)).await.unwrap();
        // A snapshot at `last`, the log purged up to 50 entries behind it (as Raft keeps some).
        store
            .purge(log_id::<TypeConfig>(1, 1, last - 50))
            .await
            .unwrap();
        // The purge's files go once the writer has passed it.
        append_durably(&mut store, Vec::new()).await;
        let (files, bytes) = segment_files(dir.path());
        most = (most.0.max(files), most.1.max(bytes));
    }
    assert!(most.0 <= 2, "at most two segments: {most:?}");
    let one_snapshot: u64 = entries(1, 1..=per_snapshot)
        .iter()
        .map(|e| crate::consensus::codec::encode(e).unwrap().len() as u64 + 16)
        .sum();
    assert!(
        most.1 <= 2 * one_snapshot,
        "at most what two snapshots' entries take: {most:?}, {one_snapshot}"
    );
    let ids: Vec<u64> = all(&mut store)
        .await
        .iter()
        .map(|e| e.log_id.index)
        .collect();
    assert_eq!(ids, (1951..=2000).collect::<Vec<_>>());
}

/// One step of the model test.
#[derive(Debug, Clone)]
enum Step {
    /// Append this many entries (of the current term), waiting for them to be written or not.
    Append(u64, bool),
    /// Commit up to this share (per thousand) of the uncommitted entries.
    Commit(u64),
    /// Truncate after this share of the uncommitted entries, and start a new term.
    Truncate(u64),
    /// Purge up to this share of the committed entries.
    Purge(u64),
    /// Read the entries between these shares of the log.
    Read(u64, u64),
    /// Wait for every write, close the store and open it again.
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..40u64, any::<bool>()).prop_map(|(n, wait)| Step::Append(n, wait)),
        3 => (0..=1000u64).prop_map(Step::Commit),
        1 => (0..=1000u64).prop_map(Step::Truncate),
        1 => (0..=1000u64).prop_map(Step::Purge),
        3 => (0..=1000u64, 0..=1000u64).prop_map(|(a, b)| Step::Read(a.min(b), a.max(b))),
        1 => Just(Step::Reopen),
    ]
}

/// What the log holds, kept plainly.
#[derive(Default)]
struct Model {
    entries: BTreeMap<u64, Entry>,
    purged: Option<LogId>,
    committed: u64,
    term: u64,
}

impl Model {
    fn last(&self) -> u64 {
        self.entries
            .keys()
            .next_back()
            .copied()
            .or(self.purged.map(|p| p.index))
            .unwrap_or(0)
    }

    /// The index `per_mille` of the way from `from` to the last entry.
    fn between(&self, from: u64, per_mille: u64) -> u64 {
        from + (self.last().saturating_sub(from)) * per_mille / 1000
    }
}

async fn run_steps(steps: Vec<Step>) {
    const KEPT: u64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let open = || LogStore::open_keeping(dir.path(), 1024, true, KEPT).unwrap();
    let mut store = open();
    let mut model = Model {
        term: 1,
        ..Model::default()
    };
    for step in steps {
        match step {
            Step::Append(n, wait) => {
                let first = model.last() + 1;
                let new = entries(model.term, first..=first + n - 1);
                model
                    .entries
                    .extend(new.iter().map(|e| (e.log_id.index, e.clone())));
                if wait {
                    append_durably(&mut store, new).await;
                } else {
                    store.append(new, IOFlushed::noop()).await.unwrap();
                }
            }
            Step::Commit(share) => {
                let to = model.between(model.committed, share);
                if let Some(entry) = model.entries.get(&to) {
                    model.committed = to;
                    store.save_committed(Some(entry.log_id)).await.unwrap();
                }
            }
            Step::Truncate(share) => {
                let after = model.between(model.committed, share);
                let Some(last) = model.entries.get(&after).map(|e| e.log_id) else {
                    continue;
                };
                model.entries.split_off(&(after + 1));
                model.term += 1;
                store.truncate_after(Some(last)).await.unwrap();
            }
            Step::Purge(share) => {
                let from = model.purged.map_or(0, |p| p.index);
                let to = from + model.committed.saturating_sub(from) * share / 1000;
                let Some(id) = model.entries.get(&to).map(|e| e.log_id) else {
                    continue;
                };
                model.entries = model.entries.split_off(&(to + 1));
                model.purged = Some(id);
                store.purge(id).await.unwrap();
            }
            Step::Read(a, b) => {
                let (from, to) = (model.between(0, a), model.between(0, b) + 1);
                let read = store.try_get_log_entries(from..to).await.unwrap();
                let expected: Vec<Entry> = model
                    .entries
                    .range(from..to)
                    .map(|(_, e)| e.clone())
                    .collect();
                assert_eq!(read, expected, "entries {from}..{to}");
            }
            Step::Reopen => {
                append_durably(&mut store, Vec::new()).await;
                let writer = store.writer_stats();
                drop(store);
                // The writer thread ends (writing its last committed mark) before the log opens
                // again: two writers would replace the mark's file at once.
                let deadline = Instant::now() + Duration::from_secs(10);
                while Arc::strong_count(&writer) > 1 {
                    assert!(Instant::now() < deadline, "the log writer never stopped");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                store = open();
            }
        }
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, model.purged);
        let last = model
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(model.purged);
        assert_eq!(state.last_log_id, last);
    }
    append_durably(&mut store, Vec::new()).await;
    store
        .save_committed(model.entries.get(&model.committed).map(|e| e.log_id))
        .await
        .unwrap();
    let uncommitted = model.last() - model.committed;
    assert!(
        store.in_memory() as u64 <= uncommitted + KEPT,
        "{} in memory, {uncommitted} uncommitted",
        store.in_memory()
    );
    assert_eq!(
        all(&mut store).await,
        model.entries.into_values().collect::<Vec<_>>()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_log_reads_as_a_plain_model_of_it(steps in prop::collection::vec(step(), 1..40)) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(run_steps(steps));
    }
}
