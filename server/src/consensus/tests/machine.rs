//! A small deterministic state machine for the tests: it records every command with its zxid.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::consensus::{Member, SnapshotEncoder, SnapshotError, StateMachine, codec};

/// Everything the test machine has applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Applied {
    /// `(zxid, command)` of every normal entry, in order.
    pub(super) commands: Vec<(i64, Vec<u8>)>,
    /// `(zxid, members)` of every membership entry, in order.
    pub(super) memberships: Vec<(i64, Vec<Member>)>,
}

/// Applies commands by recording them; replies with the zxid followed by the command.
#[derive(Debug, Default)]
pub(super) struct TestMachine {
    state: Mutex<Applied>,
    /// How long restoring a snapshot takes (as a large one would).
    restore_time: Duration,
    /// How many snapshots were restored.
    restores: AtomicUsize,
}

impl TestMachine {
    /// A machine whose restores take `restore_time`, as a large snapshot's would.
    pub(super) fn slow_to_restore(restore_time: Duration) -> TestMachine {
        TestMachine {
            restore_time,
            ..TestMachine::default()
        }
    }

    /// How many commands were applied.
    pub(super) fn command_count(&self) -> usize {
        self.state.lock().unwrap().commands.len()
    }

    /// How many snapshots were restored.
    pub(super) fn restores(&self) -> usize {
        self.restores.load(Ordering::SeqCst)
    }

    pub(super) fn applied(&self) -> Applied {
        self.state.lock().unwrap().clone()
    }

    /// The commands applied, without zxids.
    pub(super) fn commands(&self) -> Vec<Vec<u8>> {
        self.applied()
            .commands
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }
}

impl StateMachine for TestMachine {
    fn apply(&self, zxid: i64, command: &[u8]) -> Vec<u8> {
        self.state
            .lock()
            .unwrap()
            .commands
            .push((zxid, command.to_vec()));
        let mut reply = zxid.to_be_bytes().to_vec();
        reply.extend_from_slice(command);
        reply
    }

    fn apply_membership(&self, zxid: i64, members: &[Member]) {
        self.state
            .lock()
            .unwrap()
            .memberships
            .push((zxid, members.to_vec()));
    }

    fn freeze(&self) -> SnapshotEncoder {
        let bytes = codec::encode(&*self.state.lock().unwrap()).unwrap();
        Box::new(move |out| out.write_all(&bytes))
    }

    fn restore(&self, snapshot: &[u8]) -> Result<(), SnapshotError> {
        std::thread::sleep(self.restore_time);
        self.restores.fetch_add(1, Ordering::SeqCst);
        *self.state.lock().unwrap() =
            codec::decode(snapshot).map_err(|e| SnapshotError(e.to_string()))?;
        Ok(())
    }
}
