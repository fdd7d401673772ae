//! One `server.N=` line: `host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]`.
//!
//! Parsed with Apache ZooKeeper's rules (`QuorumPeer.QuorumServer`): the role is optional and
//! case-insensitive, a client part without a host listens on `0.0.0.0`, IPv6 hosts are bracketed,
//! trailing empty parts are dropped as Java's `String.split` drops them. Rendered back exactly as
//! Apache renders it in `/zookeeper/config`: the role is always written, the client address is
//! written as `host:port` when the line carries one.

use std::fmt;

use thiserror::Error;

/// Apache's explanation of the expected form, appended to malformed lines in error messages.
const WRONG_FORMAT: &str = " does not have the form server_config or server_config;client_config where \
server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port \
or host:port";

/// Why a server line was refused; the texts are Apache's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServerSpecError {
    /// The line does not have 3 or 4 server parts and at most a `host:port` client part.
    #[error("{0}{WRONG_FORMAT}")]
    WrongFormat(String),
    /// A port is not a number in 0..=65535.
    #[error("Address unresolved: {0}")]
    BadPort(String),
    /// Quorum and election ports are the same.
    #[error(
        "Client and election port must be different! Please update the configuration file on server.{0}"
    )]
    SamePorts(u64),
    /// The fourth part is neither `participant` nor `observer`.
    #[error("Unrecognised peertype: {0}")]
    UnknownRole(String),
    /// Several `|`-separated addresses (Apache's multiAddress feature, not supported here).
    #[error(
        "Multiple address feature is disabled, but multiple addresses were specified for sid {0}"
    )]
    MultipleAddresses(u64),
    /// An IPv6 literal without its closing bracket or port.
    #[error("{0} starts with '[' but has no matching ']:'")]
    UnclosedBracket(String),
}

/// Whether a member votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnerType {
    /// Votes in elections and counts for quorums.
    Participant,
    /// Follows the leader without voting.
    Observer,
}

impl LearnerType {
    /// The word used in server lines (`participant`, `observer`).
    pub fn as_str(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }
}

/// A host (name or IP literal, without brackets) and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or IP literal as written (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl HostPort {
    /// `host:port`, bracketing IPv6 literals, as Java's `delimitedHostString` does.
    pub fn render(&self) -> String {
        format!("{}:{}", delimited(&self.host), self.port)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// One ensemble member as written in a `server.N=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerSpec {
    /// The `N` of `server.N`.
    pub id: u64,
    /// Host of the quorum and election ports.
    pub host: String,
    /// Port peers use to replicate (Apache's quorum port).
    pub quorum_port: u16,
    /// Port of leader election (Apache's election port).
    pub election_port: u16,
    /// Participant or observer; participant when the line names none.
    pub role: LearnerType,
    /// Client address when the line carries one (after `;`).
    pub client: Option<HostPort>,
}

impl ServerSpec {
    /// Parses the text after `server.<id>=`.
    pub fn parse(id: u64, text: &str) -> Result<ServerSpec, ServerSpecError> {
        let wrong = || ServerSpecError::WrongFormat(text.to_string());
        let server_client = java_split(text, ';');
        if server_client.len() > 2 || server_client.is_empty() {
            return Err(wrong());
        }
        let client = match server_client.get(1) {
            Some(client_text) => {
                let parts = host_and_port(client_text)?;
                if parts.len() > 2 {
                    return Err(wrong());
                }
                let host = if parts.len() == 2 {
                    parts[0].clone()
                } else {
                    "0.0.0.0".to_string()
                };
                let port_text = &parts[parts.len() - 1];
                let port = parse_port(port_text)
                    .ok_or_else(|| ServerSpecError::BadPort(format!("{host}:{port_text}")))?;
                Some(HostPort { host, port })
            }
            None => None,
        };
        if server_client[0].contains('|') {
            return Err(ServerSpecError::MultipleAddresses(id));
        }
        let parts = host_and_port(server_client[0])?;
        if parts.len() < 3 || parts.len() > 4 {
            return Err(wrong());
        }
        let host = parts[0].clone();
        let quorum_port = parse_port(&parts[1])
            .ok_or_else(|| ServerSpecError::BadPort(format!("{host}:{}", parts[1])))?;
        let election_port = parse_port(&parts[2])
            .ok_or_else(|| ServerSpecError::BadPort(format!("{host}:{}", parts[2])))?;
        if quorum_port == election_port {
            return Err(ServerSpecError::SamePorts(id));
        }
        let role = match parts.get(3).map(|r| r.to_lowercase()) {
            None => LearnerType::Participant,
            Some(r) if r == "participant" => LearnerType::Participant,
            Some(r) if r == "observer" => LearnerType::Observer,
            Some(_) => return Err(ServerSpecError::UnknownRole(parts[3].clone())),
        };
        Ok(ServerSpec {
            id,
            host,
            quorum_port,
            election_port,
            role,
            client,
        })
    }

