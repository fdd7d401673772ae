//! From `zoo.cfg` (+ dynamic file, `myid`, system properties) to a validated [`ServerConfig`].
//!
//! Apache turns every zoo.cfg key it does not handle itself into the system property `zookeeper.<key>`,
//! overriding a `-D` flag of the same name; settings such as `skipACL` or `4lw.commands.whitelist` are then
//! read from those properties. This reader follows the same two steps. Keys already written with the
//! `zookeeper.` prefix are accepted too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use super::dynamic_file::read_dynamic_file;
use super::error::ConfigError;
use super::membership::Membership;
use super::properties;
use super::server_spec::{HostPort, LearnerType};
use super::whitelist::FourLetterWhitelist;
use super::{
    AdminConfig, DEFAULT_ADMIN_PORT, DEFAULT_ADMIN_RATE_LIMITER_INTERVAL, DEFAULT_JUTE_MAX_BUFFER,
    DEFAULT_MAX_CLIENT_CNXNS, DEFAULT_METRICS_PORT, DEFAULT_SNAP_COUNT, DEFAULT_TICK_TIME_MS,
    MIN_SNAP_RETAIN_COUNT, NULL_METRICS_PROVIDER, PROMETHEUS_METRICS_PROVIDER, QuorumTlsSwitches,
    ServerConfig, jvm_flags,
};

/// System properties this server reads (after zoo.cfg fallbacks are prefixed with `zookeeper.`).
const KNOWN_PROPERTIES: &[&str] = &[
    "zookeeper.skipACL",
    "zookeeper.DigestAuthenticationProvider.superDigest",
    "zookeeper.4lw.commands.whitelist",
    "zookeeper.admin.enableServer",
    "zookeeper.admin.serverPort",
    "zookeeper.admin.serverAddress",
    "zookeeper.admin.commandURL",
    "zookeeper.admin.snapshot.enabled",
    "zookeeper.admin.rateLimiterIntervalInMS",
    "zookeeper.snapCount",
    "zookeeper.extendedTypesEnabled",
    "zookeeper.jute.maxbuffer",
    "jute.maxbuffer",
    "readonlymode.enabled",
    "zookeeper.readonlymode.enabled",
    "zookeeper.forceSync",
    "zookeeper.X509AuthenticationProvider.superUser",
    "zookeeper.client.portUnification",
    "zookeeper.portUnification",
    "zookeeper.sslQuorum",
    "zookeeper.sslQuorumReloadCertFiles",
    "zookeeper.authProvider.x509",
];

/// Prefix of the client TLS properties (`ssl.*` in zoo.cfg), read by the `tls` module.
const TLS_PROPERTY_PREFIX: &str = "zookeeper.ssl.";

/// Apache keys accepted for compatibility that change nothing here.
const IGNORED_KEYS: &[&str] = &[
    "electionAlg",
    "peerType",
    "syncEnabled",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "connectToLearnerMasterLimit",
    "observerMasterPort",
    "metricsProvider.exportJvmInfo",
    "admin.idleTimeout",
    "zookeeper.admin.idleTimeout",
    "zookeeper.serverCnxnFactory",
    "serverCnxnFactory",
    "zookeeper.globalOutstandingLimit",
    "globalOutstandingLimit",
    "preAllocSize",
    "zookeeper.preAllocSize",
    "multiAddress.enabled",
    "quorum.cnxn.threads.size",
];

/// Loads `path`, with system properties taken from `SERVER_JVMFLAGS` / `JVMFLAGS`.
pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
    load_with_properties(path, jvm_flags::from_env())
}

/// Loads `path` with the given system properties (later entries win).
pub fn load_with_properties(
    path: &Path,
    flags: Vec<(String, String)>,
) -> Result<ServerConfig, ConfigError> {
    info!(path = %path.display(), "reading configuration");
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.into(),
        source,
    })?;
    let entries = properties::parse(&text);
    let mut props: BTreeMap<String, String> = flags.into_iter().collect();
    let mut raw = RawKeys::default();
    let has_dynamic_file = entries.iter().any(|(k, _)| k == "dynamicConfigFile");
    for (key, value) in &entries {
        if is_membership_key(key) {
            if has_dynamic_file {
                return Err(ConfigError::Invalid(format!(
                    "parameter: {key} must be in a separate dynamic config file"
                )));
            }
            continue;
        }
        if !raw.take(key, value) {
            let name = property_name(key);
            if !KNOWN_PROPERTIES.contains(&name.as_str())
                && !name.starts_with(TLS_PROPERTY_PREFIX)
                && !crate::sasl::is_known_property(&name)
            {
                if IGNORED_KEYS.contains(&key.as_str()) {
                    info!(key = %key, "configuration key not used by this server; ignored");
                } else {
                    warn!(key = %key, "unknown configuration key; ignored");
                }
            }
            props.insert(name, value.clone());
        }
    }
    let membership = match &raw.dynamic_config_file {
        Some(file) => read_dynamic_file(Path::new(file))?,
        None => Membership::from_entries(&entries)?,
    };
    build(path, raw, membership, props)
}

