//! A TLS configuration in force, rebuilt when a key or trust store file changes (Apache watches
//! the stores' directories and resets its SSL context): new connections get the new certificate, open
//! ones keep theirs. A store that no longer loads keeps the previous configuration, with a warning.
//! Client TLS always follows its files; TLS between members only with `sslQuorumReloadCertFiles`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::ServerConfig;
use tracing::{info, warn};

use super::TlsError;
use super::server_config::server_config;
use super::settings::TlsSettings;

/// How often the store files are looked at, at most.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What identifies a version of the store files: their modification times and sizes.
type Stamp = Vec<Option<(SystemTime, u64)>>;

struct Current<C> {
    config: Arc<C>,
    stamp: Stamp,
    checked: Instant,
}

/// A configuration built from [`TlsSettings`] that follows its store files.
pub struct Reloading<C> {
    settings: TlsSettings,
    build: fn(&TlsSettings) -> Result<C, TlsError>,
    follow_files: bool,
    current: Mutex<Current<C>>,
}

/// The client listeners' server configuration.
pub type ReloadingServerConfig = Reloading<ServerConfig>;

impl ReloadingServerConfig {
    /// Loads the stores of `settings`; an error if they do not make a configuration.
    pub fn new(settings: TlsSettings) -> Result<ReloadingServerConfig, TlsError> {
        Reloading::build(settings, server_config, true)
    }
}

impl<C> Reloading<C> {
    /// Builds the configuration of `settings` with `build`, and again whenever a store file
    /// changes if `follow_files`.
    pub(super) fn build(
        settings: TlsSettings,
        build: fn(&TlsSettings) -> Result<C, TlsError>,
        follow_files: bool,
    ) -> Result<Reloading<C>, TlsError> {
        let stamp = stamp(&settings);
        let config = Arc::new(build(&settings)?);
        Ok(Reloading {
            settings,
            build,
            follow_files,
            current: Mutex::new(Current {
                config,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// The configuration for a new connection, reloaded first if a store file changed.
    pub fn get(&self) -> Arc<C> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if self.follow_files && current.checked.elapsed() >= CHECK_EVERY {
            current.checked = Instant::now();
            let now = stamp(&self.settings);
            if now != current.stamp {
                current.stamp = now;
                match (self.build)(&self.settings) {
                    Ok(config) => {
                        info!(
                            "key or trust store changed; new connections use the reloaded certificates"
                        );
                        current.config = Arc::new(config);
                    }
                    Err(e) => {
                        warn!(error = %e, "key or trust store changed but does not load; keeping the previous one")
                    }
                }
            }
        }
        current.config.clone()
    }
}

fn stamp(settings: &TlsSettings) -> Stamp {
    let files: Vec<&PathBuf> = [&settings.key_store, &settings.trust_store]
        .into_iter()
        .flatten()
        .map(|store| &store.location)
        .collect();
    files
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}
