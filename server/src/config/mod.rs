//! Server configuration: Apache ZooKeeper's `zoo.cfg`, its dynamic file, `myid`, and the `-Dzookeeper.*`
//! system properties of `SERVER_JVMFLAGS` / `JVMFLAGS`.
//!
//! Layout:
//! - `properties` — the Java `.properties` text format.
//! - `jvm_flags` — `-Dname=value` flags from the environment.
//! - `server_spec` — one `server.N=` line, parsed and rendered as Apache does.
//! - `membership` — the set of server lines with its version, as `/zookeeper/config` shows it.
//! - `apache_order` — the order Apache lists server lines in (its Java `HashMap`'s).
//! - `whitelist` — the four-letter-word whitelist.
//! - `load` — from files and properties to a validated [`ServerConfig`].
//! - `dynamic_file` — reading and writing `<cfg>.dynamic.<hex>` and rewriting the static file.
//! - `membership_files` — writing those files for each committed version, before it is served.

pub mod apache_order;
mod dynamic_file;
mod error;
pub mod jvm_flags;
mod load;
mod membership;
mod membership_files;
pub mod properties;
mod server_spec;
mod whitelist;

use std::path::PathBuf;

pub use dynamic_file::{backup_static_config, dynamic_file_path, write_dynamic_config};
pub use error::ConfigError;
pub use load::{load, load_with_properties};
pub use membership::{Membership, parse_hex_version};
pub use membership_files::MembershipFiles;
pub use server_spec::{HostPort, LearnerType, ServerSpec, ServerSpecError};
pub use whitelist::{ALL_COMMANDS, FourLetterWhitelist};

/// Apache's default `tickTime` in milliseconds.
pub const DEFAULT_TICK_TIME_MS: u32 = 3000;
/// Apache's default `maxClientCnxns` (per client IP).
pub const DEFAULT_MAX_CLIENT_CNXNS: u32 = 60;
/// Apache's default `jute.maxbuffer`.
pub const DEFAULT_JUTE_MAX_BUFFER: usize = 0xfffff;
/// Apache's default `zookeeper.admin.rateLimiterIntervalInMS`.
pub const DEFAULT_ADMIN_RATE_LIMITER_INTERVAL: u64 = 300_000;
/// Apache's default `admin.serverPort`.
pub const DEFAULT_ADMIN_PORT: u16 = 8080;
/// `metricsProvider.httpPort` when not set.
pub const DEFAULT_METRICS_PORT: u16 = 7000;
/// `metricsProvider.className` of Apache's Prometheus provider: turns `/metrics` on.
pub const PROMETHEUS_METRICS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";
/// `metricsProvider.className` of Apache's default provider, which exports nothing.
pub const NULL_METRICS_PROVIDER: &str = "org.apache.zookeeper.metrics.impl.NullMetricsProvider";
/// Apache's default `snapCount`.
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;
/// Apache's minimum (and default) `autopurge.snapRetainCount`.
pub const MIN_SNAP_RETAIN_COUNT: u32 = 3;

/// The AdminServer (HTTP) settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// `admin.enableServer` (default true).
    pub enabled: bool,
    /// `admin.serverAddress` (default `0.0.0.0`).
    pub address: String,
    /// `admin.serverPort` (default 8080).
    pub port: u16,
    /// `admin.commandURL` (default `/commands`).
    pub command_url: String,
    /// `zookeeper.admin.snapshot.enabled` (default true): the `snapshot` command answers.
    pub snapshot_enabled: bool,
    /// `zookeeper.admin.rateLimiterIntervalInMS` (default 300000), as Apache 3.9 sets it.
    pub rate_limiter_interval: u64,
}

