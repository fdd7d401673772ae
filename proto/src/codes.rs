//! Numeric codes of the protocol: request op codes, error codes, watch event types, keeper states, create
//! modes and addWatch modes, each an enum with its wire value.

/// Declares a fieldless enum with explicit wire values and its conversion from the wire value.
macro_rules! wire_enum {
    ($(#[$m:meta])* pub enum $name:ident { $( $(#[$vm:meta])* $variant:ident = $value:expr ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $name { $( $(#[$vm])* $variant = $value ),* }

        impl $name {
            /// The variant with this wire value, if any.
            pub fn from_i32(v: i32) -> Option<Self> {
                match v {
                    $( $value => Some(Self::$variant), )*
                    _ => None,
                }
            }

            /// The wire value.
            pub fn code(self) -> i32 {
                self as i32
            }
        }
    };
}

wire_enum! {
    /// Request type (`RequestHeader.type`).
    pub enum OpCode {
        /// Closes the session (xid usually 1 more than the last).
        CloseSession = -11,
        /// Creates a session (only inside the connect handshake; never a request header).
        CreateSession = -10,
        /// Placeholder type of a failed sub-result inside a multi response.
        Error = -1,
        /// Sentinel of unused op code 0 (`notification` in Apache).
        Notification = 0,
        /// Create a znode, reply with its path.
        Create = 1,
        /// Delete a znode.
        Delete = 2,
        /// Stat of a znode, or NoNode; can set an exist watch.
        Exists = 3,
        /// Data and stat.
        GetData = 4,
        /// Replace data.
        SetData = 5,
        /// ACL and stat.
        GetAcl = 6,
        /// Replace ACL.
        SetAcl = 7,
        /// Child names.
        GetChildren = 8,
        /// Flush the leader channel.
        Sync = 9,
        /// Keep-alive (xid -2).
        Ping = 11,
        /// Child names and stat.
        GetChildren2 = 12,
        /// Version check (only meaningful inside a multi).
        Check = 13,
        /// Atomic transaction.
        Multi = 14,
        /// Create, reply with path and stat.
        Create2 = 15,
        /// Dynamic reconfiguration.
        Reconfig = 16,
        /// Is a watch registered.
        CheckWatches = 17,
        /// Remove watches.
        RemoveWatches = 18,
        /// Create a container node.
        CreateContainer = 19,
        /// Legacy delete of a container (not sent by clients).
        DeleteContainer = 20,
        /// Create a TTL node.
        CreateTtl = 21,
        /// Batch of reads, each failing on its own.
        MultiRead = 22,
        /// addauth (xid -4).
        Auth = 100,
        /// Re-register watches after reconnect (xid -8).
        SetWatches = 101,
        /// SASL token exchange.
        Sasl = 102,
        /// Ephemerals of the session under a prefix.
        GetEphemerals = 103,
        /// Number of descendants.
        GetAllChildrenNumber = 104,
        /// setWatches including persistent watches (xid -8).
        SetWatches2 = 105,
        /// Add a persistent or persistent-recursive watch.
        AddWatch = 106,
        /// Authenticated identities of the session.
        WhoAmI = 107,
    }
}

wire_enum! {
    /// Error code of a reply header, a multi sub-result, or a connect refusal.
    pub enum ErrorCode {
        /// Success.
        Ok = 0,
        /// System and server-side errors (never thrown by the server as such).
        SystemError = -1,
        /// A runtime inconsistency; in a failed multi, the code of the operations after the failing one.
        RuntimeInconsistency = -2,
        /// A data inconsistency was found.
        DataInconsistency = -3,
        /// Connection to the server has been lost.
        ConnectionLoss = -4,
        /// Error while marshalling or unmarshalling data.
        MarshallingError = -5,
        /// Operation is unimplemented.
        Unimplemented = -6,
        /// Operation timeout.
        OperationTimeout = -7,
        /// Invalid arguments.
        BadArguments = -8,
        /// No quorum of new config is connected and up-to-date with the leader of last committed config.
        NewConfigNoQuorum = -13,
        /// Another reconfiguration is in progress.
        ReconfigInProgress = -14,
        /// The session does not exist.
        UnknownSession = -12,
        /// API errors (never thrown by the server as such).
        ApiError = -100,
        /// Node does not exist.
        NoNode = -101,
        /// Not authenticated.
        NoAuth = -102,
        /// Version conflict.
        BadVersion = -103,
        /// Ephemeral nodes may not have children.
        NoChildrenForEphemerals = -108,
        /// The node already exists.
        NodeExists = -110,
        /// The node has children.
        NotEmpty = -111,
        /// The session has been expired by the server.
        SessionExpired = -112,
        /// Invalid callback specified.
        InvalidCallback = -113,
        /// Invalid ACL specified.
        InvalidAcl = -114,
        /// Client authentication failed.
        AuthFailed = -115,
        /// Session moved to another server, so operation is ignored.
        SessionMoved = -118,
        /// State-changing request is passed to read-only server.
        NotReadOnly = -119,
        /// Attempt to create ephemeral node on a local session.
        EphemeralOnLocalSession = -120,
        /// Attempts to remove a non-existing watcher.
        NoWatcher = -121,
        /// Request not completed within max allowed time.
        RequestTimeout = -122,
        /// Attempts to perform a reconfiguration operation when reconfiguration feature is disabled.
        ReconfigDisabled = -123,
        /// The session has been closed by server because server requires client to do SASL authentication.
        SessionClosedRequireSaslAuth = -124,
        /// Exceeded the quota that was set on the path.
        QuotaExceeded = -125,
        /// Operation was throttled and not executed at all.
        ThrottledOp = -127,
    }
}

wire_enum! {
    /// `WatcherEvent.type`.
    pub enum EventType {
        /// A connection-state change, no path.
        None = -1,
        /// The node was created.
        NodeCreated = 1,
        /// The node was deleted.
        NodeDeleted = 2,
        /// The node's data changed.
        NodeDataChanged = 3,
        /// A child was added or removed.
        NodeChildrenChanged = 4,
        /// A data watch was removed by removeWatches.
        DataWatchRemoved = 5,
        /// A child watch was removed by removeWatches.
        ChildWatchRemoved = 6,
        /// A persistent watch was removed by removeWatches.
        PersistentWatchRemoved = 7,
    }
}

wire_enum! {
    /// `WatcherEvent.state`.
    pub enum KeeperState {
        /// Disconnected from the server.
        Disconnected = 0,
        /// Connected.
        SyncConnected = 3,
        /// Authentication failed.
        AuthFailed = 4,
        /// Connected to a read-only server.
        ConnectedReadOnly = 5,
        /// SASL authenticated.
        SaslAuthenticated = 6,
        /// The session expired.
        Expired = -112,
        /// The client closed the session.
        Closed = 7,
    }
}

wire_enum! {
    /// `flags` of a create request.
    pub enum CreateMode {
        /// A persistent node.
        Persistent = 0,
        /// Deleted when the session ends.
        Ephemeral = 1,
        /// Persistent with a sequence suffix.
        PersistentSequential = 2,
        /// Ephemeral with a sequence suffix.
        EphemeralSequential = 3,
        /// Deleted when its last child goes.
        Container = 4,
        /// Deleted when unmodified and childless past its TTL.
        PersistentWithTtl = 5,
        /// TTL with a sequence suffix.
        PersistentSequentialWithTtl = 6,
    }
}

impl CreateMode {
    /// Whether the name gets a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            Self::PersistentSequential
                | Self::EphemeralSequential
                | Self::PersistentSequentialWithTtl
        )
    }

    /// Whether the node belongs to its session.
    pub fn is_ephemeral(self) -> bool {
        matches!(self, Self::Ephemeral | Self::EphemeralSequential)
    }

    /// Whether the node is a TTL node.
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            Self::PersistentWithTtl | Self::PersistentSequentialWithTtl
        )
    }
}

