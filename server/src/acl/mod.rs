//! Access control as Apache's: the schemes (world, auth, digest, ip, x509, and sasl when registered), authentication of `addauth`
//! credentials, the fix-up of ACLs given to create/setACL (InvalidACL rules), and the permission check with
//! the super user and `skipACL`.

mod check;
mod digest;
mod ip;
mod x509;

pub use check::{AclPolicy, SaslScheme};
pub use digest::{authenticate_digest, digest_id};
pub use ip::{ip_matches, is_valid_ip};
pub use x509::x509_ids;

use zk_proto::Id;

/// The identity of the super user once authenticated.
pub fn super_id() -> Id {
    Id::new("super", "")
}

/// An authenticated identity, preceded by the super user's when it is the configured super user (as
/// Apache's digest and x509 providers add both).
fn with_super(id: Id, is_super: bool) -> Vec<Id> {
    match is_super {
        true => vec![super_id(), id],
        false => vec![id],
    }
}

/// The identity every connection carries for its remote address (`ip:<address>`).
pub fn ip_id(address: std::net::IpAddr) -> Id {
    Id::new("ip", address.to_string())
}
