//! Headers of requests, replies and multi sub-operations; watch notifications; the error body.

use crate::jute::record;

record! {
    /// Precedes every request body.
    pub struct RequestHeader {
        /// Client-chosen id echoed in the reply (negative ids are special, see [`crate::xid`]).
        xid: i32,
        /// The [`crate::OpCode`].
        op_type: i32,
    }
}

record! {
    /// Precedes every reply body (the body is omitted when `err` is not 0).
    pub struct ReplyHeader {
        /// The request's xid.
        xid: i32,
        /// The last zxid the server applied (the write's own zxid for writes).
        zxid: i64,
        /// The [`crate::ErrorCode`].
        err: i32,
    }
}

record! {
    /// Precedes every operation of a multi request and every result of a multi response.
    pub struct MultiHeader {
        /// Op code of the operation or result; -1 ends the list (and marks an error result).
        op_type: i32,
        /// True only on the terminating header.
        done: bool,
        /// Error code of a result; -1 in requests.
        err: i32,
    }
}

record! {
    /// A watch notification, pushed with xid -1.
    pub struct WatcherEvent {
        /// The [`crate::EventType`].
        event_type: i32,
        /// The [`crate::KeeperState`].
        state: i32,
        /// The znode path (client-relative paths are the client's business).
        path: String,
    }
}

record! {
    /// The body of a failed sub-result in a multi response.
    pub struct ErrorResponse {
        /// The [`crate::ErrorCode`].
        err: i32,
    }
}

impl MultiHeader {
    /// The header that ends a multi request or response.
    pub const DONE: MultiHeader = MultiHeader {
        op_type: -1,
        done: true,
        err: -1,
    };
}
