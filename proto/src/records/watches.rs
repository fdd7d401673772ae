//! Watch management requests: setWatches / setWatches2 after a reconnect, addWatch, checkWatches and
//! removeWatches.

use crate::jute::{Strings, record};

record! {
    /// setWatches (op 101, xid -8): re-registers one-shot watches; events missed since `relative_zxid` fire.
    pub struct SetWatches {
        /// The last zxid the client saw.
        relative_zxid: i64,
        /// Data watch paths.
        data_watches: Strings,
        /// Exist watch paths.
        exist_watches: Strings,
        /// Child watch paths.
        child_watches: Strings,
    }
}

record! {
    /// setWatches2 (op 105, xid -8): as setWatches, plus persistent watches.
    pub struct SetWatches2 {
        /// The last zxid the client saw.
        relative_zxid: i64,
        /// Data watch paths.
        data_watches: Strings,
        /// Exist watch paths.
        exist_watches: Strings,
        /// Child watch paths.
        child_watches: Strings,
        /// Persistent watch paths.
        persistent_watches: Strings,
        /// Persistent-recursive watch paths.
        persistent_recursive_watches: Strings,
    }
}

record! {
    /// addWatch (op 106).
    pub struct AddWatchRequest {
        /// The path.
        path: String,
        /// The [`crate::AddWatchMode`].
        mode: i32,
    }
}

record! {
    /// checkWatches (op 17) and removeWatches (op 18).
    pub struct CheckWatchesRequest {
        /// The path.
        path: String,
        /// The [`crate::WatcherType`].
        watcher_type: i32,
    }
}

/// removeWatches (op 18).
pub type RemoveWatchesRequest = CheckWatchesRequest;

impl From<SetWatches> for SetWatches2 {
    fn from(s: SetWatches) -> Self {
        SetWatches2 {
            relative_zxid: s.relative_zxid,
            data_watches: s.data_watches,
            exist_watches: s.exist_watches,
            child_watches: s.child_watches,
            ..Default::default()
        }
    }
}
