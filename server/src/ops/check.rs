//! check (13): valid path, node exists, READ on the node, data version matches. Changes nothing.

use zk_proto::{CheckVersionRequest, ErrorCode, perms};

use super::{WriteCtx, next_version};
use crate::tree::path;

/// Checks a node's data version.
pub fn apply(ctx: &mut WriteCtx<'_>, req: CheckVersionRequest) -> Result<(), ErrorCode> {
    path::validate(&req.path)?;
    let node = ctx.node(&req.path)?;
    ctx.check(node, perms::READ)?;
    next_version(node.stored_stat().version, req.version).map(|_| ())
}
