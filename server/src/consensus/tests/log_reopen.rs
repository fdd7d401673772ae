//! The log store read back from disk after appends, a truncation, a purge, a torn write and space
//! allocated ahead.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use openraft::storage::{RaftLogReader, RaftLogStorage};
use openraft::testing::{blank_ent, log_id};

use super::append_durably;
use crate::consensus::log_store::LogStore;
use crate::consensus::typ::{Entry, LogId, TypeConfig, Vote};

fn blanks(term: u64, indexes: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    indexes
        .map(|i| blank_ent::<TypeConfig>(term, 1, i))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_purge_vote_and_commit_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // Tiny segments: every operation crosses segment boundaries.
    let mut store = LogStore::open(dir.path(), 128, true).unwrap();
    append_durably(&mut store, blanks(1, 0..=29)).await;
    store
        .truncate_after(Some(log_id::<TypeConfig>(1, 1, 19)))
        .await
        .unwrap();
    append_durably(&mut store, blanks(2, 20..=25)).await;
    store.purge(log_id::<TypeConfig>(1, 1, 9)).await.unwrap();
    let vote = Vote::new_committed(2, 1);
    store.save_vote(&vote).await.unwrap();
    store
        .save_committed(Some(log_id::<TypeConfig>(2, 1, 24)))
        .await
        .unwrap();
    append_durably(&mut store, blanks(2, 26..=26)).await;
    drop(store);

    let mut store = LogStore::open(dir.path(), 128, true).unwrap();
    let state = store.get_log_state().await.unwrap();
    assert_eq!(
        state.last_purged_log_id,
        Some(log_id::<TypeConfig>(1, 1, 9))
    );
    assert_eq!(state.last_log_id, Some(log_id::<TypeConfig>(2, 1, 26)));
    let entries = store.try_get_log_entries(0..100).await.unwrap();
    let ids: Vec<_> = entries.iter().map(|e| e.log_id).collect();
    let mut expected: Vec<_> = (10..=19).map(|i| log_id::<TypeConfig>(1, 1, i)).collect();
    expected.extend((20..=26).map(|i| log_id::<TypeConfig>(2, 1, i)));
    assert_eq!(ids, expected);
    assert_eq!(store.read_vote().await.unwrap(), Some(vote));
    assert_eq!(
        store.read_committed().await.unwrap(),
        Some(log_id::<TypeConfig>(2, 1, 24))
    );
}

/// The only segment file of the log in `dir`.
fn segment_of(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("raft-log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap()
}

/// Writes `bytes` into the file at `path` at `offset`, as a crash or a damaged disk leaves them.
fn write_at(path: &Path, offset: u64, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .write_all_at(bytes, offset)
        .unwrap();
}

/// The log ids of every entry of the log in `dir`, read back from its files.
async fn ids_on_disk(dir: &Path) -> Vec<LogId> {
    let mut store = LogStore::open(dir, 1 << 20, true).unwrap();
    let entries = store.try_get_log_entries(0..100).await.unwrap();
    entries.iter().map(|e| e.log_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    // Without fsync no space is allocated ahead: the file ends with the last record.
    let mut store = LogStore::open(dir.path(), 1 << 20, false).unwrap();
    append_durably(&mut store, blanks(1, 0..=4)).await;
    drop(store);

    let segment = segment_of(dir.path());
    let len = std::fs::metadata(&segment).unwrap().len();
    // A crash in the middle of writing the last entry.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 3)
        .unwrap();

    let mut store = LogStore::open(dir.path(), 1 << 20, true).unwrap();
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id::<TypeConfig>(1, 1, 3)));
    append_durably(&mut store, blanks(2, 4..=5)).await;
    drop(store);
    let mut store = LogStore::open(dir.path(), 1 << 20, true).unwrap();
    let ids: Vec<_> = store
        .try_get_log_entries(0..10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.log_id)
        .collect();
    assert_eq!(ids.last(), Some(&log_id::<TypeConfig>(2, 1, 5)));
    assert_eq!(ids.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn space_allocated_ahead_is_kept_and_written_over() {
    // Where the records of five entries end: the same entries in a log that allocates nothing.
    let plain = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(plain.path(), 1 << 20, false).unwrap();
    append_durably(&mut store, blanks(1, 0..=4)).await;
    drop(store);
    let records_end = std::fs::metadata(segment_of(plain.path())).unwrap().len();

    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(dir.path(), 1 << 20, true).unwrap();
    append_durably(&mut store, blanks(1, 0..=4)).await;
    drop(store);
    let segment = segment_of(dir.path());
    assert!(
        std::fs::metadata(&segment).unwrap().len() > records_end,
        "space is allocated after the records"
    );
    let expected: Vec<LogId> = (0..=4).map(|i| log_id::<TypeConfig>(1, 1, i)).collect();
    assert_eq!(ids_on_disk(dir.path()).await, expected);

    // A crash while the next entry was written into the allocated space: its header made it to
    // the disk, its payload did not.
    write_at(&segment, records_end, &[0, 0, 0, 40, 1, 2, 3, 4]);
    let mut store = LogStore::open(dir.path(), 1 << 20, true).unwrap();
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id::<TypeConfig>(1, 1, 4)));
    append_durably(&mut store, blanks(2, 5..=6)).await;
    drop(store);
    let mut expected = expected;
    expected.extend((5..=6).map(|i| log_id::<TypeConfig>(2, 1, i)));
    assert_eq!(ids_on_disk(dir.path()).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_segment_with_bytes_after_its_records_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Tiny segments: the entries fill several, each cut to its records when the next began.
    let mut store = LogStore::open(dir.path(), 128, true).unwrap();
    append_durably(&mut store, blanks(1, 0..=29)).await;
    drop(store);
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.path().join("raft-log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    assert!(segments.len() > 2, "{segments:?}");
    assert_eq!(ids_on_disk(dir.path()).await.len(), 30);

    // Zeros after the records of a closed segment are no space allocated ahead: entries that
    // were there are lost, and the log must not open as if the next segment followed.
    let closed = &segments[1];
    let len = std::fs::metadata(closed).unwrap().len();
    write_at(closed, len, &[0; 64]);
    let error = LogStore::open(dir.path(), 128, true)
        .err()
        .expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{error}");
}
