//! Kerberos-style names as Apache's `KerberosName` reads them: `service[/host]@REALM`, or a simple
//! name without `@`. They decide which ids the `sasl` ACL scheme accepts and the id a SASL login gets.

/// A name split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosName {
    /// The first component.
    pub service: String,
    /// The host component, after `/`.
    pub host: Option<String>,
    /// The realm, after `@`.
    pub realm: Option<String>,
}

impl KerberosName {
    /// Parses `name`; `None` for a name with `@` that is not `service[/host]@realm` (Apache's
    /// "Malformed Kerberos name").
    pub fn parse(name: &str) -> Option<KerberosName> {
        let Some((principal, realm)) = name.split_once('@') else {
            return Some(KerberosName {
                service: name.to_string(),
                host: None,
                realm: None,
            });
        };
        if realm.contains(['@', '/']) {
            return None;
        }
        let (service, host) = match principal.split_once('/') {
            Some((s, h)) if !h.contains('/') => (s, Some(h.to_string())),
            Some(_) => return None,
            None => (principal, None),
        };
        Some(KerberosName {
            service: service.to_string(),
            host,
            realm: Some(realm.to_string()),
        })
    }
}

/// Whether `id` is a valid `sasl` ACL id (Apache's `SASLAuthenticationProvider.isValid`).
pub fn is_valid_sasl_id(id: &str) -> bool {
    KerberosName::parse(id).is_some()
}

/// The id a SASL login gets (Apache's `SaslServerCallbackHandler`): a simple user name as is; for
/// other names, whose short form needs Kerberos' `auth_to_local` rules (not supported here), the
/// authorization id the client asked for, else its user name — what Apache ends with when no rule
/// applies.
pub fn authorized_id(username: &str, authzid: Option<&str>) -> String {
    match KerberosName::parse(username) {
        Some(KerberosName {
            host: None,
            realm: None,
            ..
        }) => username.to_string(),
        _ => authzid.unwrap_or(username).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_follows_kerberos_name() {
        for valid in [
            "bob",
            "a/b/c",
            "zookeeper/host@REALM",
            "client@KAZOOTEST.ORG",
            "x@",
        ] {
            assert!(is_valid_sasl_id(valid), "{valid}");
        }
        for invalid in ["a@b@c", "a/b/c@R", "a@R/x"] {
            assert!(!is_valid_sasl_id(invalid), "{invalid}");
        }
    }

    #[test]
    fn simple_names_are_their_own_id() {
        assert_eq!(authorized_id("jaasuser", Some("other")), "jaasuser");
        assert_eq!(authorized_id("u@R", Some("z")), "z");
        assert_eq!(authorized_id("u@R", None), "u@R");
    }
}
