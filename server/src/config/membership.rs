//! The ensemble's membership as configuration files and `/zookeeper/config` show it.

use std::collections::BTreeMap;

use super::error::ConfigError;
use super::server_spec::{LearnerType, ServerSpec};

/// The set of `server.N` lines of one configuration version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// Members by id.
    pub servers: BTreeMap<u64, ServerSpec>,
    /// Configuration version (the zxid that committed it; 0 before the first commit).
    pub version: i64,
    /// The ids in the order the configuration lists them (Apache's order, see
    /// [`super::apache_order`]); id order where it does not name exactly the members.
    pub order: Vec<u64>,
}

impl Membership {
    /// Collects the `server.N` entries of parsed properties; other keys are left to the caller.
    /// A `version` key (hex) sets the version. The members are listed as Apache lists a
    /// configuration it parsed (see [`super::apache_order::parsed`]), whatever the file's order.
    pub fn from_entries(entries: &[(String, String)]) -> Result<Membership, ConfigError> {
        let mut membership = Membership::default();
        for (key, value) in entries {
            if let Some(id_text) = key.strip_prefix("server.") {
                let id = id_text
                    .parse::<u64>()
                    .map_err(|_| ConfigError::InvalidValue {
                        key: key.clone(),
                        value: value.clone(),
                        reason: "the server id after `server.` must be a number".into(),
                    })?;
                let spec =
                    ServerSpec::parse(id, value).map_err(|source| ConfigError::ServerSpec {
                        key: key.clone(),
                        source,
                    })?;
                membership.servers.insert(id, spec);
            } else if key == "version" {
                membership.version =
                    parse_hex_version(value).ok_or_else(|| ConfigError::InvalidValue {
                        key: key.clone(),
                        value: value.clone(),
                        reason: "expected a hexadecimal version".into(),
                    })?;
            }
        }
        membership.order = super::apache_order::parsed(membership.servers.keys().copied());
        Ok(membership)
    }

    /// Parses the text of `/zookeeper/config` (server lines, then `version=<hex>`), keeping the
    /// order of its lines: the order the committing leader gave them.
    pub fn from_config_text(text: &str) -> Result<Membership, ConfigError> {
        let entries = super::properties::parse(text);
        let mut membership = Membership::from_entries(&entries)?;
        let mut order = Vec::new();
        for (key, _) in &entries {
            if let Some(id) = key.strip_prefix("server.").and_then(|id| id.parse().ok())
                && !order.contains(&id)
            {
                order.push(id);
            }
        }
        membership.order = order;
        Ok(membership)
    }

    /// Members that vote.
    pub fn voters(&self) -> impl Iterator<Item = &ServerSpec> {
        self.servers
            .values()
            .filter(|s| s.role == LearnerType::Participant)
    }

    /// The members' ids in the configuration's order ([`Membership::order`]), or in id order where
    /// that does not name exactly the members.
    pub fn listed_ids(&self) -> Vec<u64> {
        let mut order = self.order.clone();
        order.sort_unstable();
        if order.iter().eq(self.servers.keys()) {
            self.order.clone()
        } else {
            self.servers.keys().copied().collect()
        }
    }

    /// The text of `/zookeeper/config` and of `conf`'s membership: one `server.N=spec` line per member in the
    /// configuration's order, then `version=<hex>`, without a trailing newline.
    pub fn config_text(&self) -> String {
        let mut out = String::new();
        for id in self.listed_ids() {
            let spec = &self.servers[&id];
            out.push_str(&format!("server.{}={}\n", spec.id, spec.render()));
        }
        out.push_str(&format!("version={:x}", self.version));
        out
    }

    /// The content of a dynamic configuration file: the server lines sorted as strings (Apache sorts them
    /// so), joined by newlines, without version and without a trailing newline.
    pub fn dynamic_file_text(&self) -> String {
        let mut lines: Vec<String> = self
            .servers
            .values()
            .map(|spec| format!("server.{}={}", spec.id, spec.render()))
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

/// Parses a hexadecimal configuration version (as in `version=100000000` or a dynamic file suffix).
pub fn parse_hex_version(text: &str) -> Option<i64> {
    u64::from_str_radix(text.trim(), 16).ok().map(|v| v as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn membership(lines: &[(&str, &str)]) -> Membership {
        let entries: Vec<(String, String)> = lines
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Membership::from_entries(&entries).unwrap()
    }

    #[test]
    fn config_text_matches_apache() {
        let m = membership(&[
            ("server.1", "127.0.0.1:2889:3889:participant;2182"),
            ("server.0", "127.0.0.1:2888:3888"),
            ("version", "100000002"),
        ]);
        assert_eq!(
            m.config_text(),
            "server.0=127.0.0.1:2888:3888:participant\nserver.1=127.0.0.1:2889:3889:participant;0.0.0.0:2182\n\
             version=100000002"
        );
        assert_eq!(m.version, 0x1_0000_0002);
    }

    #[test]
    fn config_text_parses_back() {
        let m = membership(&[
            ("server.0", "127.0.0.1:2888:3888"),
            ("server.1", "h:1:2:observer;h:3"),
            ("version", "1a"),
        ]);
        assert_eq!(Membership::from_config_text(&m.config_text()).unwrap(), m);
    }

    #[test]
    fn dynamic_text_sorts_as_strings_without_version() {
        let m = membership(&[
            ("server.2", "h:1:2"),
            ("server.10", "h:3:4"),
            ("version", "5"),
        ]);
        assert_eq!(
            m.dynamic_file_text(),
            "server.10=h:3:4:participant\nserver.2=h:1:2:participant"
        );
    }

    #[test]
    fn bad_ids_and_lines_name_the_key() {
        let entries = vec![("server.x".to_string(), "h:1:2".to_string())];
        let e = Membership::from_entries(&entries).unwrap_err();
        assert!(e.to_string().contains("server.x"), "{e}");
        let entries = vec![("server.3".to_string(), "h:1".to_string())];
        let e = Membership::from_entries(&entries).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("server.3: h:1 does not have the form"),
            "{e}"
        );
    }
}
