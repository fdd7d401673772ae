//! SASL authentication of clients, as Apache ZooKeeper 3.8 does it: DIGEST-MD5 with the users of the
//! JAAS file's `Server` section (`user_<name>="<password>"` options of
//! `org.apache.zookeeper.server.auth.DigestLoginModule`), or Kerberos (GSSAPI) with the keytab and
//! principal of its `com.sun.security.auth.module.Krb5LoginModule`; the `sasl` ACL scheme of
//! `SASLAuthenticationProvider`, super users (`zookeeper.superUser`) and the enforcement of
//! authentication (`zookeeper.enforce.auth.*`, `zookeeper.sessionRequireClientSASLAuth`).
//!
//! Layout:
//! - `jaas` — the JAAS file format.
//! - `digest_md5` — the DIGEST-MD5 server exchange.
//! - `digest_md5_client` — the DIGEST-MD5 client exchange (a member authenticating to another).
//! - `quorum` — quorum SASL: members authenticating to each other (`quorum.auth.*`).
//! - `gssapi` — the GSSAPI (Kerberos) server exchange, through the system's GSS-API library.
//! - `gssapi_client` — the GSSAPI client exchange (a member authenticating to another).
//! - `krb5_login` — Kerberos logins (keytab and principal) and their GSS-API credentials.
//! - `krb5_conf` — the default realm of the Kerberos configuration.
//! - `principal` — Kerberos-style names: valid `sasl` ids and the id a login gets.
//! - `enforce` — which connections may make requests.
//! - `exchange` — one connection's op-102 packets, answered as Apache answers them.

mod digest_md5;
mod digest_md5_client;
mod enforce;
mod exchange;
mod gssapi;
mod gssapi_client;
pub mod jaas;
mod krb5_conf;
mod krb5_login;
mod principal;
pub mod quorum;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use tracing::{info, warn};

pub use digest_md5::{DigestError, DigestMd5Server};
pub use enforce::AuthEnforcement;
pub use exchange::{SaslExchange, SaslReply};
pub use gssapi::{GssapiError, GssapiServer, GssapiStep};
pub use krb5_conf::KRB5_CONF_PROPERTY;
pub use krb5_login::{KRB5_LOGIN_MODULE, KerberosInitiator, KerberosLogin, KerberosLoginError};
pub use principal::{KerberosName, NameRules, is_valid_sasl_id};
pub use quorum::QuorumSasl;

/// The `authProvider.N` class that registers the `sasl` ACL scheme.
pub const SASL_PROVIDER_CLASS: &str = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";
/// The JAAS login module whose `user_` options are the DIGEST-MD5 users.
pub const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";
/// The JAAS section read when `zookeeper.sasl.serverconfig` is not set.
pub const DEFAULT_SECTION: &str = "Server";

/// The system property naming the JAAS file.
const LOGIN_CONFIG_PROPERTY: &str = "java.security.auth.login.config";

/// The system properties (zoo.cfg keys with `zookeeper.` in front) read here.
const PROPERTIES: &[&str] = &[
    LOGIN_CONFIG_PROPERTY,
    "zookeeper.sasl.serverconfig",
    "zookeeper.superUser",
    "zookeeper.allowSaslFailedClients",
    "zookeeper.letAnySaslUserDoX",
    "zookeeper.enforce.auth.enabled",
    "zookeeper.enforce.auth.schemes",
    "zookeeper.sessionRequireClientSASLAuth",
    "zookeeper.kerberos.removeHostFromPrincipal",
    "zookeeper.kerberos.removeRealmFromPrincipal",
    krb5_conf::KRB5_CONF_PROPERTY,
    krb5_conf::REALM_PROPERTY,
];

/// Whether the system property `name` is one of the SASL settings (`authProvider.N` included).
pub fn is_known_property(name: &str) -> bool {
    PROPERTIES.contains(&name)
        || quorum::PROPERTIES.contains(&name)
        || name.starts_with("zookeeper.authProvider.")
        || name.starts_with("zookeeper.superUser.")
}