/// The Prometheus endpoint `metricsProvider.*` asks for: Apache's Prometheus provider serves one
/// (on `httpHost`, default `0.0.0.0`, and `httpPort`, default 7000); its null provider, the default,
/// serves none; any other class is one this server cannot load, as Apache could not.
fn metrics_endpoint(raw: &RawKeys) -> Result<Option<HostPort>, ConfigError> {
    match raw.metrics_provider.as_deref().map(str::trim) {
        None | Some(NULL_METRICS_PROVIDER) => Ok(None),
        Some(PROMETHEUS_METRICS_PROVIDER) => Ok(Some(HostPort {
            host: raw.metrics_host.clone().unwrap_or_else(|| "0.0.0.0".into()),
            port: number("metricsProvider.httpPort", raw.metrics_port.as_deref())?
                .unwrap_or(DEFAULT_METRICS_PORT),
        })),
        Some(other) => Err(ConfigError::InvalidValue {
            key: "metricsProvider.className".into(),
            value: other.into(),
            reason: format!(
                "the metrics providers available are {PROMETHEUS_METRICS_PROVIDER} and \
                 {NULL_METRICS_PROVIDER}"
            ),
        }),
    }
}

/// True for keys that belong in the dynamic file.
fn is_membership_key(key: &str) -> bool {
    key.starts_with("server.") || key.starts_with("group") || key.starts_with("weight")
}

/// The system property a zoo.cfg key becomes.
fn property_name(key: &str) -> String {
    if key.starts_with("zookeeper.") || key == "jute.maxbuffer" || key == "readonlymode.enabled" {
        key.to_string()
    } else {
        format!("zookeeper.{key}")
    }
}

/// The keys zoo.cfg handles itself (Apache's `QuorumPeerConfig.parseProperties`), still as text.
#[derive(Default)]
struct RawKeys {
    data_dir: Option<String>,
    data_log_dir: Option<String>,
    client_port: Option<String>,
    client_port_address: Option<String>,
    secure_client_port: Option<String>,
    secure_client_port_address: Option<String>,
    ssl_quorum: Option<String>,
    client_port_listen_backlog: Option<String>,
    tick_time: Option<String>,
    max_client_cnxns: Option<String>,
    min_session_timeout: Option<String>,
    max_session_timeout: Option<String>,
    init_limit: Option<String>,
    sync_limit: Option<String>,
    dynamic_config_file: Option<String>,
    snap_retain_count: Option<String>,
    purge_interval: Option<String>,
    standalone_enabled: Option<String>,
    reconfig_enabled: Option<String>,
    quorum_listen_on_all_ips: Option<String>,
    metrics_provider: Option<String>,
    metrics_host: Option<String>,
    metrics_port: Option<String>,
}

impl RawKeys {
    /// Stores `value` if `key` is one of zoo.cfg's own keys.
    fn take(&mut self, key: &str, value: &str) -> bool {
        let slot = match key {
            "dataDir" => &mut self.data_dir,
            "dataLogDir" => &mut self.data_log_dir,
            "clientPort" => &mut self.client_port,
            "clientPortAddress" => &mut self.client_port_address,
            "secureClientPort" => &mut self.secure_client_port,
            "secureClientPortAddress" => &mut self.secure_client_port_address,
            "sslQuorum" => &mut self.ssl_quorum,
            "clientPortListenBacklog" => &mut self.client_port_listen_backlog,
            "tickTime" => &mut self.tick_time,
            "maxClientCnxns" => &mut self.max_client_cnxns,
            "minSessionTimeout" => &mut self.min_session_timeout,
            "maxSessionTimeout" => &mut self.max_session_timeout,
            "initLimit" => &mut self.init_limit,
            "syncLimit" => &mut self.sync_limit,
            "dynamicConfigFile" => &mut self.dynamic_config_file,
            "autopurge.snapRetainCount" => &mut self.snap_retain_count,
            "autopurge.purgeInterval" => &mut self.purge_interval,
            "standaloneEnabled" => &mut self.standalone_enabled,
            "reconfigEnabled" => &mut self.reconfig_enabled,
            "quorumListenOnAllIPs" => &mut self.quorum_listen_on_all_ips,
            "metricsProvider.className" => &mut self.metrics_provider,
            "metricsProvider.httpHost" => &mut self.metrics_host,
            "metricsProvider.httpPort" => &mut self.metrics_port,
            _ => return false,
        };
        *slot = Some(value.to_string());
        true
    }
}