wire_enum! {
    /// `mode` of an addWatch request.
    pub enum AddWatchMode {
        /// Fires for data changes and deletion of the node, and for child changes; not removed on firing.
        Persistent = 0,
        /// As persistent, for the node and every descendant.
        PersistentRecursive = 1,
    }
}

wire_enum! {
    /// `type` of checkWatches / removeWatches requests.
    pub enum WatcherType {
        /// Child watches.
        Children = 1,
        /// Data and exist watches.
        Data = 2,
        /// Every kind, including persistent.
        Any = 3,
        /// Persistent watches.
        Persistent = 4,
        /// Persistent-recursive watches.
        PersistentRecursive = 5,
    }
}

/// Permission bits of an ACL entry.
pub mod perms {
    /// Read data and list children.
    pub const READ: i32 = 1;
    /// Set data.
    pub const WRITE: i32 = 2;
    /// Create children.
    pub const CREATE: i32 = 4;
    /// Delete children.
    pub const DELETE: i32 = 8;
    /// Set ACL.
    pub const ADMIN: i32 = 16;
    /// Every permission.
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// Special xids of requests and replies.
pub mod xid {
    /// A watch notification pushed by the server.
    pub const NOTIFICATION: i32 = -1;
    /// A ping and its reply.
    pub const PING: i32 = -2;
    /// An auth packet and its reply.
    pub const AUTH: i32 = -4;
    /// A setWatches request and its reply.
    pub const SET_WATCHES: i32 = -8;
}
