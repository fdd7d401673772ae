//! A full data or log volume: the member waits for space instead of failing.
//!
//! A write that fails for want of space (`ENOSPC`, `EDQUOT`) has changed nothing once its caller
//! has cut its partial bytes off again, so it can be retried. The member records that its volume
//! is full (the server refuses new client writes meanwhile), says so once in
//! the log, and retries every [`RETRY_EVERY`] until the write goes through; nothing it could not
//! write is acknowledged. Every other error is passed on: an fsync that failed, in particular,
//! may have dropped dirty pages, so it is never retried.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a write refused for want of space is tried again.
pub(crate) const RETRY_EVERY: Duration = Duration::from_millis(250);

/// Whether this member's data or log volume is full right now; shared by its writers.
#[derive(Debug, Default)]
pub(crate) struct DiskSpace {
    full: AtomicBool,
}

impl DiskSpace {
    /// `true` while a write of the log, the vote or a snapshot waits for space.
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Runs `write` until it succeeds or fails for another reason than a full volume. `write`
    /// must leave nothing behind when it fails (cut its partial bytes off, remove its temporary
    /// file), so that a retry starts from the same state; `path` names where it writes.
    pub(crate) fn retry_while_full<T>(
        &self,
        path: &Path,
        mut write: impl FnMut() -> io::Result<T>,
    ) -> io::Result<T> {
        let mut waited = false;
        loop {
            match write() {
                Err(e) if is_out_of_space(&e) => {
                    if !waited {
                        tracing::error!(
                            path = %path.display(),
                            error = %e,
                            "the volume is full: writes are refused until space is freed, retrying every {RETRY_EVERY:?}"
                        );
                        waited = true;
                    }
                    self.full.store(true, Ordering::Relaxed);
                    std::thread::sleep(RETRY_EVERY);
                }
                result => {
                    if waited && result.is_ok() {
                        tracing::info!(path = %path.display(), "space is free again: writes are accepted");
                        self.full.store(false, Ordering::Relaxed);
                    }
                    return result;
                }
            }
        }
    }
}

/// A write refused because the volume (or the user's quota on it) is full.
pub(crate) fn is_out_of_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_refused_for_space_is_retried_and_other_errors_are_not() {
        let space = DiskSpace::default();
        let mut tries = 0;
        let written = space.retry_while_full(Path::new("log"), || {
            tries += 1;
            match tries {
                1 | 2 => Err(io::Error::from(io::ErrorKind::StorageFull)),
                _ => Ok(tries),
            }
        });
        assert_eq!(written.unwrap(), 3);
        assert!(!space.is_full());

        let mut tries = 0;
        let failed = space.retry_while_full(Path::new("log"), || {
            tries += 1;
            Err::<(), _>(io::Error::other("EIO"))
        });
        assert!(failed.is_err());
        assert_eq!(tries, 1);
    }
}
