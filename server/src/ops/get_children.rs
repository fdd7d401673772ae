//! getChildren (8), getChildren2 (12) and getAllChildrenNumber (104): the node must exist and grant READ;
//! the child watch is left only on success.

use zk_proto::{
    ErrorCode, GetAllChildrenNumberRequest, GetAllChildrenNumberResponse, GetChildren2Response,
    GetChildrenRequest, GetChildrenResponse, Strings, perms,
};

use super::ReadCtx;
use crate::tree::Node;
use crate::watch::WatchKind;

fn children<'a>(
    ctx: &ReadCtx<'a>,
    req: &GetChildrenRequest,
) -> Result<(Strings, &'a Node), ErrorCode> {
    let node = ctx.node(&req.path)?;
    ctx.check(node, perms::READ)?;
    if req.watch {
        ctx.watches.add(ctx.session, &req.path, WatchKind::Child);
    }
    Ok((
        Strings(ctx.tree.children_in_apache_order(&req.path, node)),
        node,
    ))
}

/// getChildren.
pub fn get_children(
    ctx: &ReadCtx<'_>,
    req: GetChildrenRequest,
) -> Result<GetChildrenResponse, ErrorCode> {
    children(ctx, &req).map(|(children, _)| GetChildrenResponse { children })
}

/// getChildren2: the children and the node's stat.
pub fn get_children2(
    ctx: &ReadCtx<'_>,
    req: GetChildrenRequest,
) -> Result<GetChildren2Response, ErrorCode> {
    children(ctx, &req).map(|(children, node)| GetChildren2Response {
        children,
        stat: node.stat(),
    })
}

/// getAllChildrenNumber: the number of descendants.
pub fn all_number(
    ctx: &ReadCtx<'_>,
    req: GetAllChildrenNumberRequest,
) -> Result<GetAllChildrenNumberResponse, ErrorCode> {
    let node = ctx.node(&req.path)?;
    ctx.check(node, perms::READ)?;
    Ok(GetAllChildrenNumberResponse {
        total_number: ctx.tree.descendant_count(&req.path) as i32,
    })
}
