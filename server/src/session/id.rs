//! Session ids: unique across the ensemble because the high byte is the creating server's id, and across
//! restarts because the next five bytes come from the start time.

use std::sync::atomic::{AtomicI64, Ordering};

/// Apache's initial session id: `((now_ms << 24) >>> 8) | (server_id << 56)`.
pub fn initial_session_id(server_id: u64, now_ms: i64) -> i64 {
    let time_part = ((now_ms << 24) as u64 >> 8) as i64;
    time_part | ((server_id as i64) << 56)
}

/// Hands out session ids, counting up from [`initial_session_id`].
#[derive(Debug)]
pub struct SessionIdGenerator {
    next: AtomicI64,
}

impl SessionIdGenerator {
    /// Starts from the initial id for `server_id` at wall-clock time `now_ms`.
    pub fn new(server_id: u64, now_ms: i64) -> SessionIdGenerator {
        SessionIdGenerator {
            next: AtomicI64::new(initial_session_id(server_id, now_ms)),
        }
    }

    /// The next unused id.
    pub fn next_id(&self) -> i64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_id_in_high_byte_and_time_below() {
        let now = 0x0193_ca20_0000_i64;
        let id = initial_session_id(1, now);
        assert_eq!((id as u64) >> 56, 1);
        assert_eq!(id & 0xffff, 0, "low two bytes start at zero");
        assert_eq!((id >> 16) & 0xff_ffff_ffff, now & 0xff_ffff_ffff);
        // The seed scenario's ids on server 0 look like 0x193ca20004: time bits only.
        assert_eq!((initial_session_id(0, now) as u64) >> 56, 0);
    }

    #[test]
    fn large_server_ids_do_not_sign_extend_into_time() {
        let id = initial_session_id(255, i64::MAX);
        assert_eq!((id as u64) >> 56, 255);
    }

    #[test]
    fn generator_counts_up() {
        let g = SessionIdGenerator::new(3, 1_700_000_000_000);
        let a = g.next_id();
        assert_eq!(g.next_id(), a + 1);
    }
}
