//! addWatch (106): a persistent or persistent-recursive watch; the reply body is an ErrorResponse with 0,
//! as Apache's.

use zk_proto::{AddWatchMode, AddWatchRequest, ErrorCode, ErrorResponse};

use super::ReadCtx;

/// addWatch.
pub fn apply(ctx: &ReadCtx<'_>, req: AddWatchRequest) -> Result<ErrorResponse, ErrorCode> {
    let mode = AddWatchMode::from_i32(req.mode).ok_or(ErrorCode::BadArguments)?;
    ctx.watches.add_persistent(
        ctx.session,
        &req.path,
        mode == AddWatchMode::PersistentRecursive,
    );
    Ok(ErrorResponse { err: 0 })
}
