//! Quorum SASL: members authenticating to each other with DIGEST-MD5 or Kerberos (GSSAPI), with
//! Apache ZooKeeper's settings (zoo.cfg keys `quorum.auth.*`) and JAAS sections (`QuorumServer`,
//! `QuorumLearner`).
//!
//! The member that opens a connection is the learner, the member that accepts it the server.
//! With DIGEST-MD5 the learner authenticates with the `username` and `password` of its learner
//! section; the server checks them against the `user_<name>="<password>"` options of its server
//! section, and proves in turn that it knows the password. With Kerberos (a `Krb5LoginModule` in
//! each section) the learner logs in as the `principal` of its learner section with the keys of
//! its `keyTab`, and asks for a ticket for `quorum.auth.kerberos.servicePrincipal`, `_HOST` there
//! replaced by the host of the member it connects to; the server accepts it with the keys of its
//! server section's keytab and proves in turn that it holds them (mutual authentication). Either
//! way, as in Apache, a learner whose name is `name/host@REALM` is let in only when `host` is the
//! host of a member in the server lines (`authorized_hosts`).
//!
//! As in Apache, `quorum.auth.enableSasl` loads the logins; `quorum.auth.learnerRequireSasl`
//! makes the learner authenticate (and give up a connection whose exchange fails);
//! `quorum.auth.serverRequireSasl` makes the server refuse a member that does not authenticate.
//! Without the last two, members that do not authenticate are let through, so that
//! an ensemble can turn quorum SASL on one member at a time.
//!
//! `handshake` runs the exchange on a new connection, before anything else is sent on it.

mod handshake;

use std::collections::BTreeSet;
use std::sync::Arc;

pub use handshake::{Admission, QuorumAuthError, Replayed};

use super::jaas::JaasConfig;
use super::{
    DIGEST_LOGIN_MODULE, KerberosInitiator, SaslConfigError, SaslLogin, SectionLogin,
    kerberos_error, server_login,
};

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
/// `quorum.auth.kerberos.servicePrincipal`: the principal a Kerberos learner asks a ticket for.
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

/// How this member authenticates as a learner.
enum LearnerLogin {
    /// DIGEST-MD5 with a user name and password (the password stays out of logs).
    Digest {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// Kerberos with a principal and keytab.
    Kerberos(KerberosInitiator),
}

impl LearnerLogin {
    /// Who the learner authenticates as.
    fn name(&self) -> &str {
        match self {
            LearnerLogin::Digest { username, .. } => username,
            LearnerLogin::Kerberos(login) => login.principal(),
        }
    }
}

/// Quorum SASL in force (`quorum.auth.enableSasl=true`).
#[derive(Clone)]
pub struct QuorumSasl {
    server: SaslLogin,
    learner: Arc<LearnerLogin>,
    service_principal: String,
    authorized_hosts: Arc<BTreeSet<String>>,
    learner_require: bool,
    server_require: bool,
}

impl std::fmt::Debug for QuorumSasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuorumSasl")
            .field("server", &self.server)
            .field("learner", &self.learner.name())
            .field("service_principal", &self.service_principal)
            .field("authorized_hosts", &self.authorized_hosts)
            .field("learner_require", &self.learner_require)
            .field("server_require", &self.server_require)
            .finish()
    }
}