/// A validated server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The static configuration file, as given on the command line.
    pub config_path: PathBuf,
    /// `tickTime` in milliseconds.
    pub tick_time_ms: u32,
    /// `initLimit` in ticks.
    pub init_limit: u32,
    /// `syncLimit` in ticks.
    pub sync_limit: u32,
    /// `dataDir`: snapshots and `myid`.
    pub data_dir: PathBuf,
    /// `dataLogDir` (defaults to `dataDir`): the log.
    pub data_log_dir: PathBuf,
    /// Where clients connect in plain text: this member's client address from its server line, else
    /// `clientPortAddress:clientPort` (`0.0.0.0` when no address is given); none when clients have the
    /// TLS port only (no `clientPort` and no client address in the server line, as Apache allows).
    pub client_address: Option<HostPort>,
    /// `secureClientPortAddress:secureClientPort`: where clients connect over TLS (the `ssl.*`
    /// properties configure it).
    pub secure_client_address: Option<HostPort>,
    /// `client.portUnification`: `clientPort` accepts TLS clients too.
    pub client_port_unification: bool,
    /// TLS between members (`sslQuorum`, `portUnification`, `sslQuorumReloadCertFiles`; the
    /// `ssl.quorum.*` properties configure it).
    pub quorum_tls: QuorumTlsSwitches,
    /// `maxClientCnxns`: concurrent connections per client IP (0 = unlimited).
    pub max_client_cnxns: u32,
    /// `minSessionTimeout` in milliseconds (default 2 ticks).
    pub min_session_timeout_ms: u32,
    /// `maxSessionTimeout` in milliseconds (default 20 ticks).
    pub max_session_timeout_ms: u32,
    /// `clientPortListenBacklog` (-1 = system default).
    pub client_port_listen_backlog: i32,
    /// `standaloneEnabled` (default true).
    pub standalone_enabled: bool,
    /// `reconfigEnabled` (default false).
    pub reconfig_enabled: bool,
    /// `quorumListenOnAllIPs` (default false): the quorum port listens on every address of the
    /// host rather than on the one its own `server.N` host resolves to.
    pub quorum_listen_on_all_ips: bool,
    /// `skipACL=yes` / `zookeeper.skipACL=yes`.
    pub skip_acl: bool,
    /// `zookeeper.DigestAuthenticationProvider.superDigest` (`super:<base64 sha1>`).
    pub super_digest: Option<String>,
    /// `4lw.commands.whitelist`.
    pub four_letter_whitelist: FourLetterWhitelist,
    /// AdminServer settings.
    pub admin: AdminConfig,
    /// Where to serve Prometheus metrics (`metricsProvider.*`), if anywhere.
    pub metrics: Option<HostPort>,
    /// `dynamicConfigFile`, when the membership lives in a separate file.
    pub dynamic_config_file: Option<PathBuf>,
    /// The `server.N` lines and their version.
    pub membership: Membership,
    /// This member's id from `dataDir/myid` (absent for a standalone server without one).
    pub my_id: Option<u64>,
    /// `autopurge.snapRetainCount` (at least 3).
    pub snap_retain_count: u32,
    /// `autopurge.purgeInterval` in hours (0 = never).
    pub purge_interval_hours: u32,
    /// `snapCount`: log entries between snapshots.
    pub snap_count: u64,
    /// `forceSync` (default yes): every batch of log writes is fsynced before it counts as
    /// written; `no` leaves it to the operating system, as Apache's does.
    pub force_sync: bool,
    /// `extendedTypesEnabled` (TTL nodes).
    pub extended_types_enabled: bool,
    /// `jute.maxbuffer`: the largest accepted frame.
    pub jute_max_buffer: usize,
    /// `readonlymode.enabled`.
    pub read_only_mode_enabled: bool,
    /// SASL authentication (JAAS users, the `sasl` scheme, enforcement); see `crate::sasl`.
    pub sasl: crate::sasl::SaslConfig,
    /// Every system property in force (from the flags and zoo.cfg's `zookeeper.*` fallbacks), for `envi`.
    pub system_properties: Vec<(String, String)>,
}

impl ServerConfig {
    /// Apache's `isDistributed`: a quorum peer rather than a standalone server.
    pub fn is_distributed(&self) -> bool {
        !self.standalone_enabled || self.membership.voters().count() > 1
    }

    /// This member's server line, when it has one.
    pub fn my_spec(&self) -> Option<&ServerSpec> {
        self.my_id.and_then(|id| self.membership.servers.get(&id))
    }

    /// The id reported by `conf` (`serverId`): `myid`, or 0 without one.
    pub fn server_id(&self) -> u64 {
        self.my_id.unwrap_or(0)
    }

    /// Clamps a client's requested session timeout to `[minSessionTimeout, maxSessionTimeout]`.
    pub fn clamp_session_timeout(&self, requested_ms: i32) -> i32 {
        let min = self.min_session_timeout_ms as i64;
        let max = self.max_session_timeout_ms as i64;
        (requested_ms as i64).clamp(min, max) as i32
    }
}

/// Apache's switches for TLS between members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuorumTlsSwitches {
    /// `sslQuorum`: this member connects to the others over mutual TLS.
    pub ssl_quorum: bool,
    /// `portUnification`: the quorum port accepts plain-text members too (for a rolling switch to or
    /// from TLS).
    pub port_unification: bool,
    /// `sslQuorumReloadCertFiles`: new connections use the quorum key and trust stores as they are
    /// on disk now.
    pub reload_cert_files: bool,
}

impl QuorumTlsSwitches {
    /// Whether the quorum port speaks TLS at all (to connect or to accept).
    pub fn enabled(&self) -> bool {
        self.ssl_quorum || self.port_unification
    }
}