fn build(
    path: &Path,
    raw: RawKeys,
    mut membership: Membership,
    props: BTreeMap<String, String>,
) -> Result<ServerConfig, ConfigError> {
    let metrics = metrics_endpoint(&raw)?;
    let data_dir = PathBuf::from(
        raw.data_dir
            .ok_or_else(|| ConfigError::Invalid("dataDir is not set".into()))?,
    );
    let data_log_dir = raw
        .data_log_dir
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.clone());
    let tick_time_ms =
        number::<u32>("tickTime", raw.tick_time.as_deref())?.unwrap_or(DEFAULT_TICK_TIME_MS);
    if tick_time_ms == 0 {
        return Err(ConfigError::Invalid("tickTime is not set".into()));
    }
    let min_session_timeout_ms =
        session_timeout("minSessionTimeout", raw.min_session_timeout.as_deref())?
            .unwrap_or(tick_time_ms.saturating_mul(2));
    let max_session_timeout_ms =
        session_timeout("maxSessionTimeout", raw.max_session_timeout.as_deref())?
            .unwrap_or(tick_time_ms.saturating_mul(20));
    if min_session_timeout_ms > max_session_timeout_ms {
        return Err(ConfigError::Invalid(
            "minSessionTimeout must not be larger than maxSessionTimeout".into(),
        ));
    }
    let standalone_enabled =
        boolean("standaloneEnabled", raw.standalone_enabled.as_deref())?.unwrap_or(true);
    let reconfig_enabled =
        boolean("reconfigEnabled", raw.reconfig_enabled.as_deref())?.unwrap_or(false);
    let snap_retain_count = match number::<u32>(
        "autopurge.snapRetainCount",
        raw.snap_retain_count.as_deref(),
    )? {
        Some(n) if n < MIN_SNAP_RETAIN_COUNT => {
            warn!(
                value = n,
                "invalid autopurge.snapRetainCount; defaulting to {MIN_SNAP_RETAIN_COUNT}"
            );
            MIN_SNAP_RETAIN_COUNT
        }
        Some(n) => n,
        None => MIN_SNAP_RETAIN_COUNT,
    };
    let my_id = read_my_id(&data_dir)?;
    check_membership(&membership, standalone_enabled)?;
    if let Some(file) = &raw.dynamic_config_file
        && let Some(version) = super::dynamic_file::version_from_file_name(Path::new(file))
    {
        membership.version = version;
    }
    let client_address = client_address(
        raw.client_port.as_deref(),
        raw.client_port_address.as_deref(),
        my_id
            .and_then(|id| membership.servers.get(&id))
            .and_then(|s| s.client.clone()),
    )?;
    let secure_client_address =
        number::<u16>("secureClientPort", raw.secure_client_port.as_deref())?
            .filter(|port| *port != 0)
            .map(|port| HostPort {
                host: raw
                    .secure_client_port_address
                    .clone()
                    .unwrap_or_else(|| "0.0.0.0".to_string()),
                port,
            });
    if client_address.is_none() && secure_client_address.is_none() {
        return Err(ConfigError::Invalid("clientPort is not set".into()));
    }
    let prop = |name: &str| props.get(name).map(String::as_str);
    let read_only_mode_enabled = boolean(
        "readonlymode.enabled",
        prop("readonlymode.enabled").or(prop("zookeeper.readonlymode.enabled")),
    )?
    .unwrap_or(false);
    let config = ServerConfig {
        config_path: path.to_path_buf(),
        tick_time_ms,
        init_limit: number("initLimit", raw.init_limit.as_deref())?.unwrap_or(0),
        sync_limit: number("syncLimit", raw.sync_limit.as_deref())?.unwrap_or(0),
        data_dir,
        data_log_dir,
        client_address,
        secure_client_address,
        client_port_unification: boolean(
            "client.portUnification",
            prop("zookeeper.client.portUnification"),
        )?
        .unwrap_or(false),
        quorum_tls: QuorumTlsSwitches {
            ssl_quorum: boolean(
                "sslQuorum",
                raw.ssl_quorum.as_deref().or(prop("zookeeper.sslQuorum")),
            )?
            .unwrap_or(false),
            port_unification: boolean("portUnification", prop("zookeeper.portUnification"))?
                .unwrap_or(false),
            reload_cert_files: boolean(
                "sslQuorumReloadCertFiles",
                prop("zookeeper.sslQuorumReloadCertFiles"),
            )?
            .unwrap_or(false),
        },
        max_client_cnxns: number("maxClientCnxns", raw.max_client_cnxns.as_deref())?
            .unwrap_or(DEFAULT_MAX_CLIENT_CNXNS),
        min_session_timeout_ms,
        max_session_timeout_ms,
        client_port_listen_backlog: number(
            "clientPortListenBacklog",
            raw.client_port_listen_backlog.as_deref(),
        )?
        .unwrap_or(-1),
        standalone_enabled,
        reconfig_enabled,
        quorum_listen_on_all_ips: boolean(
            "quorumListenOnAllIPs",
            raw.quorum_listen_on_all_ips.as_deref(),
        )?
        .unwrap_or(false),
        skip_acl: yes_no("skipACL", prop("zookeeper.skipACL"))?.unwrap_or(false),
        super_digest: prop("zookeeper.DigestAuthenticationProvider.superDigest")
            .map(str::to_string),
        four_letter_whitelist: FourLetterWhitelist::new(
            prop("zookeeper.4lw.commands.whitelist"),
            read_only_mode_enabled,
        ),
        admin: AdminConfig {
            enabled: boolean("admin.enableServer", prop("zookeeper.admin.enableServer"))?
                .unwrap_or(true),
            address: prop("zookeeper.admin.serverAddress")
                .unwrap_or("0.0.0.0")
                .to_string(),
            port: number("admin.serverPort", prop("zookeeper.admin.serverPort"))?
                .unwrap_or(DEFAULT_ADMIN_PORT),
            command_url: prop("zookeeper.admin.commandURL")
                .unwrap_or("/commands")
                .to_string(),
            snapshot_enabled: boolean(
                "admin.snapshot.enabled",
                prop("zookeeper.admin.snapshot.enabled"),
            )?
            .unwrap_or(true),
            rate_limiter_interval: number(
                "admin.rateLimiterIntervalInMS",
                prop("zookeeper.admin.rateLimiterIntervalInMS"),
            )?
            .unwrap_or(DEFAULT_ADMIN_RATE_LIMITER_INTERVAL),
        },
        metrics,
        dynamic_config_file: raw.dynamic_config_file.map(PathBuf::from),
        membership,
        my_id,
        snap_retain_count,
        purge_interval_hours: number("autopurge.purgeInterval", raw.purge_interval.as_deref())?
            .unwrap_or(0),
        snap_count: number("snapCount", prop("zookeeper.snapCount"))?.unwrap_or(DEFAULT_SNAP_COUNT),
        force_sync: yes_no("forceSync", prop("zookeeper.forceSync"))?.unwrap_or(true),
        extended_types_enabled: boolean(
            "extendedTypesEnabled",
            prop("zookeeper.extendedTypesEnabled"),
        )?
        .unwrap_or(false),
        jute_max_buffer: number(
            "jute.maxbuffer",
            prop("zookeeper.jute.maxbuffer").or(prop("jute.maxbuffer")),
        )?
        .unwrap_or(DEFAULT_JUTE_MAX_BUFFER),
        read_only_mode_enabled,
        sasl: crate::sasl::SaslConfig::from_properties(&props)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?,
        system_properties: props.into_iter().collect(),
    };
    check_quorum_settings(&config)?;
    Ok(config)
}

