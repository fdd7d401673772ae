//! getEphemerals (103): the session's ephemeral paths under a prefix (all of them for an empty or `/`
//! prefix), in Apache's order.

use zk_proto::{ErrorCode, GetEphemeralsRequest, GetEphemeralsResponse, Strings};

use super::ReadCtx;

/// getEphemerals.
pub fn read(
    ctx: &ReadCtx<'_>,
    req: GetEphemeralsRequest,
) -> Result<GetEphemeralsResponse, ErrorCode> {
    let prefix = req.path.trim();
    let all = ctx.tree.ephemerals_in_apache_order(ctx.session);
    let children = if prefix.is_empty() || prefix == "/" {
        all
    } else {
        all.into_iter().filter(|p| p.starts_with(prefix)).collect()
    };
    Ok(GetEphemeralsResponse {
        children: Strings(children),
    })
}
