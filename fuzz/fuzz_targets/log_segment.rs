//! Any bytes as a log segment file read at start-up.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = zk_server::consensus::fuzzing::log_segment(data);
});
