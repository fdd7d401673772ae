//! Reply bodies that follow a successful [`crate::ReplyHeader`]. Replies with the same fields share one
//! record, with Apache's names as aliases.

use crate::jute::{Strings, record};
use crate::records::{Acl, Stat};

record! {
    /// A reply that is only a path: create (op 1), sync (op 9).
    pub struct CreateResponse {
        /// The path (of the created node, with its sequence suffix).
        path: String,
    }
}

/// sync (op 9).
pub type SyncResponse = CreateResponse;

record! {
    /// create2, createContainer, createTTL (ops 15, 19, 21).
    pub struct Create2Response {
        /// The created path.
        path: String,
        /// Its stat.
        stat: Stat,
    }
}

record! {
    /// A reply that is only a stat: exists (op 3), setData (op 5), setACL (op 7).
    pub struct ExistsResponse {
        /// The stat.
        stat: Stat,
    }
}

/// setData (op 5).
pub type SetDataResponse = ExistsResponse;
/// setACL (op 7).
pub type SetAclResponse = ExistsResponse;

record! {
    /// getData (op 4); also the reply of reconfig (config text and stat).
    pub struct GetDataResponse {
        /// The data (null differs from empty).
        data: Option<Vec<u8>>,
        /// The stat.
        stat: Stat,
    }
}

record! {
    /// getChildren (op 8); also getEphemerals (op 103).
    pub struct GetChildrenResponse {
        /// Child names (for getEphemerals, full paths).
        children: Strings,
    }
}

/// getEphemerals (op 103).
pub type GetEphemeralsResponse = GetChildrenResponse;

record! {
    /// getChildren2 (op 12).
    pub struct GetChildren2Response {
        /// Child names.
        children: Strings,
        /// The parent's stat.
        stat: Stat,
    }
}

record! {
    /// getACL (op 6).
    pub struct GetAclResponse {
        /// The ACL.
        acl: Vec<Acl>,
        /// The stat.
        stat: Stat,
    }
}

record! {
    /// getAllChildrenNumber (op 104).
    pub struct GetAllChildrenNumberResponse {
        /// Number of descendants.
        total_number: i32,
    }
}

record! {
    /// One authenticated identity in a whoAmI reply.
    pub struct ClientInfo {
        /// The scheme.
        auth_scheme: String,
        /// The identity.
        user: String,
    }
}

record! {
    /// whoAmI (op 107).
    pub struct WhoAmIResponse {
        /// The session's identities.
        client_info: Vec<ClientInfo>,
    }
}
