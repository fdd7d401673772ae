//! The dynamic configuration as `/zookeeper/config` holds it: one `server.N=…` line per member, then
//! `version=<hex>`. Only what the benchmark needs is read: which ids are listed, in which role, and the
//! lines themselves (a joiner starts from them).

/// One `server.N=…` line of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// The member's id (`N`).
    pub id: usize,
    /// Whether it votes (a participant) rather than observes.
    pub participant: bool,
    /// The whole line, as the configuration spelled it.
    pub line: String,
}

/// A configuration read from `/zookeeper/config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicConfig {
    /// The members, in the order listed.
    pub servers: Vec<ServerEntry>,
    /// The `version=` value, as written (hexadecimal).
    pub version: String,
}

impl DynamicConfig {
    /// Parses the text of `/zookeeper/config`; `None` when a `server.` line has no numeric id.
    pub fn parse(text: &str) -> Option<Self> {
        let mut servers = Vec::new();
        let mut version = String::new();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("server.") {
                let (id, spec) = rest.split_once('=')?;
                let addresses = spec.split(';').next().unwrap_or_default();
                servers.push(ServerEntry {
                    id: id.trim().parse().ok()?,
                    participant: addresses.split(':').nth(3) != Some("observer"),
                    line: line.to_owned(),
                });
            } else if let Some(v) = line.strip_prefix("version=") {
                version = v.to_owned();
            }
        }
        Some(DynamicConfig { servers, version })
    }

    /// Whether member `id` is listed as a voter.
    pub fn is_participant(&self, id: usize) -> bool {
        self.servers.iter().any(|s| s.id == id && s.participant)
    }

    /// The ids of the members listed as voters, in the order listed.
    pub fn voters(&self) -> Vec<usize> {
        self.servers
            .iter()
            .filter(|s| s.participant)
            .map(|s| s.id)
            .collect()
    }

    /// Whether member `id` is listed at all.
    pub fn lists(&self, id: usize) -> bool {
        self.servers.iter().any(|s| s.id == id)
    }

    /// The `server.N` lines, one per line, each ending with a newline: the membership a joiner starts from.
    pub fn server_lines(&self) -> String {
        self.servers
            .iter()
            .map(|s| format!("{}\n", s.line))
            .collect()
    }
}

/// The joining spec of a reconfig for a `server.N=host:quorum:election;client` line: the same line with the
/// role `participant` spelled out, as operators write it.
pub fn participant_spec(server_line: &str) -> String {
    match server_line.split_once(';') {
        Some((addresses, client)) => format!("{addresses}:participant;{client}"),
        None => format!("{server_line}:participant"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_roles_and_version() {
        let text = "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
                    server.2=127.0.0.1:2889:3889:observer;127.0.0.1:2182\n\
                    server.3=127.0.0.1:2890:3890;127.0.0.1:2183\nversion=100000002";
        let config = DynamicConfig::parse(text).unwrap();
        assert_eq!(config.version, "100000002");
        assert!(config.is_participant(1));
        assert!(!config.is_participant(2));
        assert!(config.lists(2));
        assert!(config.is_participant(3));
        assert!(!config.lists(4));
        assert_eq!(
            config.server_lines().lines().next(),
            Some("server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181")
        );
        assert_eq!(DynamicConfig::parse("server.x=a:1:2\n"), None);
    }

    #[test]
    fn joining_spec_names_the_role() {
        assert_eq!(
            participant_spec("server.2=127.0.0.1:22282:22382;127.0.0.1:22182"),
            "server.2=127.0.0.1:22282:22382:participant;127.0.0.1:22182"
        );
        assert_eq!(
            participant_spec("server.2=h:1:2"),
            "server.2=h:1:2:participant"
        );
    }
}
