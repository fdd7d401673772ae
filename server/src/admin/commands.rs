//! The AdminServer commands: names and aliases as Apache's, JSON bodies with Apache's keys.

use serde_json::{Map, Value, json};

use crate::fourlw::{
    self, MetricValue, ServerInfo, StatsSnapshot, connection_line, environment, full_version,
    metrics,
};

/// Apache's text when a command needs a serving member.
const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// A command's answer: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutput {
    /// 200, 404 (unknown command) or 503 (not serving).
    pub status: u16,
    /// The JSON object.
    pub body: Value,
}

/// One command: primary name, aliases, whether it needs a serving member.
struct Command {
    names: &'static [&'static str],
    needs_serving: bool,
    run: fn(&dyn ServerInfo) -> Map<String, Value>,
}

const COMMANDS: &[Command] = &[
    Command {
        names: &["configuration", "conf", "config"],
        needs_serving: true,
        run: configuration,
    },
    Command {
        names: &["connection_stat_reset", "crst"],
        needs_serving: true,
        run: connection_stat_reset,
    },
    Command {
        names: &["connections", "cons"],
        needs_serving: true,
        run: connections,
    },
    Command {
        names: &["dirs"],
        needs_serving: true,
        run: dirs,
    },
    Command {
        names: &["dump"],
        needs_serving: true,
        run: dump,
    },
    Command {
        names: &["environment", "env", "envi"],
        needs_serving: false,
        run: environment_command,
    },
    Command {
        names: &["is_read_only", "isro"],
        needs_serving: true,
        run: is_read_only,
    },
    Command {
        names: &["leader", "lead"],
        needs_serving: true,
        run: leader,
    },
    Command {
        names: &["monitor", "mntr"],
        needs_serving: false,
        run: monitor,
    },
    Command {
        names: &["ruok"],
        needs_serving: true,
        run: |_| Map::new(),
    },
    Command {
        names: &["server_stats", "srvr"],
        needs_serving: true,
        run: server_stats,
    },
    Command {
        names: &["stat_reset", "srst"],
        needs_serving: true,
        run: stat_reset,
    },
    Command {
        names: &["stats", "stat"],
        needs_serving: true,
        run: stats,
    },
    Command {
        names: &["system_properties", "sysp"],
        needs_serving: false,
        run: system_properties,
    },
    Command {
        names: &["watch_summary", "wchs"],
        needs_serving: true,
        run: watch_summary,
    },
    Command {
        names: &["watches", "wchc"],
        needs_serving: true,
        run: watches,
    },
    Command {
        names: &["watches_by_path", "wchp"],
        needs_serving: true,
        run: watches_by_path,
    },
];

/// The primary names, sorted (the command list page), `leader_transfer` and `snapshot` included.
pub fn primary_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = COMMANDS.iter().map(|c| c.names[0]).collect();
    names.push(super::leader_transfer::NAME);
    names.push(super::snapshot::NAMES[0]);
    names.sort_unstable();
    names
}

/// The answer of a command that needs a serving member while this one does not serve.
pub fn not_serving(primary: &str) -> CommandOutput {
    CommandOutput {
        status: 503,
        body: json!({ "command": primary, "error": NOT_SERVING }),
    }
}