/// Why the SASL settings stop start-up.
#[derive(Debug, Error)]
pub enum SaslConfigError {
    /// The JAAS file could not be read.
    #[error("JAAS file {path} (java.security.auth.login.config): {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The JAAS file is malformed.
    #[error("JAAS file {path} (java.security.auth.login.config): {source}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where and what.
        #[source]
        source: jaas::JaasError,
    },
    /// The section names a login module this server cannot run.
    #[error(
        "JAAS section {section} of {path}: login module {class} is not supported; this server \
         authenticates with SASL DIGEST-MD5 through {DIGEST_LOGIN_MODULE} or Kerberos (GSSAPI) \
         through {KRB5_LOGIN_MODULE}, one of them per section"
    )]
    UnsupportedModule {
        /// The file.
        path: PathBuf,
        /// The section.
        section: String,
        /// The module's class.
        class: String,
    },
    /// The Kerberos login cannot be used.
    #[error("JAAS section {section} of {path}: {source}")]
    Kerberos {
        /// The file.
        path: PathBuf,
        /// The section.
        section: String,
        /// What is wrong.
        #[source]
        source: KerberosLoginError,
    },
    /// The enforcement settings are inconsistent (Apache's messages).
    #[error("{0}")]
    Enforcement(String),
    /// The quorum SASL settings are inconsistent or their JAAS sections unusable.
    #[error("quorum SASL: {0}")]
    Quorum(String),
}

/// The server's SASL login: the mechanism its JAAS section chose.
#[derive(Clone)]
pub enum SaslLogin {
    /// DIGEST-MD5 users and passwords.
    Digest(Arc<BTreeMap<String, String>>),
    /// Kerberos (GSSAPI) with the service's keytab.
    Kerberos(KerberosLogin),
}

impl std::fmt::Debug for SaslLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaslLogin::Digest(users) => f
                .debug_tuple("Digest")
                .field(&users.keys().collect::<Vec<_>>())
                .finish(),
            SaslLogin::Kerberos(login) => f.debug_tuple("Kerberos").field(login).finish(),
        }
    }
}

/// The SASL settings in force.
#[derive(Clone, Default)]
pub struct SaslConfig {
    /// The login; `None` when no JAAS login section is configured (a SASL packet then gets an
    /// empty answer, as from Apache without a login).
    pub login: Option<SaslLogin>,
    /// How an authenticated name becomes its `sasl` id.
    pub name_rules: NameRules,
    /// `java.security.krb5.conf`: the Kerberos configuration the GSS-API library should read
    /// (the binary hands it over as `KRB5_CONFIG` before it starts threads).
    pub krb5_conf: Option<PathBuf>,
    /// `authProvider.N=...SASLAuthenticationProvider`: the `sasl` ACL scheme exists.
    pub acl_scheme: bool,
    /// Values of `zookeeper.superUser` and `zookeeper.superUser.*`: these ids are super users.
    pub super_users: Vec<String>,
    /// `zookeeper.allowSaslFailedClients`: a failed login keeps its connection (unless SASL is
    /// enforced).
    pub allow_failed_clients: bool,
    /// `zookeeper.letAnySaslUserDoX`: a `sasl` ACL id every SASL user matches.
    pub let_any_user_do_x: Option<String>,
    /// `zookeeper.enforce.auth.*`.
    pub enforcement: AuthEnforcement,
    /// Quorum SASL (`quorum.auth.enableSasl`): how members authenticate to each other.
    pub quorum: Option<QuorumSasl>,
}

impl std::fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslConfig")
            .field("login", &self.login)
            .field("name_rules", &self.name_rules)
            .field("acl_scheme", &self.acl_scheme)
            .field("super_users", &self.super_users)
            .field("allow_failed_clients", &self.allow_failed_clients)
            .field("let_any_user_do_x", &self.let_any_user_do_x)
            .field("enforcement", &self.enforcement)
            .field("quorum", &self.quorum)
            .finish()
    }
}

