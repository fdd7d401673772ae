//! Checks of a `ZkEnsemble` spec that its schema cannot express, run before anything is built. The schema's CEL
//! rules reject the same reserved keys at admission; this is the operator's own guard for objects admitted
//! before the rules existed, and the single list the rule is tested against.

use crate::member_ids::OBSERVER_IDS;
use crate::types::{LogFormat, ServerFlavour, ZkEnsembleSpec};

/// zoo.cfg keys the operator writes itself; `extraConfig` may not set them.
pub const RESERVED_KEYS: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "dynamicConfigFile",
    "clientPort",
    "clientPortAddress",
    "secureClientPort",
    "standaloneEnabled",
    "reconfigEnabled",
    "skipACL",
    "tickTime",
    "initLimit",
    "syncLimit",
    "minSessionTimeout",
    "maxSessionTimeout",
    "admin.serverPort",
    "admin.enableServer",
    "4lw.commands.whitelist",
    "quorumListenOnAllIPs",
    "metricsProvider.className",
    "metricsProvider.httpPort",
];

/// Key prefixes of membership lines; `extraConfig` may not set them.
pub const RESERVED_PREFIXES: &[&str] = &["server.", "group.", "weight."];

/// A spec the operator refuses to act on, with every reason found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid spec: {}", .0.join("; "))]
pub struct InvalidSpec(pub Vec<String>);

/// Checks `spec`; the error lists every problem found.
pub fn validate(spec: &ZkEnsembleSpec) -> Result<(), InvalidSpec> {
    let mut problems = Vec::new();
    if spec.replicas < 1 {
        problems.push(format!(
            "replicas must be at least 1, not {}",
            spec.replicas
        ));
    }
    let most_observers = OBSERVER_IDS.count();
    if usize::try_from(spec.observers).is_ok_and(|n| n > most_observers) || spec.observers < 0 {
        problems.push(format!(
            "observers must be between 0 and {most_observers}, not {}",
            spec.observers
        ));
    }
    for key in spec.server.extra_config.keys() {
        if RESERVED_KEYS.contains(&key.as_str())
            || RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))
        {
            problems.push(format!(
                "extraConfig key {key:?} is managed by the operator"
            ));
        }
        if key.is_empty() || key.contains(['=', '\n', ' ']) {
            problems.push(format!("extraConfig key {key:?} is not a zoo.cfg key"));
        }
    }
    for (key, value) in &spec.server.extra_config {
        if value.contains('\n') {
            problems.push(format!("extraConfig value of {key:?} spans lines"));
        }
    }
    if let (Some(min), Some(max)) = (
        spec.server.min_session_timeout,
        spec.server.max_session_timeout,
    ) && min > max
    {
        problems.push(format!(
            "minSessionTimeout {min} exceeds maxSessionTimeout {max}"
        ));
    }
    if spec.log.format == LogFormat::Json && spec.flavour == ServerFlavour::Apache {
        problems.push(
            "log.format json needs zk-server members (flavour Native): Apache ZooKeeper logs through \
             logback, whose image here has no JSON encoder"
                .to_string(),
        );
    }
    if let Some(tls) = &spec.tls {
        if !tls.plain_client_port && !tls.client {
            problems.push(
                "tls.plainClientPort false turns the only client port off: it needs tls.client true"
                    .to_string(),
            );
        }
        if tls
            .secret_name
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            problems.push("tls.secretName must not be empty".to_string());
        }
    }
    if spec.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
        problems.push("image must not be empty".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec(problems))
    }
}
