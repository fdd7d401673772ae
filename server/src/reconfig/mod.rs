//! The reconfig request (op 16): incremental `-add`/`-remove`, whole `-members`, `-v`.
//!
//! `plan` is pure: Apache's checks in Apache's order and the new membership. This module gathers
//! the facts those checks need (the committed `/zookeeper/config`, the requester's permission),
//! hands the new member list to the consensus layer — which forwards it to the leader when this
//! member does not lead; the leader refuses it unless a quorum of the new voters is synced with
//! it, commits it with joint consensus (joiners not connected yet become voters at once) and
//! hands leadership over when it leaves — and answers with the committed config text and its
//! Stat, as Apache's GetDataResponse.

mod plan;

use zk_proto::{
    ErrorCode, GetAclRequest, GetAclResponse, GetDataRequest, GetDataResponse, Id, OpCode,
    ReconfigRequest, Record, perms,
};

pub use plan::{Facts, new_membership, plan};

use crate::acl::{self, AclPolicy};
use crate::config::{Membership, apache_order};
use crate::consensus::{ConsensusError, Member, Role};
use crate::net::Context;
use crate::tree::CONFIG;

/// Serves one reconfig request from a session with identities `auth`: the reply body (a
/// GetDataResponse of `/zookeeper/config`) or the error code for the client. A consensus failure
/// that leaves the outcome unknown is returned as such (the caller closes the connection).
pub async fn serve(
    ctx: &Context,
    auth: &[Id],
    body: &[u8],
) -> Result<Result<Vec<u8>, ErrorCode>, ConsensusError> {
    let Ok(request) = ReconfigRequest::from_bytes(body) else {
        return Ok(Err(ErrorCode::MarshallingError));
    };
    let current = committed_membership(ctx);
    let facts = Facts {
        reconfig_enabled: ctx.config.reconfig_enabled,
        distributed: ctx.config.is_distributed(),
        current: &current,
        may_write_config: may_write_config(ctx, auth),
    };
    let next = match plan(&facts, &request) {
        Ok(next) => next,
        Err(code) => return Ok(Err(code)),
    };
    let members: Vec<Member> = next
        .listed_ids()
        .iter()
        .map(|id| &next.servers[id])
        .map(|spec| Member {
            id: spec.id,
            spec: spec.render(),
            voter: plan::is_voter(spec),
        })
        .collect();
    tracing::info!(
        from = format_args!("{:x}", current.version),
        members = ?members.iter().map(|m| m.id).collect::<Vec<_>>(),
        "reconfig"
    );
    match ctx.consensus.change_membership(members, None).await {
        Ok(_) => Ok(Ok(config_as_seen(ctx).to_bytes())),
        Err(ConsensusError::BadVersion { .. }) => Ok(Err(ErrorCode::BadVersion)),
        Err(ConsensusError::ReconfigInProgress) => Ok(Err(ErrorCode::ReconfigInProgress)),
        Err(ConsensusError::NewConfigNoQuorum(reason)) => {
            tracing::warn!(%reason, "Reconfig failed - there must be a connected and synced quorum in new configuration");
            Ok(Err(ErrorCode::NewConfigNoQuorum))
        }
        Err(ConsensusError::InvalidMembership(_)) => Ok(Err(ErrorCode::BadArguments)),
        Err(e) => Err(e),
    }
}

/// The committed membership as `/zookeeper/config` holds it.
fn committed_membership(ctx: &Context) -> Membership {
    let data = GetDataResponse::from_bytes(&read_config(ctx))
        .ok()
        .and_then(|r| r.data)
        .unwrap_or_default();
    Membership::from_config_text(&String::from_utf8_lossy(&data)).unwrap_or_default()
}

/// The committed configuration as this member's quorum view prints it (the reconfig reply,
/// `conf`): as committed on the leader, which built it; elsewhere in the order of a parsed
/// configuration, as an Apache member that read the committed text prints it.
pub fn config_as_seen(ctx: &Context) -> GetDataResponse {
    let mut response = GetDataResponse::from_bytes(&read_config(ctx)).unwrap_or_default();
    if ctx.role() != Role::Leader
        && let Some(data) = response.data.as_mut()
    {
        *data = apache_order::as_parsed(&String::from_utf8_lossy(data)).into_bytes();
    }
    response
}

/// `/zookeeper/config` as a GetDataResponse (text and Stat).
fn read_config(ctx: &Context) -> Vec<u8> {
    let request = GetDataRequest {
        path: CONFIG.to_string(),
        watch: false,
    };
    let (_, body) = ctx
        .state
        .read(0, &[acl::super_id()], OpCode::GetData, &request.to_bytes());
    body
}

/// Whether the requester may write `/zookeeper/config` (`skipACL` and the super user always may).
fn may_write_config(ctx: &Context, auth: &[Id]) -> bool {
    let request = GetAclRequest {
        path: CONFIG.to_string(),
    };
    let (err, body) = ctx
        .state
        .read(0, &[acl::super_id()], OpCode::GetAcl, &request.to_bytes());
    let Ok(response) = GetAclResponse::from_bytes(&body) else {
        return err == 0;
    };
    AclPolicy::from_config(&ctx.config)
        .check(&response.acl, perms::WRITE, auth)
        .is_ok()
}
