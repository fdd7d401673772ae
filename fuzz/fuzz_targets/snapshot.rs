//! Any bytes as a snapshot to restore; a snapshot that restores must encode again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_server::consensus::StateMachine;

fuzz_target!(|data: &[u8]| {
    let state = zk_fuzz::state();
    if state.restore(data).is_ok() {
        let again = state.snapshot();
        assert!(
            state.restore(&again).is_ok(),
            "a snapshot of a restored state does not restore"
        );
    }
});
