//! create (1), create2 (15), createContainer (19), createTTL (21): checks in Apache's order — mode and TTL,
//! path shape, ACL fix-up, parent exists, CREATE on the parent, sequence suffix, full path, node exists,
//! ephemeral parent — then the node is created and the parent's cversion and pzxid move.

use zk_proto::{
    Create2Response, CreateMode, CreateRequest, CreateResponse, CreateTtlRequest, ErrorCode,
    OpCode, Record, Stat, perms,
};

use super::WriteCtx;
use crate::tree::{NewNode, NodeKind, path};
use crate::watch::Change;

/// A created node: its path and stat, replied as create (path only) or create2 (path and stat).
#[derive(Debug)]
pub struct Created {
    /// Which create was asked for.
    pub op: OpCode,
    /// The path, with its sequence suffix.
    pub path: String,
    /// The new node's stat.
    pub stat: Stat,
}

impl Created {
    /// The reply body: CreateResponse for op create, Create2Response for the others.
    pub fn encode(self) -> Vec<u8> {
        if self.op == OpCode::Create {
            CreateResponse { path: self.path }.to_bytes()
        } else {
            Create2Response {
                path: self.path,
                stat: self.stat,
            }
            .to_bytes()
        }
    }
}

/// createTTL.
pub fn apply_ttl(ctx: &mut WriteCtx<'_>, req: CreateTtlRequest) -> Result<Created, ErrorCode> {
    let create = CreateRequest {
        path: req.path,
        data: req.data,
        acl: req.acl,
        flags: req.flags,
    };
    apply(ctx, OpCode::CreateTtl, create, Some(req.ttl))
}

/// create, create2, createContainer (`ttl` is `None`) and createTTL.
pub fn apply(
    ctx: &mut WriteCtx<'_>,
    op: OpCode,
    req: CreateRequest,
    ttl: Option<i64>,
) -> Result<Created, ErrorCode> {
    let mode = CreateMode::from_i32(req.flags).ok_or(ErrorCode::BadArguments)?;
    let kind = NodeKind::for_create(mode, ttl, ctx.session, ctx.settings.extended_types)?;
    let prefix = req.path;
    if prefix.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    // Apache takes everything before the last slash as the parent: "" (the root) for "/" itself.
    let parent_path = if prefix == "/" {
        "/"
    } else {
        path::parent(&prefix).ok_or(ErrorCode::BadArguments)?
    };
    let parent_path = parent_path.to_owned();
    let acl = ctx.settings.acl.fixup(&req.acl, ctx.auth)?;
    let parent = ctx.node(&parent_path)?;
    ctx.check(parent, perms::CREATE)?;
    let cversion = parent.stored_stat().cversion;
    let parent_kind = NodeKind::from_owner(parent.stored_stat().ephemeral_owner);
    let full = if mode.is_sequential() {
        format!("{prefix}{}", path::sequence_suffix(cversion))
    } else {
        prefix
    };
    path::validate(&full)?;
    if ctx.tree.get(&full).is_some() {
        return Err(ErrorCode::NodeExists);
    }
    if matches!(parent_kind, NodeKind::Ephemeral(_)) {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    let new = NewNode {
        data: req.data,
        acl: &acl,
        owner: kind.owner(),
    };
    let undo = ctx
        .tree
        .create(&full, new, cversion.wrapping_add(1), ctx.zxid, ctx.time);
    ctx.undo.push(undo);
    ctx.changes.push(Change::Created(full.clone()));
    let stat = ctx.tree.get(&full).map(|n| n.stat()).unwrap_or_default();
    Ok(Created {
        op,
        path: full,
        stat,
    })
}
