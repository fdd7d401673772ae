//! getACL (6): the node must exist and grant READ or ADMIN; without ADMIN the digest hashes are replaced
//! by `x` (`user:x`), as Apache 3.9 does.

use zk_proto::{Acl, ErrorCode, GetAclRequest, GetAclResponse, Id, perms};

use super::ReadCtx;

/// getACL.
pub fn read(ctx: &ReadCtx<'_>, req: GetAclRequest) -> Result<GetAclResponse, ErrorCode> {
    let node = ctx.node(&req.path)?;
    ctx.check(node, perms::READ | perms::ADMIN)?;
    let acl = if ctx.check(node, perms::ADMIN).is_ok() {
        node.acl().to_vec()
    } else {
        node.acl().iter().map(redact).collect()
    };
    Ok(GetAclResponse {
        acl,
        stat: node.stat(),
    })
}

fn redact(acl: &Acl) -> Acl {
    if acl.id.scheme != "digest" {
        return acl.clone();
    }
    let user = acl.id.id.split(':').next().unwrap_or("");
    Acl {
        perms: acl.perms,
        id: Id::new("digest", format!("{user}:x")),
    }
}
