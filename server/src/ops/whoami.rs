//! whoAmI (107): the session's authenticated identities, one ClientInfo each, named as Apache's providers
//! name them (a digest identity by its user name alone).

use zk_proto::{ClientInfo, Id, WhoAmIResponse};

use super::ReadCtx;

/// whoAmI.
pub fn read(ctx: &ReadCtx<'_>) -> WhoAmIResponse {
    let client_info = ctx
        .auth
        .iter()
        .map(|id| ClientInfo {
            auth_scheme: id.scheme.clone(),
            user: user_name(id),
        })
        .collect();
    WhoAmIResponse { client_info }
}

/// The user name of an identity: for digest the part before the hash, else the id itself.
fn user_name(id: &Id) -> String {
    match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or("").to_owned(),
        _ => id.id.clone(),
    }
}
