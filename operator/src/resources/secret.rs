//! The Secret with the super-user password and its digest, generated when absent (ACLs are never bypassed).

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use rand::distr::{Alphanumeric, SampleString};
use sha1::{Digest, Sha1};

use super::meta::{owned_meta, secret_name, selector_labels};
use crate::types::ZkEnsemble;

/// Key of the plain password in the Secret.
pub const PASSWORD_KEY: &str = "password";
/// Key of the `super:<digest>` value ZooKeeper's superDigest setting takes.
pub const DIGEST_KEY: &str = "digest";
/// User name of the super user.
pub const SUPER_USER: &str = "super";

/// `super:base64(sha1("super:<password>"))`, the form of `zookeeper.DigestAuthenticationProvider.superDigest`.
pub fn super_digest(password: &str) -> String {
    let hash = Sha1::digest(format!("{SUPER_USER}:{password}").as_bytes());
    format!(
        "{SUPER_USER}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// A short fingerprint of a super digest, recorded on each member pod so that the operator sees which members
/// started with a credential the Secret no longer holds. The digest is already a hash; this names it, briefly.
pub fn credentials_fingerprint(digest: &str) -> String {
    Sha1::digest(digest.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh random password.
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// The credentials Secret for `password`.
pub fn super_secret(zk: &ZkEnsemble, password: &str) -> Secret {
    Secret {
        metadata: owned_meta(zk, secret_name(zk), selector_labels(zk)),
        string_data: Some(BTreeMap::from([
            (PASSWORD_KEY.to_string(), password.to_string()),
            (DIGEST_KEY.to_string(), super_digest(password)),
        ])),
        ..Secret::default()
    }
}