impl SaslConfig {
    /// Reads the settings from the system properties (zoo.cfg keys already prefixed with
    /// `zookeeper.`), loading the JAAS file they name.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
    ) -> Result<SaslConfig, SaslConfigError> {
        let prop = |name: &str| props.get(name).cloned();
        let acl_scheme = props.iter().any(|(k, v)| {
            k.starts_with("zookeeper.authProvider.") && v.trim() == SASL_PROVIDER_CLASS
        });
        let super_users = props
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix("zookeeper.superUser")
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
            .map(|(_, v)| v.clone())
            .collect();
        if props.contains_key("zookeeper.requireClientAuthScheme") {
            warn!(
                "requireClientAuthScheme has no effect in ZooKeeper 3.8 (nor here); use \
                 enforce.auth.enabled=true and enforce.auth.schemes=sasl"
            );
        }
        let available =
            |scheme: &str| matches!(scheme, "ip" | "digest") || (scheme == "sasl" && acl_scheme);
        let krb5_conf = prop(KRB5_CONF_PROPERTY);
        let is_true =
            |name: &str| prop(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let name_rules = NameRules {
            default_realm: krb5_conf::default_realm(
                prop(krb5_conf::REALM_PROPERTY).as_deref(),
                &krb5_conf::config_path(krb5_conf.as_deref()),
            ),
            remove_host: is_true("zookeeper.kerberos.removeHostFromPrincipal"),
            remove_realm: is_true("zookeeper.kerberos.removeRealmFromPrincipal"),
        };
        let quorum =
            QuorumSasl::from_properties(&prop, || read_jaas(&prop), &name_rules.default_realm)?;
        Ok(SaslConfig {
            login: load_login(&prop, &name_rules.default_realm)?,
            name_rules,
            krb5_conf: krb5_conf.map(PathBuf::from),
            acl_scheme,
            super_users,
            allow_failed_clients: is_true("zookeeper.allowSaslFailedClients"),
            let_any_user_do_x: prop("zookeeper.letAnySaslUserDoX"),
            enforcement: AuthEnforcement::from_properties(&prop, &available)?,
            quorum,
        })
    }

    /// Whether `id` is a super user (`zookeeper.superUser`).
    pub fn is_super_user(&self, id: &str) -> bool {
        !id.is_empty() && self.super_users.iter().any(|s| s == id)
    }
}