/// Apache's checks on the number of participants and observers.
fn check_membership(membership: &Membership, standalone_enabled: bool) -> Result<(), ConfigError> {
    let voters = membership.voters().count();
    let observers = membership
        .servers
        .values()
        .filter(|s| s.role == LearnerType::Observer)
        .count();
    if voters == 0 {
        if !standalone_enabled {
            return Err(ConfigError::Invalid(
                "standaloneEnabled = false then number of participants should be >0".into(),
            ));
        }
        if observers > 0 {
            return Err(ConfigError::Invalid(
                "Observers w/o participants is an invalid configuration".into(),
            ));
        }
    } else if voters == 1 && standalone_enabled {
        if observers > 0 {
            return Err(ConfigError::Invalid(
                "Observers w/o quorum is an invalid configuration".into(),
            ));
        }
        warn!("Invalid configuration, only one server specified (ignoring)");
    } else if voters <= 2 {
        warn!("No server failure will be tolerated. You need at least 3 servers.");
    } else if voters.is_multiple_of(2) {
        warn!("Non-optimal configuration, consider an odd number of servers.");
    }
    Ok(())
}

/// Apache's `checkValidity` for a quorum peer, plus this member's presence in its own membership.
fn check_quorum_settings(config: &ServerConfig) -> Result<(), ConfigError> {
    if !config.is_distributed() {
        return Ok(());
    }
    if config.init_limit == 0 {
        return Err(ConfigError::Invalid("initLimit is not set".into()));
    }
    if config.sync_limit == 0 {
        return Err(ConfigError::Invalid("syncLimit is not set".into()));
    }
    let Some(id) = config.my_id else {
        return Err(ConfigError::Invalid("myid file is missing".into()));
    };
    if !config.membership.servers.contains_key(&id) {
        return Err(ConfigError::Invalid(format!(
            "My id {id} not in the peer list"
        )));
    }
    Ok(())
}

