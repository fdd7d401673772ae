//! A small deterministic state machine for the tests: it records every command with its zxid.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::consensus::{Member, SnapshotError, StateMachine, codec};

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
}

impl TestMachine {
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

    fn snapshot(&self) -> Vec<u8> {
        codec::encode(&*self.state.lock().unwrap()).unwrap()
    }

    fn restore(&self, snapshot: &[u8]) -> Result<(), SnapshotError> {
        *self.state.lock().unwrap() =
            codec::decode(snapshot).map_err(|e| SnapshotError(e.to_string()))?;
        Ok(())
    }
}
