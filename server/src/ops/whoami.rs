//! whoAmI (107): the session's authenticated identities, one ClientInfo each, named as Apache's providers
//! name them (a digest identity by its user name alone), in the order Apache lists them.

use zk_proto::{ClientInfo, Id, WhoAmIResponse};

use super::ReadCtx;
use crate::tree::java_order::{hash_bucket, java_string_hash};

/// whoAmI.
pub fn read(ctx: &ReadCtx<'_>) -> WhoAmIResponse {
    let client_info = java_set_order(ctx.auth)
        .into_iter()
        .map(|id| ClientInfo {
            auth_scheme: id.scheme.clone(),
            user: user_name(id),
        })
        .collect();
    WhoAmIResponse { client_info }
}

/// The identities (in insertion order) in the iteration order of Apache's per-connection set, a
/// `ConcurrentHashMap` of default capacity 16 that doubles once it holds three quarters of it: by bucket
/// of the `Id` record's hash, by insertion within a bucket.
fn java_set_order(ids: &[Id]) -> Vec<&Id> {
    let mut capacity = 16;
    while ids.len() >= capacity * 3 / 4 {
        capacity *= 2;
    }
    let mut ordered: Vec<&Id> = ids.iter().collect();
    ordered.sort_by_key(|id| hash_bucket(id_hash(id), capacity));
    ordered
}

/// The `hashCode` of a jute `Id` record: `37 * (37 * 17 + scheme.hashCode()) + id.hashCode()`.
fn id_hash(id: &Id) -> i32 {
    [&id.scheme, &id.id].iter().fold(17i32, |h, field| {
        h.wrapping_mul(37).wrapping_add(java_string_hash(field))
    })
}

/// The user name of an identity: for digest the part before the hash, else the id itself.
fn user_name(id: &Id) -> String {
    match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or("").to_owned(),
        _ => id.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.to_owned(),
            id: id.to_owned(),
        }
    }

    #[test]
    fn identities_follow_apaches_set_order() {
        // Apache 3.8's zkCli `whoami` after connecting from 127.0.0.1 and adding bob then alice lists
        // bob, the ip, then alice.
        let ids = [
            id("ip", "127.0.0.1"),
            id("digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="),
            id("digest", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="),
        ];
        let names: Vec<&str> = java_set_order(&ids)
            .iter()
            .map(|id| id.id.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=",
                "127.0.0.1",
                "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="
            ]
        );
    }
}
