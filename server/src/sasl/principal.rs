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

/// How an authenticated name shortens into its `sasl` id: Apache's `DEFAULT` `auth_to_local` rule
/// and the `zookeeper.kerberos.remove*FromPrincipal` switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameRules {
    /// The default realm of the Kerberos configuration (empty without one).
    pub default_realm: String,
    /// `zookeeper.kerberos.removeHostFromPrincipal`: drop `/host`.
    pub remove_host: bool,
    /// `zookeeper.kerberos.removeRealmFromPrincipal`: drop `@REALM`.
    pub remove_realm: bool,
}

impl NameRules {
    /// The id a SASL login of `username` gets (Apache's `SaslServerCallbackHandler`): a simple
    /// name as is; a name of the default realm as its first component, followed by `/host` and
    /// `@REALM` unless removed; for any other name, which no rule shortens, the authorization id
    /// the client asked for, else its user name — what Apache ends with when no rule applies.
    pub fn authorized_id(&self, username: &str, authzid: Option<&str>) -> String {
        let fallback = || authzid.unwrap_or(username).to_string();
        let Some(name) = KerberosName::parse(username) else {
            return fallback();
        };
        let Some(realm) = &name.realm else {
            return username.to_string();
        };
        if *realm != self.default_realm {
            return fallback();
        }
        let mut id = name.service.clone();
        if let Some(host) = name.host.as_ref().filter(|_| !self.remove_host) {
            id.push('/');
            id.push_str(host);
        }
        if !self.remove_realm {
            id.push('@');
            id.push_str(realm);
        }
        id
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
    fn simple_names_are_their_own_id_and_others_need_the_default_realm() {
        let none = NameRules::default();
        assert_eq!(none.authorized_id("jaasuser", Some("other")), "jaasuser");
        assert_eq!(none.authorized_id("u@R", Some("z")), "z");
        assert_eq!(none.authorized_id("u@R", None), "u@R");
        let rules = NameRules {
            default_realm: "R".into(),
            ..NameRules::default()
        };
        assert_eq!(rules.authorized_id("u/h@R", Some("z")), "u/h@R");
        assert_eq!(rules.authorized_id("u@OTHER", None), "u@OTHER");
        let short = NameRules {
            remove_host: true,
            remove_realm: true,
            ..rules
        };
        assert_eq!(short.authorized_id("u/h@R", Some("z")), "u");
    }
}
