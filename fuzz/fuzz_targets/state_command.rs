//! Any bytes as a committed log entry's command, applied twice over (the second on the state
//! the first left): decoding and every write operation must refuse, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_server::consensus::StateMachine;

fuzz_target!(|data: &[u8]| {
    let state = zk_fuzz::state();
    let _ = state.apply(1, data);
    let _ = state.apply(2, data);
});
