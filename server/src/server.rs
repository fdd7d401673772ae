//! Wiring: configuration → replicated state → consensus → client listener, session expiry, container and
//! TTL clean-up, and the AdminServer; and their orderly shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::acl::AclPolicy;
use crate::config::{HostPort, LearnerType, MembershipFiles, ServerConfig, backup_static_config};
use crate::consensus::{Consensus, ConsensusError, ConsensusOptions, Member, Role};
use crate::net::{Context, ListenerMode, SecureSide, run_listener};
use crate::session::{ExpiryHost, now_ms, run_expiry};
use crate::shutdown::{Shutdown, ShutdownSignal};
use crate::state::{Command, Settings, ZkState};

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The consensus layer did not start (storage, quorum port).
    #[error("consensus: {0}")]
    Consensus(#[from] ConsensusError),
    /// A listening socket could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration files could not be updated.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// TLS is asked for (`secureClientPort`) but its settings or stores do not make a configuration.
    #[error("client TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// TLS between members is asked for (`sslQuorum`, `portUnification`) but the `ssl.quorum.*`
    /// settings or stores do not make a configuration.
    #[error("quorum TLS (sslQuorum, ssl.quorum.*): {0}")]
    QuorumTls(#[source] crate::tls::TlsError),
}

/// A running server.
pub struct Server {
    ctx: Arc<Context>,
    signal: ShutdownSignal,
    tasks: Vec<JoinHandle<()>>,
    client_address: SocketAddr,
    admin_address: Option<SocketAddr>,
}

impl Server {
    /// Starts every part of the server for `config`.
    pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
        if config.is_distributed()
            && config.reconfig_enabled
            && config.dynamic_config_file.is_none()
        {
            backup_static_config(&config.config_path)?;
        }
        let state = Arc::new(ZkState::new(state_settings(&config)));
        let options = ConsensusOptions {
            my_id: config.server_id(),
            data_dir: config.data_dir.clone(),
            data_log_dir: config.data_log_dir.clone(),
            members: initial_members(&config),
            listen_on_all_ips: config.quorum_listen_on_all_ips,
            tick_time: Duration::from_millis(u64::from(config.tick_time_ms)),
            init_limit: config.init_limit,
            sync_limit: config.sync_limit,
            snap_count: config.snap_count,
            snap_retain_count: config.snap_retain_count,
            force_sync: config.force_sync,
            quorum_tls: crate::tls::QuorumTls::new(&config.system_properties, config.quorum_tls)
                .map_err(ServerError::QuorumTls)?
                .map(Arc::new),
            quorum_sasl: config.sasl.quorum.clone().map(|sasl| {
                let hosts = config.membership.servers.values();
                Arc::new(sasl.with_authorized_hosts(hosts.map(|s| s.quorum_address().host)))
            }),
        };
        let consensus = Arc::new(Consensus::start(options, state.clone()).await?);
        if config.is_distributed() && config.reconfig_enabled {
            let written = config
                .dynamic_config_file
                .as_ref()
                .map(|_| config.membership.version);
            state.install_config_files(MembershipFiles::new(
                config.config_path.clone(),
                config.server_id(),
                written,
            ));
        }
        let client_listener = match &config.client_address {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        let secure = secure_side(&config)?;
        let secure_listener = match (&config.secure_client_address, &secure) {
            (Some(address), Some(_)) => Some(bind(address).await?),
            _ => None,
        };
        // The configuration has a plain or a TLS client address, and a TLS address comes with its side.
        let client_address = client_listener
            .as_ref()
            .or(secure_listener.as_ref())
            .map(TcpListener::local_addr)
            .unwrap_or_else(|| Err(std::io::ErrorKind::AddrNotAvailable.into()))
            .map_err(|source| ServerError::Bind {
                address: "the client port".to_string(),
                source,
            })?;
        let admin_listener = match config.admin.enabled {
            true => Some(
                bind(&HostPort {
                    host: config.admin.address.clone(),
                    port: config.admin.port,
                })
                .await?,
            ),
            false => None,
        };
        let admin_address = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
        let metrics_listener = match &config.metrics {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        let tick = Duration::from_millis(u64::from(config.tick_time_ms.max(1)));
        let command_url = config.admin.command_url.clone();
        let session_activity = consensus
            .session_activity()
            .expect("a new consensus handle has its session activity");
        let ctx = Arc::new(Context::new(config, state, consensus));
        if client_listener.is_some() {
            ctx.client_port
                .store(client_address.port(), std::sync::atomic::Ordering::Relaxed);
        }

        let signal = ShutdownSignal::new();
        let plain_mode = match (&secure, ctx.config.client_port_unification) {
            (Some(side), true) => ListenerMode::Unified(side.clone()),
            _ => ListenerMode::Plain,
        };
        let mut tasks = vec![
            tokio::spawn(run_expiry(
                ctx.clone(),
                ctx.tracker.clone(),
                tick,
                session_activity,
                signal.subscribe(),
            )),
            tokio::spawn(sweep_expired_nodes(
                ctx.clone(),
                tick * 10,
                signal.subscribe(),
            )),
        ];
        if let Some(listener) = client_listener {
            tasks.push(tokio::spawn(run_listener(
                ctx.clone(),
                listener,
                plain_mode,
                signal.subscribe(),
            )));
        }
        if let (Some(listener), Some(side)) = (secure_listener, secure) {
            tasks.push(tokio::spawn(run_listener(
                ctx.clone(),
                listener,
                ListenerMode::Secure(side),
                signal.subscribe(),
            )));
        }
        if let Some(listener) = admin_listener {
            let targets = crate::admin::AdminTargets {
                info: ctx.clone(),
                control: ctx.clone(),
                snapshots: ctx.clone(),
            };
            let shutdown = signal.subscribe();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = crate::admin::serve(listener, command_url, targets, shutdown).await
                {
                    warn!(error = %e, "AdminServer stopped");
                }
            }));
        }
        if let Some(listener) = metrics_listener {
            let info: Arc<dyn crate::fourlw::ServerInfo> = ctx.clone();
            let shutdown = signal.subscribe();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = crate::metrics::serve(listener, info, shutdown).await {
                    warn!(error = %e, "metrics endpoint stopped");
                }
            }));
        }
        info!(client = %client_address, admin = ?admin_address, "server started");
        Ok(Server {
            ctx,
            signal,
            tasks,
            client_address,
            admin_address,
        })
    }

    /// The address clients connect to (with the port actually bound): the plain client port's, or the TLS
    /// port's when there is no plain one.
    pub fn client_address(&self) -> SocketAddr {
        self.client_address
    }

    /// The AdminServer's address, when it runs.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin_address
    }

    /// The shared context (for reports and tests).
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Stops accepting, closes connections, stops the tasks and the consensus layer.
    pub async fn shutdown(self) {
        info!("shutting down");
        self.signal.trigger();
        self.ctx.registry.close_all();
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.ctx.consensus.shutdown().await;
    }
}

