//! whoAmI (107): the session's authenticated identities, one ClientInfo each.

use zk_proto::{ClientInfo, WhoAmIResponse};

use super::ReadCtx;

/// whoAmI.
pub fn read(ctx: &ReadCtx<'_>) -> WhoAmIResponse {
    let client_info = ctx
        .auth
        .iter()
        .map(|id| ClientInfo {
            auth_scheme: id.scheme.clone(),
            user: id.id.clone(),
        })
        .collect();
    WhoAmIResponse { client_info }
}
