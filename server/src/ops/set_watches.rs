//! setWatches (101) and setWatches2 (105), sent after a reconnect: as Apache's `DataTree.setWatches`, a
//! watch whose event was missed since `relativeZxid` fires at once instead of being registered (data:
//! deleted or changed; exist: created; child: deleted or children changed); persistent watches are
//! registered again.

use zk_proto::{EventType, SetWatches2};

use super::ReadCtx;
use crate::watch::WatchKind;

/// Zxid stamped on catch-up events (they belong to no single change).
const NO_ZXID: i64 = -1;

/// Re-registers the watches of a reconnected session.
pub fn apply(ctx: &ReadCtx<'_>, req: SetWatches2) {
    let relative = req.relative_zxid;
    let fire = |event, path: &str| ctx.watches.notify(ctx.session, NO_ZXID, event, path);
    for path in &req.data_watches.0 {
        match ctx.tree.get(path) {
            None => fire(EventType::NodeDeleted, path),
            Some(n) if n.stored_stat().mzxid > relative => fire(EventType::NodeDataChanged, path),
            Some(_) => ctx.watches.add(ctx.session, path, WatchKind::Data),
        }
    }
    for path in &req.exist_watches.0 {
        match ctx.tree.get(path) {
            Some(_) => fire(EventType::NodeCreated, path),
            None => ctx.watches.add(ctx.session, path, WatchKind::Data),
        }
    }
    for path in &req.child_watches.0 {
        match ctx.tree.get(path) {
            None => fire(EventType::NodeDeleted, path),
            Some(n) if n.stored_stat().pzxid > relative => {
                fire(EventType::NodeChildrenChanged, path)
            }
            Some(_) => ctx.watches.add(ctx.session, path, WatchKind::Child),
        }
    }
    for path in &req.persistent_watches.0 {
        ctx.watches.add_persistent(ctx.session, path, false);
    }
    for path in &req.persistent_recursive_watches.0 {
        ctx.watches.add_persistent(ctx.session, path, true);
    }
}
