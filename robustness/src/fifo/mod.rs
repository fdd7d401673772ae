//! Per-session FIFO under faults: sessions that pipeline their writes (many in flight on one connection),
//! each write a sequential create under the session's own parent holding the session's submission number,
//! and a check that every member's children show the writes committed in submission order, with nothing
//! committed after a write its connection lost.
//!
//! - [`history`]: what each session sent, on which connection attempt, and how each write ended;
//! - [`wire`]: one pipelined connection, in the client protocol;
//! - [`load`]: the sessions, reconnecting after each lost connection;
//! - [`survey`]: what a member holds under the sessions' parents;
//! - [`check`]: the FIFO rules, checked against one member's state.

pub mod check;
pub mod history;
pub mod load;
pub mod survey;
pub mod wire;

/// Where the sessions' parents live.
pub const ROOT: &str = "/fifo";
/// The name of every write's znode, before its sequence suffix.
pub const PREFIX: &str = "w-";

/// The parent of session `session`'s writes.
pub fn parent(session: u32) -> String {
    format!("{ROOT}/s{session}")
}

/// The sequence number of a write's znode, from its path or name.
pub fn sequence_of(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    name.strip_prefix(PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_the_suffix_of_the_name() {
        assert_eq!(sequence_of("/fifo/s3/w-0000000042"), Some(42));
        assert_eq!(sequence_of("w-0000000007"), Some(7));
        assert_eq!(sequence_of("/fifo/s3/x-0000000042"), None);
        assert_eq!(sequence_of("/fifo/s3/w-"), None);
    }
}
