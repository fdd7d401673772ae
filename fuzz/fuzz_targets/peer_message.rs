//! Any bytes as a frame body from another member (request or answer).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = zk_server::consensus::fuzzing::peer_message(data);
});