impl QuorumSasl {
    /// Reads the quorum SASL settings (system properties, zoo.cfg keys prefixed with
    /// `zookeeper.`) and, when `quorum.auth.enableSasl` is on, the logins of the JAAS file `jaas`
    /// loads (`None` when no file is configured); `default_realm` completes Kerberos principals
    /// without a realm. Apache's contradictions and a missing or unusable section stop start-up.
    pub(super) fn from_properties(
        prop: &dyn Fn(&str) -> Option<String>,
        jaas: impl FnOnce() -> Result<Option<(std::path::PathBuf, JaasConfig)>, SaslConfigError>,
        default_realm: &str,
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
        let service_principal =
            get(SERVICE_PRINCIPAL_KEY).unwrap_or_else(|| DEFAULT_SERVICE_PRINCIPAL.into());
        let Some((path, config)) = jaas()? else {
            return Err(SaslConfigError::Quorum(format!(
                "{ENABLE_KEY}=true needs a JAAS file (java.security.auth.login.config) with the \
                 sections {server_context} and {learner_context}"
            )));
        };
        let section = |name: &str| {
            config.section(name).ok_or_else(|| {
                SaslConfigError::Quorum(format!(
                    "the JAAS configuration section '{name}' could not be found in {}",
                    path.display()
                ))
            })
        };
        let server = server_login(&path, section(&server_context)?, default_realm)?;
        let learner_section = section(&learner_context)?;
        let learner = match SectionLogin::of(&path, learner_section)? {
            SectionLogin::Kerberos(options) => {
                KerberosInitiator::from_options(options, default_realm)
                    .map(LearnerLogin::Kerberos)
                    .map_err(|source| kerberos_error(&path, learner_section, source))?
            }
            SectionLogin::Digest(options) => {
                let option = |name: &str| {
                    let found = options.iter().rev().find(|(k, _)| k == name);
                    found.map(|(_, v)| v.clone()).ok_or_else(|| {
                        SaslConfigError::Quorum(format!(
                            "JAAS section {learner_context} of {}: {DIGEST_LOGIN_MODULE} needs \
                             username=\"...\" and password=\"...\"",
                            path.display()
                        ))
                    })
                };
                LearnerLogin::Digest {
                    username: option("username")?,
                    password: option("password")?,
                }
            }
        };
        let mechanism = |kerberos| if kerberos { "GSSAPI" } else { "DIGEST-MD5" };
        let server_mechanism = mechanism(matches!(server, SaslLogin::Kerberos(_)));
        let learner_mechanism = mechanism(matches!(learner, LearnerLogin::Kerberos(_)));
        let mechanisms = if server_mechanism == learner_mechanism {
            server_mechanism.to_string()
        } else {
            format!("{server_mechanism} as server, {learner_mechanism} as learner")
        };
        tracing::info!(
            path = %path.display(),
            server_section = %server_context,
            learner_section = %learner_context,
            learner = %learner.name(),
            service_principal = %service_principal,
            learner_require,
            server_require,
            "quorum SASL ({mechanisms}) on"
        );
        Ok(Some(QuorumSasl {
            server,
            learner: Arc::new(learner),
            service_principal,
            authorized_hosts: Arc::default(),
            learner_require,
            server_require,
        }))
    }

    /// These settings, letting in learners of the hosts `hosts` (the hosts of the members'
    /// quorum addresses, as in the server lines at start-up; Apache's `authzHosts`).
    pub fn with_authorized_hosts(self, hosts: impl IntoIterator<Item = String>) -> QuorumSasl {
        QuorumSasl {
            authorized_hosts: Arc::new(hosts.into_iter().collect()),
            ..self
        }
    }

    /// Whether a learner authenticated as `name` may connect: a name `name/host@REALM` only from
    /// a host of the ensemble (Apache's check of the authorized id's components).
    fn is_authorized(&self, name: &str) -> bool {
        let components: Vec<&str> = name.split(['/', '@']).collect();
        components.len() != 3 || self.authorized_hosts.contains(components[1])
    }

    /// The service principal to ask a ticket for when connecting to a member at `host`:
    /// `service/_HOST[@REALM]` becomes `service/host[@REALM]`, the host in lower case (Apache's
    /// `SecurityUtils.getServerPrincipal`).
    fn service_principal_for(&self, host: &str) -> String {
        let (name, realm) = match self.service_principal.split_once('@') {
            Some((name, realm)) => (name, Some(realm)),
            None => (self.service_principal.as_str(), None),
        };
        match name.split_once('/') {
            Some((service, "_HOST")) => {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let mut principal = format!("{service}/{}", host.to_lowercase());
                if let Some(realm) = realm {
                    principal.push('@');
                    principal.push_str(realm);
                }
                principal
            }
            _ => self.service_principal.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
