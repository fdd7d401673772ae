//! Quorum SASL: members authenticating to each other with DIGEST-MD5, with Apache ZooKeeper's
//! settings (zoo.cfg keys `quorum.auth.*`) and JAAS sections (`QuorumServer`, `QuorumLearner`).
//!
//! The member that opens a connection is the learner: it authenticates with the `username` and
//! `password` of its learner section. The member that accepts it is the server: it checks them
//! against the `user_<name>="<password>"` options of its server section, and proves in turn that
//! it knows the password. As in Apache, `quorum.auth.enableSasl` loads the logins;
//! `quorum.auth.learnerRequireSasl` makes the learner authenticate (and give up a connection whose
//! exchange fails); `quorum.auth.serverRequireSasl` makes the server refuse a member that does not
//! authenticate. Without the last two, members that do not authenticate are let through, so that
//! an ensemble can turn quorum SASL on one member at a time. Kerberos (GSSAPI) logins are refused
//! at start-up.
//!
//! `handshake` runs the exchange on a new connection, before anything else is sent on it.

mod handshake;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use handshake::{Admission, QuorumAuthError, Replayed};

use super::jaas::JaasConfig;
use super::{DIGEST_LOGIN_MODULE, KRB5_LOGIN_MODULE, SaslConfigError};

/// `quorum.auth.enableSasl`: load the quorum logins.
pub const ENABLE_KEY: &str = "quorum.auth.enableSasl";
/// `quorum.auth.learnerRequireSasl`: a connecting member authenticates.
pub const LEARNER_REQUIRE_KEY: &str = "quorum.auth.learnerRequireSasl";
/// `quorum.auth.serverRequireSasl`: an accepting member refuses members that do not authenticate.
pub const SERVER_REQUIRE_KEY: &str = "quorum.auth.serverRequireSasl";
/// `quorum.auth.learner.saslLoginContext`: the JAAS section of the connecting side.
pub const LEARNER_CONTEXT_KEY: &str = "quorum.auth.learner.saslLoginContext";
/// `quorum.auth.server.saslLoginContext`: the JAAS section of the accepting side.
pub const SERVER_CONTEXT_KEY: &str = "quorum.auth.server.saslLoginContext";
/// `quorum.auth.kerberos.servicePrincipal`: the principal a Kerberos learner would ask for.
pub const SERVICE_PRINCIPAL_KEY: &str = "quorum.auth.kerberos.servicePrincipal";

/// Apache's default learner section.
pub const DEFAULT_LEARNER_CONTEXT: &str = "QuorumLearner";
/// Apache's default server section.
pub const DEFAULT_SERVER_CONTEXT: &str = "QuorumServer";
/// Apache's default service principal.
pub const DEFAULT_SERVICE_PRINCIPAL: &str = "zkquorum/localhost";

/// The quorum SASL keys, as the system properties zoo.cfg's keys become.
pub(super) const PROPERTIES: &[&str] = &[
    "zookeeper.quorum.auth.enableSasl",
    "zookeeper.quorum.auth.learnerRequireSasl",
    "zookeeper.quorum.auth.serverRequireSasl",
    "zookeeper.quorum.auth.learner.saslLoginContext",
    "zookeeper.quorum.auth.server.saslLoginContext",
    "zookeeper.quorum.auth.kerberos.servicePrincipal",
];

/// The learner's credentials (the password stays out of logs).
struct LearnerLogin {
    username: String,
    password: String,
}

/// Quorum SASL in force (`quorum.auth.enableSasl=true`).
#[derive(Clone)]
pub struct QuorumSasl {
    server_users: Arc<BTreeMap<String, String>>,
    learner: Arc<LearnerLogin>,
    learner_require: bool,
    server_require: bool,
}

impl std::fmt::Debug for QuorumSasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuorumSasl")
            .field(
                "server_users",
                &self.server_users.keys().collect::<Vec<_>>(),
            )
            .field("learner", &self.learner.username)
            .field("learner_require", &self.learner_require)
            .field("server_require", &self.server_require)
            .finish()
    }
}

