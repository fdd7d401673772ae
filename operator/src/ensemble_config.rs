//! The dynamic ensemble configuration as stored in `/zookeeper/config`: one `server.N=` line per member, then
//! `version=<hex>`.
//!
//! Parsing is lenient about what it does not need (extra whitespace, unknown lines) and strict about what it does
//! (ids, roles, the version), because every scaling decision is derived from it.

use std::collections::BTreeMap;
use std::fmt;

/// Voting role of a server in a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRole {
    /// Votes.
    Participant,
    /// Follows without voting.
    Observer,
}

/// One `server.N=` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLine {
    /// Server id.
    pub id: u32,
    /// Host of the quorum and election ports.
    pub host: String,
    /// Quorum (follower-to-leader) port.
    pub quorum_port: u16,
    /// Leader-election port.
    pub election_port: u16,
    /// Participant or observer.
    pub role: ServerRole,
    /// Client address as written after `;`, if any.
    pub client_address: Option<String>,
}

impl ServerLine {
    /// The value part, `host:quorum:election:role;client`, as reconfig and config files expect it.
    pub fn spec(&self) -> String {
        let role = match self.role {
            ServerRole::Participant => "participant",
            ServerRole::Observer => "observer",
        };
        let mut spec = format!(
            "{}:{}:{}:{role}",
            self.host, self.quorum_port, self.election_port
        );
        if let Some(client) = &self.client_address {
            spec.push(';');
            spec.push_str(client);
        }
        spec
    }

    /// The whole line, `server.N=spec`.
    pub fn line(&self) -> String {
        format!("server.{}={}", self.id, self.spec())
    }
}

/// A committed (or start-up) ensemble configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnsembleConfig {
    /// Config version; the zxid that committed it. Zero for a start-up config that was never committed.
    pub version: i64,
    /// Servers by id.
    pub servers: BTreeMap<u32, ServerLine>,
}

/// Why a configuration text could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigParseError {
    /// A `server.N=` line is malformed.
    #[error("malformed server line {0:?}")]
    BadServerLine(String),
    /// The `version=` line is not hexadecimal.
    #[error("malformed version line {0:?}")]
    BadVersion(String),
}

impl EnsembleConfig {
    /// Parses the text of `/zookeeper/config` or a `zoo.cfg.dynamic.*` file.
    pub fn parse(text: &str) -> Result<Self, ConfigParseError> {
        let mut config = EnsembleConfig::default();
        for raw in text.lines() {
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("server.") {
                let server = parse_server(rest)
                    .ok_or_else(|| ConfigParseError::BadServerLine(line.to_string()))?;
                config.servers.insert(server.id, server);
            } else if let Some(hex) = line.strip_prefix("version=") {
                config.version = i64::from_str_radix(hex.trim(), 16)
                    .map_err(|_| ConfigParseError::BadVersion(line.to_string()))?;
            }
        }
        Ok(config)
    }

    /// Ids of the voting members.
    pub fn participants(&self) -> impl Iterator<Item = u32> + '_ {
        self.servers
            .values()
            .filter(|s| s.role == ServerRole::Participant)
            .map(|s| s.id)
    }

    /// Ids of the observers.
    pub fn observers(&self) -> impl Iterator<Item = u32> + '_ {
        self.servers
            .values()
            .filter(|s| s.role == ServerRole::Observer)
            .map(|s| s.id)
    }

    /// Whether `id` votes in this configuration.
    pub fn is_participant(&self, id: u32) -> bool {
        self.servers
            .get(&id)
            .is_some_and(|s| s.role == ServerRole::Participant)
    }

    /// The version in the hexadecimal form ZooKeeper writes.
    pub fn version_hex(&self) -> String {
        format!("{:x}", self.version)
    }

    /// This configuration with `server` added or replaced.
    pub fn with_server(&self, server: ServerLine) -> Self {
        let mut next = self.clone();
        next.servers.insert(server.id, server);
        next
    }
}

impl fmt::Display for EnsembleConfig {
    /// Server lines then `version=<hex>`, without a trailing newline, as in `/zookeeper/config`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for server in self.servers.values() {
            writeln!(f, "{}", server.line())?;
        }
        write!(f, "version={}", self.version_hex())
    }
}

fn parse_server(rest: &str) -> Option<ServerLine> {
    let (id, spec) = rest.split_once('=')?;
    let id = id.trim().parse().ok()?;
    let (addresses, client) = match spec.split_once(';') {
        Some((addresses, client)) => (addresses, Some(client.trim().to_string())),
        None => (spec, None),
    };
    let mut parts = addresses.trim().split(':');
    let host = parts.next().filter(|h| !h.is_empty())?.to_string();
    let quorum_port = parts.next()?.parse().ok()?;
    let election_port = parts.next()?.parse().ok()?;
    let role = match parts.next() {
        None | Some("participant") => ServerRole::Participant,
        Some("observer") => ServerRole::Observer,
        Some(_) => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(ServerLine {
        id,
        host,
        quorum_port,
        election_port,
        role,
        client_address: client,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = "server.1=zk-1.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181\n\
        server.2=zk-2.zk-headless.ns.svc.cluster.local:2888:3888:participant;0.0.0.0:2181\n\
        server.3=10.0.0.3:2888:3888:observer;0.0.0.0:2181\n\
        version=10000000a";

    #[test]
    fn parses_and_renders_the_committed_text_unchanged() {
        let config = EnsembleConfig::parse(COMMITTED).unwrap();
        assert_eq!(config.version, 0x1_0000_000a);
        assert_eq!(config.participants().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(config.observers().collect::<Vec<_>>(), vec![3]);
        assert!(!config.is_participant(3));
        assert_eq!(config.to_string(), COMMITTED);
    }

    #[test]
    fn a_line_without_role_is_a_participant() {
        let config = EnsembleConfig::parse("server.0=127.0.0.1:2888:3888\nversion=0").unwrap();
        assert!(config.is_participant(0));
        assert_eq!(config.servers[&0].client_address, None);
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(matches!(
            EnsembleConfig::parse("server.x=a:1:2"),
            Err(ConfigParseError::BadServerLine(_))
        ));
        assert!(matches!(
            EnsembleConfig::parse("server.1=a:1"),
            Err(ConfigParseError::BadServerLine(_))
        ));
        assert!(matches!(
            EnsembleConfig::parse("server.1=a:1:2:voter"),
            Err(ConfigParseError::BadServerLine(_))
        ));
        assert!(matches!(
            EnsembleConfig::parse("version=zz"),
            Err(ConfigParseError::BadVersion(_))
        ));
    }
}