/// Runs the command named `name` (primary name or alias).
pub fn run_command(name: &str, info: &dyn ServerInfo) -> CommandOutput {
    let Some(command) = COMMANDS.iter().find(|c| c.names.contains(&name)) else {
        return CommandOutput {
            status: 404,
            body: json!({ "command": name, "error": format!("Command not found: {name}") }),
        };
    };
    let primary = command.names[0];
    if command.needs_serving && !info.is_serving() {
        return not_serving(primary);
    }
    let mut body = (command.run)(info);
    body.insert("command".into(), json!(primary));
    body.insert("error".into(), Value::Null);
    CommandOutput {
        status: 200,
        body: Value::Object(body),
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn hex(id: i64) -> String {
    format!("0x{id:x}")
}

fn configuration(info: &dyn ServerInfo) -> Map<String, Value> {
    let c = info.config();
    object(json!({
        "client_port": info.client_port(),
        "data_dir": std::path::absolute(&c.data_dir).unwrap_or_else(|_| c.data_dir.clone()),
        "data_log_dir": std::path::absolute(&c.data_log_dir).unwrap_or_else(|_| c.data_log_dir.clone()),
        "tick_time": c.tick_time_ms,
        "max_client_cnxns": c.max_client_cnxns,
        "min_session_timeout": c.min_session_timeout_ms,
        "max_session_timeout": c.max_session_timeout_ms,
        "server_id": c.server_id(),
        "client_port_listen_backlog": c.client_port_listen_backlog,
    }))
}

fn connection_stat_reset(info: &dyn ServerInfo) -> Map<String, Value> {
    info.reset_connection_stats();
    Map::new()
}

fn connections(info: &dyn ServerInfo) -> Map<String, Value> {
    let list: Vec<Value> = info
        .connections()
        .iter()
        .map(|c| {
            let mut entry = json!({
                "remote_socket_address": c.remote.to_string(),
                "interest_ops": if c.reading { 1 } else { 0 },
                "outstanding_requests": c.outstanding,
                "packets_received": c.received,
                "packets_sent": c.sent,
                "description": connection_line(c, false).trim_start(),
            });
            if let Some(s) = &c.session {
                let extra = json!({
                    "session_id": hex(s.id),
                    "last_operation": s.last_operation,
                    "established": fourlw::java_date(s.established_ms),
                    "session_timeout": s.timeout_ms,
                    "last_cxid": hex(s.last_cxid),
                    "last_zxid": hex(s.last_zxid),
                    "last_response_time": s.last_response_ms,
                    "last_latency": s.last_latency_ms,
                    "min_latency": s.min_latency_ms,
                    "avg_latency": s.avg_latency_ms,
                    "max_latency": s.max_latency_ms,
                });
                entry.as_object_mut().expect("object").extend(object(extra));
            }
            entry
        })
        .collect();
    object(json!({ "connections": list, "secure_connections": [] }))
}

fn dirs(info: &dyn ServerInfo) -> Map<String, Value> {
    let c = info.config();
    object(json!({
        "datadir_size": fourlw::directory_size(&c.data_dir),
        "logdir_size": fourlw::directory_size(&c.data_log_dir),
    }))
}

fn dump(info: &dyn ServerInfo) -> Map<String, Value> {
    let expiry: Map<String, Value> = info
        .session_buckets()
        .into_iter()
        .map(|b| (b.expires_at_ms.to_string(), json!(b.sessions)))
        .collect();
    let ephemerals: Map<String, Value> = info
        .ephemerals()
        .into_iter()
        .map(|(id, paths)| (id.to_string(), json!(paths)))
        .collect();
    object(
        json!({ "expiry_time_to_session_ids": expiry, "session_id_to_ephemeral_paths": ephemerals }),
    )
}

fn environment_command(_: &dyn ServerInfo) -> Map<String, Value> {
    environment()
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn is_read_only(info: &dyn ServerInfo) -> Map<String, Value> {
    object(json!({ "read_only": info.is_read_only() }))
}

fn leader(info: &dyn ServerInfo) -> Map<String, Value> {
    let config = info.config();
    if !config.is_distributed() {
        return object(json!({ "error": "server is not initialized" }));
    }
    let leader = info.leader_id();
    let leader_ip = leader
        .and_then(|id| config.membership.servers.get(&id))
        .map(|spec| spec.host.clone())
        .unwrap_or_default();
    object(json!({
        "is_leader": info.mode() == fourlw::Mode::Leader,
        "leader_id": leader.map(|id| id as i64).unwrap_or(-1),
        "leader_ip": leader_ip,
    }))
}

fn monitor(info: &dyn ServerInfo) -> Map<String, Value> {
    metrics(info)
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                MetricValue::Int(v) => json!(v),
                MetricValue::Float(v) => json!(v),
                MetricValue::Text(v) => json!(v),
            };
            (key.trim_start_matches("zk_").to_string(), value)
        })
        .collect()
}

fn stats_json(info: &dyn ServerInfo, stats: &StatsSnapshot) -> Value {
    let c = info.config();
    json!({
        "packets_sent": stats.packets_sent,
        "packets_received": stats.packets_received,
        "uptime": info.uptime_ms(),
        "server_state": info.mode().as_str(),
        "outstanding_requests": stats.outstanding_requests,
        "min_latency": stats.min_latency_ms,
        "avg_latency": stats.avg_latency_ms,
        "max_latency": stats.max_latency_ms,
        "data_dir_size": fourlw::directory_size(&c.data_dir),
        "log_dir_size": fourlw::directory_size(&c.data_log_dir),
        "last_processed_zxid": info.last_zxid(),
        "num_alive_client_connections": stats.alive_connections,
        "auth_failed_count": stats.auth_failed,
        "provider_null": false,
    })
}

fn server_stats(info: &dyn ServerInfo) -> Map<String, Value> {
    let stats = info.stats();
    let mut body = object(json!({
        "version": full_version(),
        "read_only": info.is_read_only(),
        "server_stats": stats_json(info, &stats),
        "node_count": info.data_summary().znode_count,
    }));
    if info.mode() == fourlw::Mode::Leader {
        let (last, min, max) = info.quorum_summary().proposal_sizes;
        body.insert(
            "proposal_stats".into(),
            json!({ "last_buffer_size": last, "min_buffer_size": min, "max_buffer_size": max }),
        );
    }
    body
}

fn stats(info: &dyn ServerInfo) -> Map<String, Value> {
    let mut body = server_stats(info);
    body.extend(connections(info));
    body
}

fn stat_reset(info: &dyn ServerInfo) -> Map<String, Value> {
    info.reset_stats();
    Map::new()
}

fn system_properties(info: &dyn ServerInfo) -> Map<String, Value> {
    info.config()
        .system_properties
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect()
}

fn watch_summary(info: &dyn ServerInfo) -> Map<String, Value> {
    let s = info.data_summary();
    object(json!({
        "num_connections": s.watching_sessions,
        "num_paths": s.watched_paths,
        "num_total_watches": s.data_watches,
    }))
}

fn watches(info: &dyn ServerInfo) -> Map<String, Value> {
    let map: Map<String, Value> = info
        .watches_by_session()
        .into_iter()
        .map(|(id, paths)| (id.to_string(), json!(paths)))
        .collect();
    object(json!({ "session_id_to_watched_paths": map }))
}

fn watches_by_path(info: &dyn ServerInfo) -> Map<String, Value> {
    let map: Map<String, Value> = info
        .watches_by_path()
        .into_iter()
        .map(|(path, ids)| (path, json!(ids)))
        .collect();
    object(json!({ "path_to_session_ids": map }))
}
