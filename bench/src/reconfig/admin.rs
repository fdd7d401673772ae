//! What the benchmark asks one member: its view of the configuration (`/zookeeper/config`) and a reconfig
//! (its mode is [`crate::fourlw::mode`]).

use zk_proto::{GetDataRequest, GetDataResponse, OpCode, ReconfigRequest};

use crate::reconfig::config::DynamicConfig;
use crate::reconfig::error::ReconfigError;
use crate::session::Session;

/// The node holding the dynamic configuration.
const CONFIG_NODE: &str = "/zookeeper/config";

/// The configuration as the member `session` is connected to knows it (a local read, no sync).
pub async fn read_config(session: &mut Session) -> Result<DynamicConfig, ReconfigError> {
    let request = GetDataRequest {
        path: CONFIG_NODE.to_owned(),
        watch: false,
    };
    let reply: GetDataResponse = session
        .request(OpCode::GetData, &request)
        .await?
        .map_err(|code| ReconfigError::rejected(format!("getData {CONFIG_NODE}"), code))?;
    parse(reply.data.unwrap_or_default())
}

/// An incremental reconfig (`joining`: comma-separated `server.N=…` specs; `leaving`: comma-separated
/// ids), unconditional on the config version; returns the configuration it committed.
pub async fn reconfig(
    session: &mut Session,
    joining: Option<&str>,
    leaving: Option<&str>,
) -> Result<DynamicConfig, ReconfigError> {
    let request = ReconfigRequest {
        joining_servers: joining.map(str::to_owned),
        leaving_servers: leaving.map(str::to_owned),
        new_members: None,
        cur_config_id: -1,
    };
    let reply: GetDataResponse = session
        .request(OpCode::Reconfig, &request)
        .await?
        .map_err(|code| ReconfigError::rejected(describe(joining, leaving), code))?;
    parse(reply.data.unwrap_or_default())
}

/// The request as zkCli spells it, for messages.
pub fn describe(joining: Option<&str>, leaving: Option<&str>) -> String {
    let mut out = String::from("reconfig");
    if let Some(j) = joining {
        out.push_str(&format!(" -add {j}"));
    }
    if let Some(l) = leaving {
        out.push_str(&format!(" -remove {l}"));
    }
    out
}

/// The configuration in the bytes of `/zookeeper/config` (or a reconfig reply).
fn parse(data: Vec<u8>) -> Result<DynamicConfig, ReconfigError> {
    let text = String::from_utf8_lossy(&data);
    DynamicConfig::parse(&text)
        .ok_or_else(|| ReconfigError::Unexpected(format!("unreadable configuration {text:?}")))
}
