//! The part of a Kerberos configuration file (`krb5.conf`) this server reads itself: the default
//! realm, which decides how a client principal shortens into its `sasl` id (Apache's
//! `KerberosName` takes it from the JVM's Kerberos configuration). The GSS-API library reads the
//! rest of the file on its own.

use std::path::{Path, PathBuf};

/// The system property naming the Kerberos configuration file (as for Java).
pub const KRB5_CONF_PROPERTY: &str = "java.security.krb5.conf";
/// The system property that overrides the default realm (as for Java).
pub const REALM_PROPERTY: &str = "java.security.krb5.realm";

/// The Kerberos configuration file in force: `java.security.krb5.conf`, else the first file of
/// `KRB5_CONFIG`, else `/etc/krb5.conf`.
pub fn config_path(property: Option<&str>) -> PathBuf {
    if let Some(path) = property {
        return PathBuf::from(path);
    }
    std::env::var("KRB5_CONFIG")
        .ok()
        .and_then(|list| list.split(':').find(|p| !p.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/etc/krb5.conf"))
}

/// The default realm: `java.security.krb5.realm`, else `default_realm` of the file's
/// `[libdefaults]`, else empty (Apache's value when the JVM has no Kerberos configuration).
pub fn default_realm(realm_property: Option<&str>, path: &Path) -> String {
    if let Some(realm) = realm_property {
        return realm.to_string();
    }
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| libdefaults_realm(&text))
        .unwrap_or_default()
}

/// `default_realm` of the `[libdefaults]` section of `text`.
fn libdefaults_realm(text: &str) -> Option<String> {
    let mut in_libdefaults = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with(['#', ';']) || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            in_libdefaults = section.trim_end_matches(']').trim() == "libdefaults";
            continue;
        }
        if !in_libdefaults {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "default_realm"
        {
            return Some(value.trim().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_default_realm_of_libdefaults_only() {
        let text = "# comment\n[realms]\n default_realm = WRONG\n[libdefaults]\n  \
                    dns_lookup_kdc = false\n  default_realm = EXAMPLE.COM\n";
        assert_eq!(libdefaults_realm(text).as_deref(), Some("EXAMPLE.COM"));
        assert_eq!(libdefaults_realm("[realms]\ndefault_realm = X\n"), None);
    }

    #[test]
    fn the_property_wins_and_a_missing_file_means_no_realm() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.conf");
        assert_eq!(default_realm(None, &missing), "");
        assert_eq!(default_realm(Some("R"), &missing), "R");
        assert_eq!(
            config_path(Some("/x/krb5.conf")),
            PathBuf::from("/x/krb5.conf")
        );
    }
}
