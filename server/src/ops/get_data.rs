//! exists (3) and getData (4). exists checks no ACL and leaves its watch even when the node is missing;
//! getData needs READ and leaves its watch only when it succeeds.

use zk_proto::{ErrorCode, ExistsRequest, ExistsResponse, GetDataRequest, GetDataResponse, perms};

use super::ReadCtx;
use crate::watch::WatchKind;

/// exists.
pub fn exists(ctx: &ReadCtx<'_>, req: ExistsRequest) -> Result<ExistsResponse, ErrorCode> {
    if req.path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    if req.watch {
        ctx.watches.add(ctx.session, &req.path, WatchKind::Data);
    }
    ctx.node(&req.path)
        .map(|n| ExistsResponse { stat: n.stat() })
}

/// getData.
pub fn get_data(ctx: &ReadCtx<'_>, req: GetDataRequest) -> Result<GetDataResponse, ErrorCode> {
    let node = ctx.node(&req.path)?;
    ctx.check(node, perms::READ)?;
    if req.watch {
        ctx.watches.add(ctx.session, &req.path, WatchKind::Data);
    }
    Ok(GetDataResponse {
        data: node.data().map(<[u8]>::to_vec),
        stat: node.stat(),
    })
}
