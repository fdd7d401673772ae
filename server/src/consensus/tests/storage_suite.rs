//! openraft's storage conformance suite against our log store and state machine adapter.

use std::sync::Arc;

use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use tempfile::TempDir;

use super::machine::TestMachine;
use crate::consensus::log_store::LogStore;
use crate::consensus::snapshot_store::SnapshotStore;
use crate::consensus::state_machine::StateMachineAdapter;
use crate::consensus::typ::TypeConfig;

struct OnDisk;

impl StoreBuilder<TypeConfig, LogStore, StateMachineAdapter, TempDir> for OnDisk {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore, StateMachineAdapter), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().expect("temp dir");
        // Small segments, so the suite's truncations and purges cross segment boundaries.
        let log = LogStore::open(dir.path(), 256, true).expect("open log");
        let snapshots = SnapshotStore::open(dir.path(), 2).expect("open snapshots");
        let sm = StateMachineAdapter::open(Arc::new(TestMachine::default()), snapshots)
            .expect("open sm");
        Ok((dir, log, sm))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openraft_storage_suite_passes() {
    Suite::test_all(OnDisk).await.expect("storage suite");
}