/// The settings of the replicated state for `config`.
pub fn state_settings(config: &ServerConfig) -> Settings {
    Settings {
        acl: AclPolicy::from_config(config),
        extended_types: config.extended_types_enabled,
        reconfig_enabled: config.reconfig_enabled,
        distributed: config.is_distributed(),
    }
}

/// The consensus layer's initial membership: the configured servers, or this server alone when it runs
/// standalone (no `server.N` lines).
pub fn initial_members(config: &ServerConfig) -> Vec<Member> {
    if config.membership.servers.is_empty() {
        return vec![standalone_member(config.server_id())];
    }
    config
        .membership
        .servers
        .values()
        .map(|spec| Member {
            id: spec.id,
            spec: spec.render(),
            voter: spec.role == LearnerType::Participant,
        })
        .collect()
}

/// A standalone server `id` as the consensus layer's only member.
pub fn standalone_member(id: u64) -> Member {
    Member {
        id,
        spec: "127.0.0.1:2888:3888:participant".to_string(),
        voter: true,
    }
}

/// The TLS side of the client listeners, when `secureClientPort` or `client.portUnification` asks for
/// it: the `zookeeper.ssl.*` settings and their stores, which must load. Port unification without
/// usable settings is turned off with a warning, as Apache does.
fn secure_side(config: &ServerConfig) -> Result<Option<Arc<SecureSide>>, ServerError> {
    if config.secure_client_address.is_none() && !config.client_port_unification {
        return Ok(None);
    }
    let property = |name: &str| {
        config
            .system_properties
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let side = crate::tls::TlsSettings::from_properties(
        &config.system_properties,
        crate::tls::CLIENT_PREFIX,
    )
    .and_then(crate::tls::ReloadingServerConfig::new)
    .map(|tls| {
        Arc::new(SecureSide {
            config: tls,
            super_user: property("zookeeper.X509AuthenticationProvider.superUser"),
            handshake_timeout: Duration::from_millis(
                property("zookeeper.ssl.handshakeDetectionTimeoutMillis")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(5000),
            ),
        })
    });
    match side {
        Ok(side) => Ok(Some(side)),
        Err(e) if config.secure_client_address.is_none() => {
            warn!(error = %e, "unable to set up TLS, turning off client port unification");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Binds a listening socket on `host:port` (the first address the host resolves to).
async fn bind(address: &HostPort) -> Result<TcpListener, ServerError> {
    let text = format!("{}:{}", address.host, address.port);
    TcpListener::bind((address.host.as_str(), address.port))
        .await
        .map_err(|source| ServerError::Bind {
            address: text,
            source,
        })
}

impl ExpiryHost for Context {
    fn is_leader(&self) -> bool {
        self.role() == Role::Leader
    }

    fn live_sessions(&self) -> Vec<(i64, i32)> {
        self.state.sessions()
    }

    fn elected(&self) {
        info!("leading: every session restarts its timeout");
        *self.leader_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    async fn close_session(self: Arc<Self>, session_id: i64) {
        if let Err(e) = Context::close_session(&self, session_id).await {
            warn!(session = format_args!("0x{session_id:x}"), error = %e, "closing an expired session failed");
        }
    }

    async fn report_activity(self: Arc<Self>, sessions: Vec<i64>) {
        if let Err(e) = self.consensus.report_session_activity(sessions).await {
            debug!(error = %e, "reporting session activity to the leader failed");
        }
    }
}

/// While leading, periodically deletes empty containers and expired TTL nodes through the log.
async fn sweep_expired_nodes(ctx: Arc<Context>, every: Duration, mut shutdown: Shutdown) {
    let mut interval = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.recv() => return,
        }
        if ctx.role() != Role::Leader {
            continue;
        }
        let time_ms = now_ms();
        let paths = ctx.state.expired_nodes(time_ms);
        if paths.is_empty() {
            continue;
        }
        if let Err(e) = ctx.propose(Command::DeleteExpired { time_ms, paths }).await {
            warn!(error = %e, "deleting expired containers and TTL nodes failed");
        }
    }
}
