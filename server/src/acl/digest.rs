//! The digest scheme: `user:base64(sha1("user:password"))`.

use base64::Engine;
use sha1::{Digest, Sha1};
use zk_proto::Id;

/// `user:base64(sha1("user:password"))` for credentials `user:password` (Apache's `generateDigest`).
pub fn digest_id(credentials: &str) -> String {
    let user = credentials.split(':').next().unwrap_or("");
    let hash = Sha1::digest(credentials.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// The identities an `addauth digest user:password` grants: the digest id, plus the super user when it
/// equals the configured super digest (`zookeeper.DigestAuthenticationProvider.superDigest`).
pub fn authenticate_digest(credentials: &[u8], super_digest: Option<&str>) -> Vec<Id> {
    let credentials = String::from_utf8_lossy(credentials);
    let id = digest_id(&credentials);
    let is_super = super_digest == Some(id.as_str());
    super::with_super(Id::new("digest", id), is_super)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_apache() {
        // zkCli: addauth digest super:test with superDigest super:D/InIHSb7yEEbrWz8b9l71RjZJU=
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }

    #[test]
    fn super_digest_grants_super() {
        let ids = authenticate_digest(b"super:test", Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
        assert_eq!(ids[0], super::super::super_id());
        assert_eq!(
            authenticate_digest(b"super:nope", Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")).len(),
            1
        );
    }
}
