//! Apache's `ssl.*` settings, read from the system properties (zoo.cfg keys become `zookeeper.<key>`,
//! `-D` flags come as they are): `zookeeper.ssl.*` for clients, `zookeeper.ssl.quorum.*` between members.

use std::path::PathBuf;

use super::TlsError;
use super::store::StoreType;

/// Apache's `ssl.protocol` when not set (3.8's `X509Util.DEFAULT_PROTOCOL`).
pub const DEFAULT_PROTOCOL: &str = "TLSv1.2";

/// The property prefix of client TLS.
pub const CLIENT_PREFIX: &str = "zookeeper.ssl.";
/// The property prefix of TLS between members.
pub const QUORUM_PREFIX: &str = "zookeeper.ssl.quorum.";

/// `ssl.clientAuth`: whether the server asks for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate is asked for.
    None,
    /// A certificate is asked for; a client without one is served, one with a bad one is refused.
    Want,
    /// A client without a valid certificate is refused (Apache's default).
    Need,
}

/// A key or trust store: file, password and format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// `*.location`.
    pub location: PathBuf,
    /// `*.password`, or the content of `*.passwordPath`; empty when neither is set.
    pub password: String,
    /// `*.type`, else guessed from the file name as Apache does.
    pub store_type: StoreType,
}

/// One set of `ssl.*` settings (client or quorum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `keyStore.*`: this server's certificate and key.
    pub key_store: Option<StoreSettings>,
    /// `trustStore.*`: the certificates of the authorities whose certificates are accepted.
    pub trust_store: Option<StoreSettings>,
    /// `clientAuth`.
    pub client_auth: ClientAuth,
    /// `enabledProtocols`, else `[protocol]`.
    pub protocols: Vec<String>,
    /// `ciphersuites` (Java names); empty for the default list.
    pub cipher_suites: Vec<String>,
    /// `hostnameVerification` (default true).
    pub hostname_verification: bool,
}

impl TlsSettings {
    /// Reads the settings under `prefix` ([`CLIENT_PREFIX`] or [`QUORUM_PREFIX`]) from `properties`
    /// (later entries win).
    pub fn from_properties(
        properties: &[(String, String)],
        prefix: &str,
    ) -> Result<TlsSettings, TlsError> {
        let get = |name: &str| {
            let key = format!("{prefix}{name}");
            properties
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let store = |kind: &str| -> Result<Option<StoreSettings>, TlsError> {
            let Some(location) = get(&format!("{kind}.location")) else {
                return Ok(None);
            };
            let password = match (
                get(&format!("{kind}.password")),
                get(&format!("{kind}.passwordPath")),
            ) {
                (Some(password), _) => password,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .map_err(|source| TlsError::Io {
                        path: path.clone().into(),
                        source,
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
                (None, None) => String::new(),
            };
            let location = PathBuf::from(location);
            let store_type = StoreType::of(get(&format!("{kind}.type")).as_deref(), &location)?;
            Ok(Some(StoreSettings {
                location,
                password,
                store_type,
            }))
        };
        let client_auth = match get("clientAuth").map(|v| v.to_ascii_uppercase()).as_deref() {
            None | Some("NEED") => ClientAuth::Need,
            Some("WANT") => ClientAuth::Want,
            Some("NONE") => ClientAuth::None,
            Some(other) => {
                return Err(TlsError::Setting(format!(
                    "{prefix}clientAuth: unknown value {other} (none, want or need)"
                )));
            }
        };
        let list = |value: Option<String>| -> Vec<String> {
            value
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut protocols = list(get("enabledProtocols"));
        if protocols.is_empty() {
            protocols.push(get("protocol").unwrap_or_else(|| DEFAULT_PROTOCOL.to_string()));
        }
        let hostname_verification = match get("hostnameVerification").as_deref() {
            None => true,
            Some(v) => v.eq_ignore_ascii_case("true"),
        };
        Ok(TlsSettings {
            key_store: store("keyStore")?,
            trust_store: store("trustStore")?,
            client_auth,
            protocols,
            cipher_suites: list(get("ciphersuites")),
            hostname_verification,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_apache() {
        let s = TlsSettings::from_properties(&[], CLIENT_PREFIX).unwrap();
        assert_eq!(s.client_auth, ClientAuth::Need);
        assert_eq!(s.protocols, vec!["TLSv1.2".to_string()]);
        assert!(s.hostname_verification);
        assert!(s.key_store.is_none() && s.trust_store.is_none());
    }

    #[test]
    fn reads_prefixed_properties() {
        let p = props(&[
            ("zookeeper.ssl.keyStore.location", "/k/server.p12"),
            ("zookeeper.ssl.keyStore.password", "secret"),
            ("zookeeper.ssl.trustStore.location", "/k/ca.pem"),
            ("zookeeper.ssl.clientAuth", "want"),
            ("zookeeper.ssl.protocol", "TLSv1.3"),
            (
                "zookeeper.ssl.ciphersuites",
                "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384",
            ),
            ("zookeeper.ssl.hostnameVerification", "false"),
            ("zookeeper.ssl.quorum.clientAuth", "none"),
        ]);
        let s = TlsSettings::from_properties(&p, CLIENT_PREFIX).unwrap();
        let key = s.key_store.unwrap();
        assert_eq!(key.store_type, StoreType::Pkcs12);
        assert_eq!(key.password, "secret");
        assert_eq!(s.trust_store.unwrap().store_type, StoreType::Pem);
        assert_eq!(s.client_auth, ClientAuth::Want);
        assert_eq!(s.protocols, vec!["TLSv1.3".to_string()]);
        assert_eq!(s.cipher_suites.len(), 2);
        assert!(!s.hostname_verification);
        let q = TlsSettings::from_properties(&p, QUORUM_PREFIX).unwrap();
        assert_eq!(q.client_auth, ClientAuth::None);
    }

    #[test]
    fn bad_client_auth_is_an_error() {
        let p = props(&[("zookeeper.ssl.clientAuth", "sometimes")]);
        assert!(TlsSettings::from_properties(&p, CLIENT_PREFIX).is_err());
    }
}
