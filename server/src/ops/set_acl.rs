//! setACL (7): valid path, ACL fix-up (InvalidACL), node exists, ADMIN on the node, ACL version matches;
//! then the ACL and aversion change (no watch fires).

use zk_proto::{ErrorCode, SetAclRequest, SetAclResponse, perms};

use super::{WriteCtx, next_version};
use crate::tree::path;

/// Replaces a node's ACL.
pub fn apply(ctx: &mut WriteCtx<'_>, req: SetAclRequest) -> Result<SetAclResponse, ErrorCode> {
    path::validate(&req.path)?;
    let acl = ctx.settings.acl.fixup(&req.acl, ctx.auth)?;
    let node = ctx.node(&req.path)?;
    ctx.check(node, perms::ADMIN)?;
    let aversion = next_version(node.stored_stat().aversion, req.version)?;
    let undo = ctx.tree.set_acl(&req.path, &acl, aversion);
    ctx.undo.push(undo);
    let stat = ctx
        .tree
        .get(&req.path)
        .map(|n| n.stat())
        .unwrap_or_default();
    Ok(SetAclResponse { stat })
}
