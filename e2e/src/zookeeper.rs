//! Talking to an ensemble as a client: connect through an address, read the committed dynamic
//! configuration (`/zookeeper/config`) and a znode's data.

use std::time::Duration;

use zookeeper_client::Client;

use crate::{Error, Result};

/// Session timeout of test clients: long enough to ride out a member leaving the ensemble.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects to `address` (`host:port`).
pub async fn connect(address: &str) -> Result<Client> {
    Client::connector()
        .with_session_timeout(SESSION_TIMEOUT)
        .with_connection_timeout(Duration::from_secs(5))
        .connect(address)
        .await
        .map_err(|source| Error::ZooKeeper {
            address: address.to_string(),
            source,
        })
}

/// The committed dynamic configuration as `/zookeeper/config` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicConfig {
    /// Server ids of the voting members (`participant`), ascending.
    pub voters: Vec<u32>,
    /// Server ids of observers, ascending.
    pub observers: Vec<u32>,
    /// The `version=` line, hexadecimal.
    pub version: String,
}

impl DynamicConfig {
    /// Parses the text of `/zookeeper/config`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut config = Self {
            voters: Vec::new(),
            observers: Vec::new(),
            version: String::new(),
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| Error::Unexpected(format!("config line without '=': {line}")))?;
            if key == "version" {
                config.version = value.to_string();
                continue;
            }
            let id: u32 = key
                .strip_prefix("server.")
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| Error::Unexpected(format!("unexpected config line: {line}")))?;
            let role = value
                .split(';')
                .next()
                .unwrap_or_default()
                .rsplit(':')
                .next()
                .unwrap_or_default();
            if role == "observer" {
                config.observers.push(id);
            } else {
                config.voters.push(id);
            }
        }
        config.voters.sort_unstable();
        config.observers.sort_unstable();
        if config.version.is_empty() {
            return Err(Error::Unexpected(format!(
                "no version line in the config:\n{text}"
            )));
        }
        Ok(config)
    }
}

/// Creates the persistent znode `path` with `data`, open to anyone, through `client` connected to `address`.
pub async fn create_open(client: &Client, address: &str, path: &str, data: &[u8]) -> Result<()> {
    client
        .create(
            path,
            data,
            &zookeeper_client::CreateMode::Persistent
                .with_acls(zookeeper_client::Acls::anyone_all()),
        )
        .await
        .map_err(|source| Error::ZooKeeper {
            address: address.to_string(),
            source,
        })?;
    Ok(())
}

/// Syncs and reads `/zookeeper/config` through `address`.
pub async fn read_config(address: &str) -> Result<DynamicConfig> {
    let client = connect(address).await?;
    let zk_err = |source| Error::ZooKeeper {
        address: address.to_string(),
        source,
    };
    client.sync("/").await.map_err(zk_err)?;
    let (data, _) = client.get_config().await.map_err(zk_err)?;
    DynamicConfig::parse(&String::from_utf8_lossy(&data))
}

/// Syncs and reads the data of `path` through `address` (one member, when it is a pod's address).
pub async fn read_data(address: &str, path: &str) -> Result<Vec<u8>> {
    let client = connect(address).await?;
    let zk_err = |source| Error::ZooKeeper {
        address: address.to_string(),
        source,
    };
    client.sync(path).await.map_err(zk_err)?;
    let (data, _) = client.get_data(path).await.map_err(zk_err)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_participants_observers_and_version() {
        let text = "server.1=a:2888:3888:participant;0.0.0.0:2181\n\
                    server.2=b:2888:3888:observer;0.0.0.0:2181\n\
                    server.3=c:2888:3888;0.0.0.0:2181\n\
                    version=100000004\n";
        let config = DynamicConfig::parse(text).unwrap();
        assert_eq!(config.voters, [1, 3]);
        assert_eq!(config.observers, [2]);
        assert_eq!(config.version, "100000004");
    }

    #[test]
    fn a_config_without_version_is_an_error() {
        assert!(DynamicConfig::parse("server.1=a:2888:3888:participant;2181\n").is_err());
    }
}
