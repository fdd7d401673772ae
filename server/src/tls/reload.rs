//! The server configuration in force, rebuilt when a key or trust store file changes (Apache watches
//! the stores' directories and resets its SSL context): new connections get the new certificate, open
//! ones keep theirs. A store that no longer loads keeps the previous configuration, with a warning.

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

struct Current {
    config: Arc<ServerConfig>,
    stamp: Stamp,
    checked: Instant,
}

/// A server configuration that follows its store files.
pub struct ReloadingServerConfig {
    settings: TlsSettings,
    current: Mutex<Current>,
}

impl ReloadingServerConfig {
    /// Loads the stores of `settings`; an error if they do not make a configuration.
    pub fn new(settings: TlsSettings) -> Result<ReloadingServerConfig, TlsError> {
        let stamp = stamp(&settings);
        let config = Arc::new(server_config(&settings)?);
        Ok(ReloadingServerConfig {
            settings,
            current: Mutex::new(Current {
                config,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    /// The configuration for a new connection, reloaded first if a store file changed.
    pub fn get(&self) -> Arc<ServerConfig> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.checked.elapsed() >= CHECK_EVERY {
            current.checked = Instant::now();
            let now = stamp(&self.settings);
            if now != current.stamp {
                current.stamp = now;
                match server_config(&self.settings) {
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
