//! Request bodies that follow a [`crate::RequestHeader`]. Requests with the same fields share one record,
//! with Apache's names as aliases.

use crate::jute::record;
use crate::records::Acl;

record! {
    /// A request that names one path: sync, getACL, getAllChildrenNumber, getEphemerals (prefix).
    pub struct PathRequest {
        /// The path (for getEphemerals, the prefix).
        path: String,
    }
}

/// sync (op 9).
pub type SyncRequest = PathRequest;
/// getACL (op 6).
pub type GetAclRequest = PathRequest;
/// getAllChildrenNumber (op 104).
pub type GetAllChildrenNumberRequest = PathRequest;
/// getEphemerals (op 103): `path` is the prefix.
pub type GetEphemeralsRequest = PathRequest;

record! {
    /// A read of one path that may leave a watch: exists, getData, getChildren, getChildren2.
    pub struct GetDataRequest {
        /// The path.
        path: String,
        /// Leave a watch.
        watch: bool,
    }
}

/// exists (op 3).
pub type ExistsRequest = GetDataRequest;
/// getChildren (op 8) and getChildren2 (op 12).
pub type GetChildrenRequest = GetDataRequest;

record! {
    /// create, create2, createContainer (ops 1, 15, 19).
    pub struct CreateRequest {
        /// The path (the prefix, for sequential modes).
        path: String,
        /// The data (null differs from empty).
        data: Option<Vec<u8>>,
        /// The ACL.
        acl: Vec<Acl>,
        /// The [`crate::CreateMode`].
        flags: i32,
    }
}

record! {
    /// createTTL (op 21).
    pub struct CreateTtlRequest {
        /// The path.
        path: String,
        /// The data.
        data: Option<Vec<u8>>,
        /// The ACL.
        acl: Vec<Acl>,
        /// The [`crate::CreateMode`] (5 or 6).
        flags: i32,
        /// Time to live, ms.
        ttl: i64,
    }
}

record! {
    /// delete (op 2).
    pub struct DeleteRequest {
        /// The path.
        path: String,
        /// Expected data version, -1 for any.
        version: i32,
    }
}

/// check (op 13): `version` is the expected data version.
pub type CheckVersionRequest = DeleteRequest;

record! {
    /// setData (op 5).
    pub struct SetDataRequest {
        /// The path.
        path: String,
        /// The new data.
        data: Option<Vec<u8>>,
        /// Expected data version, -1 for any.
        version: i32,
    }
}

record! {
    /// setACL (op 7).
    pub struct SetAclRequest {
        /// The path.
        path: String,
        /// The new ACL.
        acl: Vec<Acl>,
        /// Expected ACL version, -1 for any.
        version: i32,
    }
}

record! {
    /// reconfig (op 16). Null and empty strings differ: null `new_members` means an incremental change.
    pub struct ReconfigRequest {
        /// Comma-separated server specs to add.
        joining_servers: Option<String>,
        /// Comma-separated server ids to remove.
        leaving_servers: Option<String>,
        /// The whole new membership (non-incremental).
        new_members: Option<String>,
        /// Expected config version, -1 for any.
        cur_config_id: i64,
    }
}
