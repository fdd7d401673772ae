//! Apache 3.8's `AuthenticationHelper`: with `zookeeper.enforce.auth.enabled=true` (or
//! `zookeeper.sessionRequireClientSASLAuth=true`, which means enforcement with the `sasl` scheme),
//! every request but `auth` and `sasl` from a connection without an identity of one of
//! `zookeeper.enforce.auth.schemes` gets SessionClosedRequireSaslAuth and the connection closes.

use zk_proto::Id;

use super::SaslConfigError;

/// The enforcement settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthEnforcement {
    /// Whether requests need an identity of one of `schemes`.
    pub enabled: bool,
    /// The accepted schemes.
    pub schemes: Vec<String>,
}

impl AuthEnforcement {
    /// Reads the settings; `available` tells whether a scheme has a provider. Errors are Apache's.
    pub fn from_properties(
        prop: &dyn Fn(&str) -> Option<String>,
        available: &dyn Fn(&str) -> bool,
    ) -> Result<AuthEnforcement, SaslConfigError> {
        let java_true =
            |name: &str| prop(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if java_true("zookeeper.sessionRequireClientSASLAuth") {
            return Ok(AuthEnforcement {
                enabled: true,
                schemes: vec!["sasl".into()],
            });
        }
        let enabled = java_true("zookeeper.enforce.auth.enabled");
        let schemes: Vec<String> = prop("zookeeper.enforce.auth.schemes")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        if enabled {
            if schemes.is_empty() {
                return Err(SaslConfigError::Enforcement(
                    "zookeeper.enforce.auth.enabled is true zookeeper.enforce.auth.schemes must be  configured."
                        .into(),
                ));
            }
            if let Some(missing) = schemes.iter().find(|s| !available(s)) {
                return Err(SaslConfigError::Enforcement(format!(
                    "Authentication scheme {missing} is not available."
                )));
            }
        }
        Ok(AuthEnforcement { enabled, schemes })
    }

    /// Whether a connection with identities `auth` may make requests.
    pub fn allows(&self, auth: &[Id]) -> bool {
        !self.enabled || auth.iter().any(|id| self.schemes.contains(&id.scheme))
    }

    /// Whether a failed SASL login must close with SessionClosedRequireSaslAuth.
    pub fn requires_sasl(&self) -> bool {
        self.enabled && self.schemes.iter().any(|s| s == "sasl")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<AuthEnforcement, SaslConfigError> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuthEnforcement::from_properties(
            &|name| {
                owned
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            },
            &|scheme| matches!(scheme, "ip" | "digest" | "sasl"),
        )
    }

    #[test]
    fn session_require_means_sasl() {
        let e = read(&[("zookeeper.sessionRequireClientSASLAuth", "TRUE")]).unwrap();
        assert!(e.enabled && e.requires_sasl());
        assert!(!e.allows(&[Id::new("ip", "127.0.0.1")]));
        assert!(e.allows(&[Id::new("sasl", "bob")]));
    }

    #[test]
    fn schemes_are_checked_like_apache() {
        let e = read(&[
            ("zookeeper.enforce.auth.enabled", "true"),
            ("zookeeper.enforce.auth.schemes", "digest, sasl"),
        ])
        .unwrap();
        assert!(e.allows(&[Id::new("digest", "u:x")]));
        assert!(!e.allows(&[Id::new("ip", "1.2.3.4")]));
        assert!(read(&[("zookeeper.enforce.auth.enabled", "true")]).is_err());
        let err = read(&[
            ("zookeeper.enforce.auth.enabled", "true"),
            ("zookeeper.enforce.auth.schemes", "x509"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("x509 is not available"), "{err}");
        assert!(read(&[]).unwrap().allows(&[]));
    }
}