impl QuorumSasl {
    /// Reads the quorum SASL settings (system properties, zoo.cfg keys prefixed with
    /// `zookeeper.`) and, when `quorum.auth.enableSasl` is on, the logins of the JAAS file `jaas`
    /// loads (`None` when no file is configured). Apache's contradictions and a missing or
    /// unusable section stop start-up.
    pub(super) fn from_properties(
        prop: &dyn Fn(&str) -> Option<String>,
        jaas: impl FnOnce() -> Result<Option<(std::path::PathBuf, JaasConfig)>, SaslConfigError>,
    ) -> Result<Option<QuorumSasl>, SaslConfigError> {
        let get = |key: &str| prop(&format!("zookeeper.{key}"));
        let is_true = |key: &str| get(key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let enabled = is_true(ENABLE_KEY);
        let learner_require = is_true(LEARNER_REQUIRE_KEY);
        let server_require = is_true(SERVER_REQUIRE_KEY);
        let contradiction = |off: &str, on: &str| {
            SaslConfigError::Quorum(format!("{off} is disabled, so cannot enable {on}"))
        };
        if !enabled && server_require {
            return Err(contradiction(ENABLE_KEY, SERVER_REQUIRE_KEY));
        }
        if !enabled && learner_require {
            return Err(contradiction(ENABLE_KEY, LEARNER_REQUIRE_KEY));
        }
        if !learner_require && server_require {
            return Err(contradiction(LEARNER_REQUIRE_KEY, SERVER_REQUIRE_KEY));
        }
        if !enabled {
            return Ok(None);
        }
        let server_context =
            get(SERVER_CONTEXT_KEY).unwrap_or_else(|| DEFAULT_SERVER_CONTEXT.into());
        let learner_context =
            get(LEARNER_CONTEXT_KEY).unwrap_or_else(|| DEFAULT_LEARNER_CONTEXT.into());
        let principal =
            get(SERVICE_PRINCIPAL_KEY).unwrap_or_else(|| DEFAULT_SERVICE_PRINCIPAL.into());
        let Some((path, config)) = jaas()? else {
            return Err(SaslConfigError::Quorum(format!(
                "{ENABLE_KEY}=true needs a JAAS file (java.security.auth.login.config) with the \
                 sections {server_context} and {learner_context}"
            )));
        };
        let options = |section: &str| section_options(&path, &config, section, &principal);
        let server_users: BTreeMap<String, String> = options(&server_context)?
            .into_iter()
            .filter_map(|(key, value)| Some((key.strip_prefix("user_")?.to_string(), value)))
            .collect();
        let learner_options = options(&learner_context)?;
        let option = |name: &str| {
            let found = learner_options.iter().rev().find(|(k, _)| k == name);
            found.map(|(_, v)| v.clone()).ok_or_else(|| {
                SaslConfigError::Quorum(format!(
                    "JAAS section {learner_context} of {}: {DIGEST_LOGIN_MODULE} needs \
                     username=\"...\" and password=\"...\"",
                    path.display()
                ))
            })
        };
        let learner = LearnerLogin {
            username: option("username")?,
            password: option("password")?,
        };
        tracing::info!(
            path = %path.display(),
            server_section = %server_context,
            learner_section = %learner_context,
            users = server_users.len(),
            learner = %learner.username,
            learner_require,
            server_require,
            "quorum SASL (DIGEST-MD5) on"
        );
        Ok(Some(QuorumSasl {
            server_users: Arc::new(server_users),
            learner: Arc::new(learner),
            learner_require,
            server_require,
        }))
    }
}

/// The options of the DIGEST-MD5 login modules of JAAS section `name`, in file order; an error
/// when the section is missing or names another module (Kerberos among them).
fn section_options(
    path: &Path,
    config: &JaasConfig,
    name: &str,
    principal: &str,
) -> Result<Vec<(String, String)>, SaslConfigError> {
    let section = config.section(name).ok_or_else(|| {
        SaslConfigError::Quorum(format!(
            "the JAAS configuration section '{name}' could not be found in {}",
            path.display()
        ))
    })?;
    let mut options = Vec::new();
    for module in &section.modules {
        match module.class.as_str() {
            DIGEST_LOGIN_MODULE => options.extend(module.options.iter().cloned()),
            KRB5_LOGIN_MODULE => {
                return Err(SaslConfigError::Quorum(format!(
                    "JAAS section {name} of {}: quorum SASL with Kerberos (GSSAPI, service \
                     principal {principal}) is not supported by this server; members \
                     authenticate to each other with DIGEST-MD5 through {DIGEST_LOGIN_MODULE}",
                    path.display()
                )));
            }
            other => {
                return Err(SaslConfigError::Quorum(format!(
                    "JAAS section {name} of {}: login module {other} is not supported; quorum \
                     SASL uses {DIGEST_LOGIN_MODULE}",
                    path.display()
                )));
            }
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests;
