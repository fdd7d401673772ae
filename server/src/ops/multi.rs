//! multi (14) and multiRead (22). A multi applies its operations in order with one zxid; if one fails,
//! everything is rolled back and every result is an error: 0 for the operations before, the failing
//! operation's code, -2 (RuntimeInconsistency) after. In a multiRead each read succeeds or fails alone.

use zk_proto::{
    ErrorCode, ExistsResponse, GetChildrenResponse, MultiOp, MultiRequest, MultiResponse,
    MultiResult, OpCode,
};

use super::{ReadCtx, WriteCtx, check, create, delete, get_children, get_data, set_data};

fn apply_one(ctx: &mut WriteCtx<'_>, op: MultiOp) -> Result<MultiResult, ErrorCode> {
    Ok(match op {
        MultiOp::Create { op, req } => {
            let created = create::apply(ctx, op, req, None)?;
            into_result(created)
        }
        MultiOp::CreateTtl(req) => into_result(create::apply_ttl(ctx, req)?),
        MultiOp::Delete(req) => {
            delete::apply(ctx, req)?;
            MultiResult::Delete
        }
        MultiOp::SetData(req) => MultiResult::SetData(ExistsResponse {
            stat: set_data::apply(ctx, req)?.stat,
        }),
        MultiOp::Check(req) => {
            check::apply(ctx, req)?;
            MultiResult::Check
        }
        MultiOp::GetData(_) | MultiOp::GetChildren(_) => return Err(ErrorCode::BadArguments),
    })
}

fn into_result(created: create::Created) -> MultiResult {
    if created.op == OpCode::Create {
        MultiResult::Create(zk_proto::CreateResponse { path: created.path })
    } else {
        MultiResult::Create2(zk_proto::Create2Response {
            path: created.path,
            stat: created.stat,
        })
    }
}

/// Applies a multi; on failure the tree is rolled back and the results carry the error codes (the reply
/// itself succeeds, as Apache's).
pub fn apply(ctx: &mut WriteCtx<'_>, req: MultiRequest) -> Result<MultiResponse, ErrorCode> {
    let count = req.ops.len();
    let mut results = Vec::with_capacity(count);
    for op in req.ops {
        match apply_one(ctx, op) {
            Ok(result) => results.push(result),
            Err(err) => {
                ctx.rollback();
                let failed = results.len();
                let results = (0..count)
                    .map(|i| match i.cmp(&failed) {
                        std::cmp::Ordering::Less => MultiResult::Error(0),
                        std::cmp::Ordering::Equal => MultiResult::Error(err.code()),
                        std::cmp::Ordering::Greater => {
                            MultiResult::Error(ErrorCode::RuntimeInconsistency.code())
                        }
                    })
                    .collect();
                return Ok(MultiResponse { results });
            }
        }
    }
    Ok(MultiResponse { results })
}

/// Serves a multiRead: each getData / getChildren answers or fails on its own; no watches are left.
pub fn read(ctx: &ReadCtx<'_>, req: MultiRequest) -> Result<MultiResponse, ErrorCode> {
    let results = req
        .ops
        .into_iter()
        .map(|op| {
            let result = match op {
                MultiOp::GetData(mut r) => {
                    r.watch = false;
                    get_data::get_data(ctx, r).map(MultiResult::GetData)
                }
                MultiOp::GetChildren(mut r) => {
                    r.watch = false;
                    get_children::get_children(ctx, r).map(|GetChildrenResponse { children }| {
                        MultiResult::GetChildren(GetChildrenResponse { children })
                    })
                }
                _ => Err(ErrorCode::BadArguments),
            };
            result.unwrap_or_else(|err| MultiResult::Error(err.code()))
        })
        .collect();
    Ok(MultiResponse { results })
}