/// The JAAS file `java.security.auth.login.config` names, parsed, if one is named.
fn read_jaas(
    prop: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(PathBuf, jaas::JaasConfig)>, SaslConfigError> {
    let Some(location) = prop(LOGIN_CONFIG_PROPERTY) else {
        return Ok(None);
    };
    // `-D...=` `=path` replaces Java's other configurations; `file:` URLs name files.
    let location = location.trim_start_matches('=');
    let path = PathBuf::from(location.strip_prefix("file:").unwrap_or(location));
    let text = std::fs::read_to_string(&path).map_err(|source| SaslConfigError::Io {
        path: path.clone(),
        source,
    })?;
    let config = jaas::JaasConfig::parse(&text, &|name| {
        prop(name).or_else(|| std::env::var(name).ok())
    })
    .map_err(|source| SaslConfigError::Syntax {
        path: path.clone(),
        source,
    })?;
    Ok(Some((path, config)))
}

/// The login of the JAAS section, if one is configured.
fn load_login(
    prop: &dyn Fn(&str) -> Option<String>,
    default_realm: &str,
) -> Result<Option<SaslLogin>, SaslConfigError> {
    let Some((path, config)) = read_jaas(prop)? else {
        return Ok(None);
    };
    let section_name =
        prop("zookeeper.sasl.serverconfig").unwrap_or_else(|| DEFAULT_SECTION.into());
    let Some(section) = config.section(&section_name) else {
        info!(path = %path.display(), section = %section_name,
              "no JAAS section for the server; SASL authentication is off");
        return Ok(None);
    };
    let login = server_login(&path, section, default_realm)?;
    match &login {
        SaslLogin::Kerberos(kerberos) => {
            info!(path = %path.display(), section = %section_name,
                  principal = %kerberos.principal, "SASL GSSAPI (Kerberos) authentication on");
        }
        SaslLogin::Digest(users) => {
            info!(path = %path.display(), section = %section_name, users = users.len(),
                  "SASL DIGEST-MD5 authentication on");
        }
    }
    Ok(Some(login))
}

/// The login modules of a JAAS section, as this server reads them.
enum SectionLogin<'a> {
    /// One `Krb5LoginModule`: its options.
    Kerberos(&'a [(String, String)]),
    /// `DigestLoginModule`s: their options, in file order.
    Digest(Vec<(String, String)>),
}

impl<'a> SectionLogin<'a> {
    /// The login of `section` of the JAAS file `path`; an error for other modules, or Kerberos
    /// mixed with others.
    fn of(path: &Path, section: &'a jaas::Section) -> Result<SectionLogin<'a>, SaslConfigError> {
        if let [module] = section.modules.as_slice()
            && module.class == KRB5_LOGIN_MODULE
        {
            return Ok(SectionLogin::Kerberos(&module.options));
        }
        let mut options = Vec::new();
        for module in &section.modules {
            if module.class != DIGEST_LOGIN_MODULE {
                return Err(SaslConfigError::UnsupportedModule {
                    path: path.to_path_buf(),
                    section: section.name.clone(),
                    class: module.class.clone(),
                });
            }
            options.extend(module.options.iter().cloned());
        }
        Ok(SectionLogin::Digest(options))
    }
}

/// The login a server section (`Server`, `QuorumServer`) gives: the `user_<name>` passwords of
/// its DIGEST-MD5 modules, or its Kerberos service login (acceptor credentials acquired here).
fn server_login(
    path: &Path,
    section: &jaas::Section,
    default_realm: &str,
) -> Result<SaslLogin, SaslConfigError> {
    match SectionLogin::of(path, section)? {
        SectionLogin::Kerberos(options) => KerberosLogin::from_options(options, default_realm)
            .map(SaslLogin::Kerberos)
            .map_err(|source| kerberos_error(path, section, source)),
        SectionLogin::Digest(options) => Ok(SaslLogin::Digest(Arc::new(
            options
                .into_iter()
                .filter_map(|(key, value)| Some((key.strip_prefix("user_")?.to_string(), value)))
                .collect(),
        ))),
    }
}

/// A Kerberos login of `section` that cannot be used.
fn kerberos_error(
    path: &Path,
    section: &jaas::Section,
    source: KerberosLoginError,
) -> SaslConfigError {
    SaslConfigError::Kerberos {
        path: path.to_path_buf(),
        section: section.name.clone(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_users_super_users_and_the_acl_scheme() {
        let dir = tempfile::tempdir().unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            "Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n \
             user_super=\"s\" user_bob=\"b\";\n};\n",
        )
        .unwrap();
        let config = SaslConfig::from_properties(&props(&[
            ("java.security.auth.login.config", jaas.to_str().unwrap()),
            ("zookeeper.authProvider.1", SASL_PROVIDER_CLASS),
            ("zookeeper.superUser", "super"),
            ("zookeeper.superUser.2", "admin"),
            ("zookeeper.superUserX", "nobody"),
        ]))
        .unwrap();
        let Some(SaslLogin::Digest(users)) = &config.login else {
            panic!("a DIGEST-MD5 login: {config:?}");
        };
        assert_eq!(users.get("bob").map(String::as_str), Some("b"));
        assert_eq!(users.len(), 2);
        assert!(config.acl_scheme);
        assert!(config.is_super_user("super") && config.is_super_user("admin"));
        assert!(!config.is_super_user("nobody"));
        assert!(
            !format!("{config:?}").contains("\"s\""),
            "passwords stay out of logs"
        );
    }

    #[test]
    fn missing_section_turns_sasl_off_and_bad_files_stop_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.conf");
        std::fs::write(&empty, "").unwrap();
        let path = empty.to_str().unwrap();
        let config =
            SaslConfig::from_properties(&props(&[("java.security.auth.login.config", path)]))
                .unwrap();
        assert!(config.login.is_none());
        let missing = dir.path().join("missing.conf");
        let err = SaslConfig::from_properties(&props(&[(
            "java.security.auth.login.config",
            missing.to_str().unwrap(),
        )]))
        .unwrap_err();
        assert!(err.to_string().contains("missing.conf"), "{err}");
        let krb = dir.path().join("krb.conf");
        std::fs::write(
            &krb,
            "Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true; };",
        )
        .unwrap();
        let err = SaslConfig::from_properties(&props(&[(
            "java.security.auth.login.config",
            krb.to_str().unwrap(),
        )]))
        .unwrap_err();
        assert!(err.to_string().contains("needs principal="), "{err}");
        std::fs::write(
            &krb,
            "Server { com.sun.security.auth.module.Krb5LoginModule required principal=\"a@B\";\n \
             org.apache.zookeeper.server.auth.DigestLoginModule required user_a=\"b\"; };",
        )
        .unwrap();
        let err = SaslConfig::from_properties(&props(&[(
            "java.security.auth.login.config",
            krb.to_str().unwrap(),
        )]))
        .unwrap_err();
        assert!(
            err.to_string().contains("Krb5LoginModule is not supported"),
            "{err}"
        );
        let broken = dir.path().join("broken.conf");
        std::fs::write(&broken, "Server {\n x required user_a=\"b\"\n").unwrap();
        let err = SaslConfig::from_properties(&props(&[(
            "java.security.auth.login.config",
            broken.to_str().unwrap(),
        )]))
        .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
