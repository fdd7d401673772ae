//! When the log writer records the committed log id (`committed`, see `meta`).
//!
//! The mark only spares a restarted member from waiting for a leader (or, alone, for its own
//! election) before it applies the tail of its log again, and tells an offline export which
//! entries are known to be committed; losing the newest one costs nothing else. Replacing its
//! file costs a file creation and a rename, as much as the fsync of a batch: written after every
//! commit it doubled the writer's work per write. So it is written behind the log's own writes,
//! at most once per [`MARK_INTERVAL`] and at the latest [`MARK_INTERVAL`] after it moved (sooner
//! when the writer stops).

use std::time::{Duration, Instant};

use super::meta::Meta;
use crate::consensus::typ::LogId;

/// The most often the mark is written, and the longest it lags behind a commit.
pub(crate) const MARK_INTERVAL: Duration = Duration::from_millis(100);

/// The committed log id last reported to the writer and not yet written, and when it last wrote
/// one.
#[derive(Debug, Default)]
pub(crate) struct CommittedMark {
    pending: Option<Option<LogId>>,
    written_at: Option<Instant>,
}

impl CommittedMark {
    /// The committed log id moved to `log_id`.
    pub(crate) fn moved(&mut self, log_id: Option<LogId>) {
        self.pending = Some(log_id);
    }

    /// How long until a pending mark is due (zero when it is); `None` when none is pending.
    pub(crate) fn due_in(&self, now: Instant) -> Option<Duration> {
        self.pending?;
        Some(self.written_at.map_or(Duration::ZERO, |at| {
            (at + MARK_INTERVAL).saturating_duration_since(now)
        }))
    }

    /// Writes the pending mark if it is due at `now`, unless the log is `broken` (a failure to
    /// write it breaks the log, as any write failure does).
    pub(crate) fn write_if_due(&mut self, meta: &Meta, broken: &mut Option<String>, now: Instant) {
        if self.due_in(now) == Some(Duration::ZERO) {
            self.write_pending(meta, broken);
            self.written_at = Some(now);
        }
    }

    /// Writes the pending mark now, unless the log is `broken`.
    pub(crate) fn write_pending(&mut self, meta: &Meta, broken: &mut Option<String>) {
        let Some(log_id) = self.pending.take() else {
            return;
        };
        if broken.is_some() {
            return;
        }
        if let Err(e) = meta.save_committed(&log_id) {
            tracing::error!(error = %e, "writing the raft log's committed mark failed");
            *broken = Some(e.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::testing::log_id;

    use crate::consensus::typ::TypeConfig;

    #[test]
    fn the_mark_is_written_at_once_then_at_most_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Meta::new(dir.path());
        let mut broken = None;
        let mut mark = CommittedMark::default();
        let start = Instant::now();
        assert_eq!(mark.due_in(start), None, "nothing pending");
        mark.moved(Some(log_id::<TypeConfig>(1, 1, 5)));
        assert_eq!(
            mark.due_in(start),
            Some(Duration::ZERO),
            "the first one is due at once"
        );
        mark.write_if_due(&meta, &mut broken, start);
        assert_eq!(
            meta.read_committed().unwrap(),
            Some(log_id::<TypeConfig>(1, 1, 5))
        );

        mark.moved(Some(log_id::<TypeConfig>(1, 1, 6)));
        let soon = start + MARK_INTERVAL / 2;
        assert_eq!(mark.due_in(soon), Some(MARK_INTERVAL / 2));
        mark.write_if_due(&meta, &mut broken, soon);
        assert_eq!(
            meta.read_committed().unwrap(),
            Some(log_id::<TypeConfig>(1, 1, 5)),
            "not due yet: the file keeps the older mark"
        );
        mark.moved(Some(log_id::<TypeConfig>(1, 1, 7)));
        mark.write_if_due(&meta, &mut broken, start + MARK_INTERVAL);
        assert_eq!(
            meta.read_committed().unwrap(),
            Some(log_id::<TypeConfig>(1, 1, 7)),
            "due: the newest mark is written"
        );
        assert_eq!(mark.due_in(start + MARK_INTERVAL), None);

        mark.moved(Some(log_id::<TypeConfig>(1, 1, 8)));
        mark.write_pending(&meta, &mut broken);
        assert_eq!(
            meta.read_committed().unwrap(),
            Some(log_id::<TypeConfig>(1, 1, 8))
        );
        assert!(broken.is_none());
    }
}
