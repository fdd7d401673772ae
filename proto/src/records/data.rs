//! Records that describe znodes: `Stat`, and ACL entries with their `Id`.

use crate::jute::{inline_field, record};

record! {
    /// A znode's metadata, in jute field order.
    pub struct Stat {
        /// zxid of the create.
        czxid: i64,
        /// zxid of the last data change.
        mzxid: i64,
        /// Creation time, ms since the epoch.
        ctime: i64,
        /// Time of the last data change, ms since the epoch.
        mtime: i64,
        /// Data version.
        version: i32,
        /// Child version (creates and deletes of children).
        cversion: i32,
        /// ACL version.
        aversion: i32,
        /// Owning session of an ephemeral; container/TTL markers with extended types.
        ephemeral_owner: i64,
        /// Data length in bytes.
        data_length: i32,
        /// Number of children.
        num_children: i32,
        /// zxid of the last child change.
        pzxid: i64,
    }
}

record! {
    /// An identity in a scheme (`world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`, ...).
    pub struct Id {
        /// The scheme.
        scheme: String,
        /// The identity within the scheme.
        id: String,
    }
}

record! {
    /// One ACL entry: permission bits granted to an identity.
    pub struct Acl {
        /// Bits of [`crate::perms`].
        perms: i32,
        /// Who is granted.
        id: Id,
    }
}

inline_field!(Stat, Id);

impl Id {
    /// An identity from its scheme and id.
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Self {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }
}
