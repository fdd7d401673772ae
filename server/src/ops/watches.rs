//! checkWatches (17) and removeWatches (18): NoWatcher when the session has no such watch on the path.
//! The client itself raises the DataWatchRemoved / ChildWatchRemoved events.

use zk_proto::{CheckWatchesRequest, ErrorCode, RemoveWatchesRequest, WatcherType};

use super::ReadCtx;

fn watcher_type(code: i32) -> Result<WatcherType, ErrorCode> {
    WatcherType::from_i32(code).ok_or(ErrorCode::BadArguments)
}

/// checkWatches.
pub fn check(ctx: &ReadCtx<'_>, req: CheckWatchesRequest) -> Result<(), ErrorCode> {
    let kind = watcher_type(req.watcher_type)?;
    if ctx.watches.contains(ctx.session, &req.path, kind) {
        Ok(())
    } else {
        Err(ErrorCode::NoWatcher)
    }
}

/// removeWatches.
pub fn remove(ctx: &ReadCtx<'_>, req: RemoveWatchesRequest) -> Result<(), ErrorCode> {
    let kind = watcher_type(req.watcher_type)?;
    if ctx.watches.remove(ctx.session, &req.path, kind) {
        Ok(())
    } else {
        Err(ErrorCode::NoWatcher)
    }
}