/// The plain listening address: the member's own client address wins; a static `clientPortAddress`/`clientPort`
/// that contradicts it is refused, as Apache does. None when neither is given.
fn client_address(
    port: Option<&str>,
    address: Option<&str>,
    from_server_line: Option<HostPort>,
) -> Result<Option<HostPort>, ConfigError> {
    let port = number::<u16>("clientPort", port)?.filter(|p| *p != 0);
    if port.is_none() && address.is_some() && from_server_line.is_none() {
        return Err(ConfigError::Invalid(
            "clientPortAddress is set but clientPort is not set".into(),
        ));
    }
    let static_address = port.map(|port| HostPort {
        host: address.unwrap_or("0.0.0.0").to_string(),
        port,
    });
    match (static_address, from_server_line) {
        (Some(stat), Some(dynamic)) => {
            let any = stat.host == "0.0.0.0" || stat.host == "::";
            if (any && stat.port != dynamic.port) || (!any && stat != dynamic) {
                return Err(ConfigError::Invalid(format!(
                    "client address for this server in static config file is {stat} is different from client \
                     address found in dynamic file: {dynamic}"
                )));
            }
            Ok(Some(dynamic))
        }
        (None, dynamic) => Ok(dynamic),
        (stat, None) => Ok(stat),
    }
}

/// Reads `dataDir/myid` (its first line), if the file exists.
fn read_my_id(data_dir: &Path) -> Result<Option<u64>, ConfigError> {
    let path = data_dir.join("myid");
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
        path: path.clone(),
        source,
    })?;
    let first = text.lines().next().unwrap_or("").trim();
    first
        .parse::<u64>()
        .map(Some)
        .map_err(|_| ConfigError::InvalidValue {
            key: path.display().to_string(),
            value: first.to_string(),
            reason: format!("serverid {first} is not a number"),
        })
}

fn number<T: std::str::FromStr>(key: &str, value: Option<&str>) -> Result<Option<T>, ConfigError> {
    value
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| ConfigError::InvalidValue {
                    key: key.to_string(),
                    value: v.to_string(),
                    reason: "expected a non-negative number in range".into(),
                })
        })
        .transpose()
}

/// A session timeout; -1 means "the default", as in Apache.
fn session_timeout(key: &str, value: Option<&str>) -> Result<Option<u32>, ConfigError> {
    match value.map(str::trim) {
        Some("-1") | None => Ok(None),
        other => number(key, other),
    }
}

/// Apache's `parseBoolean`: `true` or `false`, any case.
fn boolean(key: &str, value: Option<&str>) -> Result<Option<bool>, ConfigError> {
    switch(key, value, ["true", "false"])
}

/// `skipACL`-style switches: `yes` or `no`.
fn yes_no(key: &str, value: Option<&str>) -> Result<Option<bool>, ConfigError> {
    switch(key, value, ["yes", "no"])
}

/// A two-word switch, any case: `words[0]` is on, `words[1]` off.
fn switch(key: &str, value: Option<&str>, words: [&str; 2]) -> Result<Option<bool>, ConfigError> {
    value
        .map(|v| {
            let v_lower = v.trim().to_ascii_lowercase();
            if v_lower == words[0] {
                Ok(true)
            } else if v_lower == words[1] {
                Ok(false)
            } else {
                Err(ConfigError::InvalidValue {
                    key: key.to_string(),
                    value: v.to_string(),
                    reason: format!("Choose '{}' or '{}'", words[0], words[1]),
                })
            }
        })
        .transpose()
}

#[cfg(test)]
mod tests;