    /// The quorum (replication) address, `host:quorumPort`.
    pub fn quorum_address(&self) -> HostPort {
        HostPort {
            host: self.host.clone(),
            port: self.quorum_port,
        }
    }

    /// The election address, `host:electionPort`.
    pub fn election_address(&self) -> HostPort {
        HostPort {
            host: self.host.clone(),
            port: self.election_port,
        }
    }

    /// The spec as Apache renders it after `server.N=`.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{}:{}:{}:{}",
            delimited(&self.host),
            self.quorum_port,
            self.election_port,
            self.role.as_str()
        );
        if let Some(client) = &self.client {
            out.push(';');
            out.push_str(&client.render());
        }
        out
    }
}

impl fmt::Display for ServerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// Brackets IPv6 literals.
fn delimited(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Java's `String.split(char)`: trailing empty pieces are dropped.
fn java_split(text: &str, sep: char) -> Vec<&str> {
    let mut pieces: Vec<&str> = text.split(sep).collect();
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// Splits `host:port[:...]`, taking a leading `[ipv6]` as the host (Apache's `ConfigUtils.getHostAndPort`).
fn host_and_port(text: &str) -> Result<Vec<String>, ServerSpecError> {
    if let Some(rest) = text.strip_prefix('[') {
        let Some(close) = rest.find("]:") else {
            return Err(ServerSpecError::UnclosedBracket(text.to_string()));
        };
        let mut parts = vec![rest[..close].to_string()];
        parts.extend(
            java_split(&rest[close + 2..], ':')
                .into_iter()
                .map(str::to_string),
        );
        return Ok(parts);
    }
    Ok(java_split(text, ':')
        .into_iter()
        .map(str::to_string)
        .collect())
}

fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_role_always_and_client_when_given() {
        let s = ServerSpec::parse(0, "127.0.0.1:2888:3888").unwrap();
        assert_eq!(s.render(), "127.0.0.1:2888:3888:participant");
        let s = ServerSpec::parse(1, "127.0.0.1:2889:3889:participant;2182").unwrap();
        assert_eq!(s.render(), "127.0.0.1:2889:3889:participant;0.0.0.0:2182");
        let s = ServerSpec::parse(2, "zk-2.zk:2888:3888:OBSERVER;10.0.0.3:2181").unwrap();
        assert_eq!(s.role, LearnerType::Observer);
        assert_eq!(s.render(), "zk-2.zk:2888:3888:observer;10.0.0.3:2181");
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let s = ServerSpec::parse(3, "[::1]:2888:3888;[::1]:2181").unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!(s.render(), "[::1]:2888:3888:participant;[::1]:2181");
    }

    #[test]
    fn trailing_separators_are_ignored_as_java_does() {
        let s = ServerSpec::parse(4, "h:1:2;").unwrap();
        assert_eq!(s.client, None);
        assert_eq!(s.render(), "h:1:2:participant");
    }

    #[test]
    fn malformed_lines_are_refused_with_apache_texts() {
        let e = ServerSpec::parse(5, "127.0.0.1:2888").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("127.0.0.1:2888 does not have the form server_config")
        );
        assert!(matches!(
            ServerSpec::parse(6, "h:1:2:participant:x"),
            Err(ServerSpecError::WrongFormat(_))
        ));
        assert!(matches!(
            ServerSpec::parse(7, "h:1:2;h:3:4"),
            Err(ServerSpecError::WrongFormat(_))
        ));
        assert!(matches!(
            ServerSpec::parse(8, "h:1:2;3;4"),
            Err(ServerSpecError::WrongFormat(_))
        ));
        assert_eq!(
            ServerSpec::parse(9, "h:x:2").unwrap_err().to_string(),
            "Address unresolved: h:x"
        );
        assert_eq!(
            ServerSpec::parse(10, "h:1:1").unwrap_err(),
            ServerSpecError::SamePorts(10)
        );
        assert_eq!(
            ServerSpec::parse(11, "h:1:2:voter").unwrap_err(),
            ServerSpecError::UnknownRole("voter".into())
        );
        assert_eq!(
            ServerSpec::parse(12, "h:1:2|g:1:2").unwrap_err(),
            ServerSpecError::MultipleAddresses(12)
        );
        assert_eq!(
            ServerSpec::parse(13, "h:70000:2").unwrap_err().to_string(),
            "Address unresolved: h:70000"
        );
    }
}
