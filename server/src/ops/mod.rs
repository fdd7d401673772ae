//! One file per request type: decode the body, check it as Apache does (path, ACL, version, node kind),
//! apply it to the tree or read from it, and encode the reply body.
//!
//! Writes run inside [`WriteCtx`]: every mutation is recorded for rollback (multi) and every change for
//! watch delivery once the request has succeeded. Reads run inside [`ReadCtx`] and may leave watches.

mod add_watch;
mod check;
mod create;
mod delete;
mod ephemerals;
mod get_acl;
mod get_children;
mod get_data;
mod multi;
mod set_acl;
mod set_data;
mod set_watches;
mod watches;
mod whoami;

pub use delete::delete_node;
use zk_proto::{DecodeError, ErrorCode, Id, OpCode, Record};

use crate::acl::AclPolicy;
use crate::tree::{DataTree, Node, Undo};
use crate::watch::{Change, WatchManager};

/// Settings every replica applies identically (from the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// ACL checks (`skipACL`).
    pub acl: AclPolicy,
    /// `zookeeper.extendedTypesEnabled`: TTL nodes allowed.
    pub extended_types: bool,
    /// `reconfigEnabled`.
    pub reconfig_enabled: bool,
    /// Apache's `isDistributed`: false for a standalone server, whose `/zookeeper/config` stays empty
    /// whatever membership the consensus layer applies.
    pub distributed: bool,
}

/// Everything a write needs: the tree, who asks, and the zxid and time the write gets.
pub struct WriteCtx<'a> {
    /// The tree.
    pub tree: &'a mut DataTree,
    /// Settings.
    pub settings: &'a Settings,
    /// The requesting session.
    pub session: i64,
    /// Its authenticated identities.
    pub auth: &'a [Id],
    /// The zxid of this write.
    pub zxid: i64,
    /// The leader's wall clock at proposal, ms.
    pub time: i64,
    /// Inverse mutations, in order, for rollback.
    pub undo: Vec<Undo>,
    /// Changes to fire watches for once the write succeeded.
    pub changes: Vec<Change>,
}

impl WriteCtx<'_> {
    /// Reverts every mutation done so far and forgets its changes.
    pub fn rollback(&mut self) {
        while let Some(undo) = self.undo.pop() {
            self.tree.undo(undo);
        }
        self.changes.clear();
    }

    /// The node at `path`, or NoNode.
    fn node(&self, path: &str) -> Result<&Node, ErrorCode> {
        self.tree.get(path).ok_or(ErrorCode::NoNode)
    }

    /// Checks `perm` on `node` for the requester.
    fn check(&self, node: &Node, perm: i32) -> Result<(), ErrorCode> {
        self.settings.acl.check(node.acl(), perm, self.auth)
    }
}

/// Everything a read needs.
pub struct ReadCtx<'a> {
    /// The tree.
    pub tree: &'a DataTree,
    /// Where watches are left.
    pub watches: &'a WatchManager,
    /// Settings.
    pub settings: &'a Settings,
    /// The requesting session.
    pub session: i64,
    /// Its authenticated identities.
    pub auth: &'a [Id],
}

impl<'a> ReadCtx<'a> {
    /// The node at `path`, or NoNode.
    fn node(&self, path: &str) -> Result<&'a Node, ErrorCode> {
        self.tree.get(path).ok_or(ErrorCode::NoNode)
    }

    /// Checks `perm` on `node` for the requester.
    fn check(&self, node: &Node, perm: i32) -> Result<(), ErrorCode> {
        self.settings.acl.check(node.acl(), perm, self.auth)
    }
}

/// Decodes a request body; a body that does not decode is a MarshallingError.
fn decode<T: Record>(body: &[u8]) -> Result<T, ErrorCode> {
    T::from_bytes(body).map_err(|_: DecodeError| ErrorCode::MarshallingError)
}

/// Checks an expected version against the current one; the version after the write.
fn next_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

/// Applies one write request; the reply body on success. On error the tree is unchanged.
pub fn apply_write(ctx: &mut WriteCtx<'_>, op: OpCode, body: &[u8]) -> Result<Vec<u8>, ErrorCode> {
    let result = match op {
        OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => {
            create::apply(ctx, op, decode(body)?, None).map(|r| r.encode())
        }
        OpCode::CreateTtl => {
            let req: zk_proto::CreateTtlRequest = decode(body)?;
            create::apply_ttl(ctx, req).map(|r| r.encode())
        }
        OpCode::Delete => delete::apply(ctx, decode(body)?).map(|()| Vec::new()),
        OpCode::SetData => set_data::apply(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::SetAcl => set_acl::apply(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::Check => check::apply(ctx, decode(body)?).map(|()| Vec::new()),
        OpCode::Multi => multi::apply(ctx, decode(body)?).map(|r| r.to_bytes()),
        _ => Err(ErrorCode::Unimplemented),
    };
    if result.is_err() {
        ctx.rollback();
    }
    result
}

/// Serves one read request (including the watch-management requests); the reply body on success.
pub fn read(ctx: &ReadCtx<'_>, op: OpCode, body: &[u8]) -> Result<Vec<u8>, ErrorCode> {
    match op {
        OpCode::Exists => get_data::exists(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::GetData => get_data::get_data(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::GetAcl => get_acl::read(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::GetChildren => get_children::get_children(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::GetChildren2 => {
            get_children::get_children2(ctx, decode(body)?).map(|r| r.to_bytes())
        }
        OpCode::GetAllChildrenNumber => {
            get_children::all_number(ctx, decode(body)?).map(|r| r.to_bytes())
        }
        OpCode::GetEphemerals => ephemerals::read(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::MultiRead => multi::read(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::WhoAmI => Ok(whoami::read(ctx).to_bytes()),
        OpCode::CheckWatches => watches::check(ctx, decode(body)?).map(|()| Vec::new()),
        OpCode::RemoveWatches => watches::remove(ctx, decode(body)?).map(|()| Vec::new()),
        OpCode::AddWatch => add_watch::apply(ctx, decode(body)?).map(|r| r.to_bytes()),
        OpCode::SetWatches => {
            let req: zk_proto::SetWatches = decode(body)?;
            set_watches::apply(ctx, req.into());
            Ok(Vec::new())
        }
        OpCode::SetWatches2 => {
            set_watches::apply(ctx, decode(body)?);
            Ok(Vec::new())
        }
        _ => Err(ErrorCode::Unimplemented),
    }
}

#[cfg(test)]
mod tests;
