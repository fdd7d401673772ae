//! The ConfigMap holding the static zoo.cfg settings and the start script every member runs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::meta::{
    ADMIN_PORT, CLIENT_PORT, config_map_name, owned_meta, plain_client_port, selector_labels,
};
use super::tls::tls_config_lines;
use crate::types::ZkEnsemble;

/// Key of the static settings in the ConfigMap.
pub const STATIC_CONFIG_KEY: &str = "zoo.cfg.static";
/// Key of the start script in the ConfigMap.
pub const START_SCRIPT_KEY: &str = "start.sh";
/// The start script: renders the config at each start and runs the server.
pub const START_SCRIPT: &str = include_str!("start.sh");

/// The static zoo.cfg settings: everything but membership, which lives in the dynamic config. The plain client
/// port is named only when it is on (its address is also in each member's `server.N` line).
pub fn static_config(zk: &ZkEnsemble) -> String {
    let server = &zk.spec.server;
    let mut lines = vec![
        "dataDir=/data".to_string(),
        "dataLogDir=/datalog".to_string(),
    ];
    if plain_client_port(zk) {
        lines.push(format!("clientPort={CLIENT_PORT}"));
    }
    lines.extend([
        format!("tickTime={}", server.tick_time),
        format!("initLimit={}", server.init_limit),
        format!("syncLimit={}", server.sync_limit),
        "standaloneEnabled=false".to_string(),
        "reconfigEnabled=true".to_string(),
        "quorumListenOnAllIPs=true".to_string(),
        "4lw.commands.whitelist=srvr,mntr,ruok,conf,isro".to_string(),
        "admin.enableServer=true".to_string(),
        format!("admin.serverPort={ADMIN_PORT}"),
    ]);
    lines.extend(tls_config_lines(zk));
    if let Some(min) = server.min_session_timeout {
        lines.push(format!("minSessionTimeout={min}"));
    }
    if let Some(max) = server.max_session_timeout {
        lines.push(format!("maxSessionTimeout={max}"));
    }
    // Both servers read Apache's provider settings; zk-server serves the same metrics itself.
    if zk.spec.metrics.enabled {
        lines.push("metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider".into());
        lines.push(format!("metricsProvider.httpPort={}", zk.spec.metrics.port));
    }
    lines.extend(super::sasl::config_lines(zk));
    lines.extend(server.extra_config.iter().map(|(k, v)| format!("{k}={v}")));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The ConfigMap mounted read-only at `/config` in every member.
pub fn config_map(zk: &ZkEnsemble) -> ConfigMap {
    ConfigMap {
        metadata: owned_meta(zk, config_map_name(zk), selector_labels(zk)),
        data: Some(BTreeMap::from([
            (STATIC_CONFIG_KEY.to_string(), static_config(zk)),
            (START_SCRIPT_KEY.to_string(), START_SCRIPT.to_string()),
        ])),
        ..ConfigMap::default()
    }
}
