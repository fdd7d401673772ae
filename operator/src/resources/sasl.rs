//! `spec.auth`: the members' JAAS file, rendered from the users Secret (and, with `quorum`, from the quorum
//! credential the operator generates) into a Secret of its own mounted in every member, and the zoo.cfg lines
//! and Java flag that put it to use. Both servers read the same file, settings and flag (`zk-server` reads
//! `SERVER_JVMFLAGS` as Apache's scripts do).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Secret, SecretVolumeSource, Volume, VolumeMount};
use kube::ResourceExt;

use super::meta::{owned_meta, selector_labels};
use crate::types::ZkEnsemble;

/// Key of the JAAS file in the Secret the operator renders.
pub const JAAS_KEY: &str = "jaas.conf";
/// Key of the quorum password in `<name>-quorum-sasl`.
pub const QUORUM_PASSWORD_KEY: &str = "password";
/// The user members authenticate to each other as.
pub const QUORUM_USER: &str = "zkquorum";
/// Where the JAAS Secret is mounted in a member.
const JAAS_DIR: &str = "/sasl";
/// The name of the JAAS volume in the member pod.
const JAAS_VOLUME: &str = "sasl";
/// The JAAS login module of DIGEST-MD5 users, on both servers.
const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// Why the users Secret cannot make a JAAS file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SaslUsersError {
    /// The Secret lists no user.
    #[error("it lists no user")]
    Empty,
    /// A password holds what a JAAS file cannot carry.
    #[error(
        "the password of {0:?} contains a line break or \"${{\", which a JAAS file cannot carry"
    )]
    Unrepresentable(String),
}

/// Name of the Secret holding the rendered JAAS file.
pub fn jaas_secret_name(zk: &ZkEnsemble) -> String {
    format!("{}-sasl-jaas", zk.name_any())
}

/// Name of the Secret holding the quorum credential (`spec.auth.quorum`).
pub fn quorum_secret_name(zk: &ZkEnsemble) -> String {
    format!("{}-quorum-sasl", zk.name_any())
}

/// `value` as a JAAS quoted string.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The JAAS file: a `Server` section with `users` (name → password) and, given the quorum password, the
/// `QuorumServer` and `QuorumLearner` sections of [`QUORUM_USER`].
pub fn jaas_config(
    users: &BTreeMap<String, String>,
    quorum_password: Option<&str>,
) -> Result<String, SaslUsersError> {
    if users.is_empty() {
        return Err(SaslUsersError::Empty);
    }
    let passwords = users.iter().map(|(n, p)| (n.as_str(), p.as_str()));
    for (name, password) in passwords.chain(quorum_password.map(|p| (QUORUM_USER, p))) {
        if password.contains(['\n', '\r']) || password.contains("${") {
            return Err(SaslUsersError::Unrepresentable(name.to_string()));
        }
    }
    let section = |name: &str, options: Vec<String>| {
        format!(
            "{name} {{\n    {DIGEST_LOGIN_MODULE} required\n    {};\n}};\n",
            options.join("\n    ")
        )
    };
    let user_options = users
        .iter()
        .map(|(name, password)| format!("user_{name}={}", quoted(password)))
        .collect();
    let mut text = section("Server", user_options);
    if let Some(password) = quorum_password {
        let password = quoted(password);
        text.push_str(&section(
            "QuorumServer",
            vec![format!("user_{QUORUM_USER}={password}")],
        ));
        text.push_str(&section(
            "QuorumLearner",
            vec![
                format!("username=\"{QUORUM_USER}\""),
                format!("password={password}"),
            ],
        ));
    }
    Ok(text)
}

/// The Secret holding the JAAS file `jaas`.
pub fn jaas_secret(zk: &ZkEnsemble, jaas: &str) -> Secret {
    Secret {
        metadata: owned_meta(zk, jaas_secret_name(zk), selector_labels(zk)),
        string_data: Some(BTreeMap::from([(JAAS_KEY.to_string(), jaas.to_string())])),
        ..Secret::default()
    }
}

/// The quorum credential Secret for `password`.
pub fn quorum_secret(zk: &ZkEnsemble, password: &str) -> Secret {
    Secret {
        metadata: owned_meta(zk, quorum_secret_name(zk), selector_labels(zk)),
        string_data: Some(BTreeMap::from([(
            QUORUM_PASSWORD_KEY.to_string(),
            password.to_string(),
        )])),
        ..Secret::default()
    }
}

/// The zoo.cfg lines of `spec.auth`: the `sasl` ACL scheme, and quorum SASL required both ways.
pub fn config_lines(zk: &ZkEnsemble) -> Vec<String> {
    let Some(auth) = &zk.spec.auth else {
        return Vec::new();
    };
    let mut lines =
        vec!["authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider".into()];
    if auth.quorum {
        lines.extend([
            "quorum.auth.enableSasl=true".to_string(),
            "quorum.auth.learnerRequireSasl=true".to_string(),
            "quorum.auth.serverRequireSasl=true".to_string(),
        ]);
    }
    lines
}

