//! delete (2): the path must not be a system node (BadArguments), the parent must exist and grant DELETE,
//! the node must exist, match the version and have no children.

use zk_proto::{DeleteRequest, ErrorCode, perms};

use super::{WriteCtx, next_version};
use crate::tree::{CONFIG, QUOTA, ZOOKEEPER, path};
use crate::watch::Change;

/// Deletes one node.
pub fn apply(ctx: &mut WriteCtx<'_>, req: DeleteRequest) -> Result<(), ErrorCode> {
    let target = req.path.as_str();
    if target.contains('\0') || matches!(target, "/" | ZOOKEEPER | QUOTA | CONFIG) {
        return Err(ErrorCode::BadArguments);
    }
    let parent_path = path::parent(target).ok_or(ErrorCode::BadArguments)?;
    let parent = ctx.node(parent_path)?;
    ctx.check(parent, perms::DELETE)?;
    let node = ctx.node(target)?;
    next_version(node.stored_stat().version, req.version)?;
    if !node.has_no_children() {
        return Err(ErrorCode::NotEmpty);
    }
    delete_node(ctx, target);
    Ok(())
}

/// Deletes a node known to exist and be childless, recording undo and change.
pub fn delete_node(ctx: &mut WriteCtx<'_>, target: &str) {
    let undo = ctx.tree.delete(target, ctx.zxid);
    ctx.undo.push(undo);
    ctx.changes.push(Change::Deleted(target.to_owned()));
}
