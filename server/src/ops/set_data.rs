//! setData (5): valid path, node exists, WRITE on the node, version matches; then data, version, mzxid and
//! mtime change.

use zk_proto::{ErrorCode, SetDataRequest, SetDataResponse, perms};

use super::{WriteCtx, next_version};
use crate::tree::path;
use crate::watch::Change;

/// Replaces a node's data.
pub fn apply(ctx: &mut WriteCtx<'_>, req: SetDataRequest) -> Result<SetDataResponse, ErrorCode> {
    path::validate(&req.path)?;
    let node = ctx.node(&req.path)?;
    ctx.check(node, perms::WRITE)?;
    let version = next_version(node.stored_stat().version, req.version)?;
    let undo = ctx
        .tree
        .set_data(&req.path, req.data, version, ctx.zxid, ctx.time);
    ctx.undo.push(undo);
    ctx.changes.push(Change::DataChanged(req.path.clone()));
    let stat = ctx
        .tree
        .get(&req.path)
        .map(|n| n.stat())
        .unwrap_or_default();
    Ok(SetDataResponse { stat })
}