/// The Java flag naming the JAAS file, with `spec.auth`.
pub fn jvm_flag(zk: &ZkEnsemble) -> Option<String> {
    zk.spec
        .auth
        .as_ref()
        .map(|_| format!("-Djava.security.auth.login.config={JAAS_DIR}/{JAAS_KEY}"))
}

/// The JAAS volume, with `spec.auth`.
pub fn volume(zk: &ZkEnsemble) -> Option<Volume> {
    zk.spec.auth.as_ref().map(|_| Volume {
        name: JAAS_VOLUME.to_string(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(jaas_secret_name(zk)),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    })
}

/// The JAAS volume's mount, with `spec.auth`.
pub fn volume_mount(zk: &ZkEnsemble) -> Option<VolumeMount> {
    zk.spec.auth.as_ref().map(|_| VolumeMount {
        name: JAAS_VOLUME.to_string(),
        mount_path: JAAS_DIR.to_string(),
        read_only: Some(true),
        ..VolumeMount::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ensemble(auth: &str) -> ZkEnsemble {
        serde_yaml::from_str(&format!(
            "apiVersion: zookeeper.zkops.dev/v1alpha1\nkind: ZkEnsemble\nmetadata:\n  name: demo\n  \
             namespace: ns\nspec:\n  replicas: 3\n{auth}"
        ))
        .unwrap()
    }

    fn users() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("alice".to_string(), "a\"b\\c".to_string()),
            ("bob".to_string(), "bob-secret".to_string()),
        ])
    }

    #[test]
    fn jaas_lists_the_users_and_the_quorum_credential() {
        let text = jaas_config(&users(), Some("q")).unwrap();
        assert_eq!(
            text,
            "Server {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n    \
             user_alice=\"a\\\"b\\\\c\"\n    user_bob=\"bob-secret\";\n};\n\
             QuorumServer {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n    \
             user_zkquorum=\"q\";\n};\n\
             QuorumLearner {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n    \
             username=\"zkquorum\"\n    password=\"q\";\n};\n"
        );
        let clients_only = jaas_config(&users(), None).unwrap();
        assert!(!clients_only.contains("Quorum"), "{clients_only}");
    }

    #[test]
    fn users_a_jaas_file_cannot_carry_are_refused() {
        assert_eq!(
            jaas_config(&BTreeMap::new(), None),
            Err(SaslUsersError::Empty)
        );
        for password in ["a\nb", "x${user.home}"] {
            let users = BTreeMap::from([("eve".to_string(), password.to_string())]);
            assert_eq!(
                jaas_config(&users, None),
                Err(SaslUsersError::Unrepresentable("eve".into()))
            );
        }
    }

    #[test]
    fn config_flag_and_volume_follow_the_spec() {
        let none = ensemble("");
        assert!(config_lines(&none).is_empty());
        assert!(jvm_flag(&none).is_none() && volume(&none).is_none());
        let clients = ensemble("  auth:\n    saslUsersSecret: users\n");
        assert_eq!(
            config_lines(&clients),
            ["authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"]
        );
        assert_eq!(
            jvm_flag(&clients).as_deref(),
            Some("-Djava.security.auth.login.config=/sasl/jaas.conf")
        );
        let secret = volume(&clients).unwrap().secret.unwrap().secret_name;
        assert_eq!(secret.as_deref(), Some("demo-sasl-jaas"));
        let quorum = ensemble("  auth:\n    saslUsersSecret: users\n    quorum: true\n");
        let lines = config_lines(&quorum);
        for key in ["enableSasl", "learnerRequireSasl", "serverRequireSasl"] {
            assert!(
                lines.contains(&format!("quorum.auth.{key}=true")),
                "{lines:?}"
            );
        }
        assert_eq!(quorum_secret_name(&quorum), "demo-quorum-sasl");
    }

    #[test]
    fn members_of_both_flavours_get_the_jaas_file_and_its_flag() {
        for (flavour, super_digest_flag) in [("Native", false), ("Apache", true)] {
            let zk = ensemble(&format!(
                "  flavour: {flavour}\n  auth:\n    saslUsersSecret: users\n"
            ));
            let pod = crate::resources::pod::pod_template(&zk, 1, "image");
            let spec = pod.spec.unwrap();
            let container = &spec.containers[0];
            let flags = container
                .env
                .iter()
                .flatten()
                .find(|e| e.name == "SERVER_JVMFLAGS")
                .and_then(|e| e.value.clone())
                .unwrap();
            assert!(
                flags.contains("-Djava.security.auth.login.config=/sasl/jaas.conf"),
                "{flags}"
            );
            assert_eq!(flags.contains("superDigest"), super_digest_flag, "{flags}");
            let mounts = container.volume_mounts.as_ref().unwrap();
            assert!(mounts.iter().any(|m| m.mount_path == "/sasl"));
            let volumes = spec.volumes.unwrap();
            assert!(volumes.iter().any(|v| v.name == JAAS_VOLUME));
            let config = crate::resources::config_map::static_config(&zk);
            assert!(config.contains("authProvider.1="), "{config}");
        }
    }
}
