//! The quorum SASL settings and the exchange between two members over an in-memory pipe.

use std::collections::BTreeMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

use super::handshake::MAGIC;
use super::*;
use crate::sasl::SaslConfig;

const JAAS: &str = "QuorumServer {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n \
                    user_test=\"secret\";\n};\nQuorumLearner {\n \
                    org.apache.zookeeper.server.auth.DigestLoginModule required\n \
                    username=\"test\"\n password=\"secret\";\n};\n";

/// The SASL settings of `jaas` (written to a file) and the zoo.cfg `keys`.
fn load(jaas: &str, keys: &[(&str, &str)]) -> Result<Option<QuorumSasl>, SaslConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jaas.conf");
    std::fs::write(&path, jaas).unwrap();
    let mut props: BTreeMap<String, String> = keys
        .iter()
        .map(|(k, v)| (format!("zookeeper.{k}"), v.to_string()))
        .collect();
    props.insert(
        "java.security.auth.login.config".into(),
        path.display().to_string(),
    );
    SaslConfig::from_properties(&props).map(|config| config.quorum)
}

fn required() -> QuorumSasl {
    load(
        JAAS,
        &[
            (ENABLE_KEY, "true"),
            (LEARNER_REQUIRE_KEY, "true"),
            (SERVER_REQUIRE_KEY, "true"),
        ],
    )
    .unwrap()
    .unwrap()
}

/// `sasl` with the learner's password replaced.
fn with_password(sasl: &QuorumSasl, password: &str) -> QuorumSasl {
    QuorumSasl {
        learner: Arc::new(LearnerLogin::Digest {
            username: sasl.learner.name().to_string(),
            password: password.into(),
        }),
        ..sasl.clone()
    }
}

/// The DIGEST-MD5 users of `sasl`'s server section.
fn server_users(sasl: &QuorumSasl) -> &BTreeMap<String, String> {
    match &sasl.server {
        SaslLogin::Digest(users) => users,
        SaslLogin::Kerberos(login) => panic!("a DIGEST-MD5 server section: {login:?}"),
    }
}

#[test]
fn settings_follow_apache() {
    assert!(load(JAAS, &[]).unwrap().is_none(), "off by default");
    let sasl = load(JAAS, &[(ENABLE_KEY, "true")]).unwrap().unwrap();
    assert!(!sasl.learner_require && !sasl.server_require);
    assert_eq!(sasl.learner.name(), "test");
    assert_eq!(
        server_users(&sasl).get("test").map(String::as_str),
        Some("secret")
    );
    assert!(
        !format!("{sasl:?}").contains("secret"),
        "passwords stay out of logs"
    );
    let sasl = required();
    assert!(sasl.learner_require && sasl.server_require);
    for (keys, message) in [
        (
            &[(SERVER_REQUIRE_KEY, "true")][..],
            "quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl",
        ),
        (
            &[(LEARNER_REQUIRE_KEY, "true")][..],
            "quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl",
        ),
        (
            &[(ENABLE_KEY, "true"), (SERVER_REQUIRE_KEY, "true")][..],
            "quorum.auth.learnerRequireSasl is disabled, so cannot enable \
             quorum.auth.serverRequireSasl",
        ),
    ] {
        let err = load(JAAS, keys).unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
    }
}

#[test]
fn sections_are_found_by_their_context_names_and_must_be_usable() {
    let renamed = JAAS
        .replace("QuorumServer", "PeerIn")
        .replace("QuorumLearner", "PeerOut");
    let err = load(&renamed, &[(ENABLE_KEY, "true")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("'QuorumServer' could not be found"),
        "{err}"
    );
    let sasl = load(
        &renamed,
        &[
            (ENABLE_KEY, "true"),
            (SERVER_CONTEXT_KEY, "PeerIn"),
            (LEARNER_CONTEXT_KEY, "PeerOut"),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(sasl.learner.name(), "test");

    let no_password = JAAS.replace("password=\"secret\"", "");
    let err = load(&no_password, &[(ENABLE_KEY, "true")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("needs username=\"...\" and password"),
        "{err}"
    );

    let kerberos_learner = JAAS.replace(
        "org.apache.zookeeper.server.auth.DigestLoginModule required\n username=\"test\"\n \
         password=\"secret\"",
        "com.sun.security.auth.module.Krb5LoginModule required principal=\"learner/h@R\" \
         keyTab=\"/no/such.keytab\"",
    );
    // The learner's tickets are fetched for each connection: the section only has to be whole.
    let sasl = load(&kerberos_learner, &[(ENABLE_KEY, "true")])
        .unwrap()
        .unwrap();
    assert_eq!(sasl.learner.name(), "learner/h@R");
    let no_principal = kerberos_learner.replace("principal=\"learner/h@R\"", "");
    let err = load(&no_principal, &[(ENABLE_KEY, "true")]).unwrap_err();
    assert!(err.to_string().contains("needs principal="), "{err}");

    // The server's keys are read at start-up: a keytab that cannot be read stops it.
    let kerberos_server = JAAS.replace(
        "org.apache.zookeeper.server.auth.DigestLoginModule required\n user_test=\"secret\"",
        "com.sun.security.auth.module.Krb5LoginModule required principal=\"zkquorum/h@R\" \
         keyTab=\"/no/such.keytab\"",
    );
    let err = load(&kerberos_server, &[(ENABLE_KEY, "true")]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("QuorumServer") && text.contains("/no/such.keytab"),
        "{text}"
    );

    let other = JAAS.replace(
        "org.apache.zookeeper.server.auth.DigestLoginModule required\n username",
        "org.example.OtherModule required\n username",
    );
    let err = load(&other, &[(ENABLE_KEY, "true")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("login module org.example.OtherModule is not supported"),
        "{err}"
    );
}

#[test]
fn host_pattern_and_authorized_hosts_follow_apache() {
    let sasl = required().with_authorized_hosts(["zk-1.example".to_string()]);
    let with = |principal: &str| QuorumSasl {
        service_principal: principal.into(),
        ..sasl.clone()
    };
    assert_eq!(
        with("zkquorum/_HOST@R").service_principal_for("ZK-2.Example"),
        "zkquorum/zk-2.example@R"
    );
    assert_eq!(
        with("zkquorum/_HOST").service_principal_for("[::1]"),
        "zkquorum/::1"
    );
    assert_eq!(
        with("zkquorum/fixed@R").service_principal_for("zk-2"),
        "zkquorum/fixed@R"
    );
    assert!(sasl.is_authorized("learner/zk-1.example@R"));
    assert!(!sasl.is_authorized("learner/elsewhere@R"));
    assert!(
        sasl.is_authorized("learner@R") && sasl.is_authorized("test"),
        "names without a host are not checked"
    );
}

#[test]
fn quorum_keys_are_known_properties() {
    for key in [ENABLE_KEY, LEARNER_REQUIRE_KEY, SERVICE_PRINCIPAL_KEY] {
        assert!(crate::sasl::is_known_property(&format!("zookeeper.{key}")));
    }
}

/// Runs the learner `learner` against the server `server` over a pipe; the learner's result,
/// and the server's (with what the learner sends after the exchange, as the server reads it).
async fn meet(
    learner: &QuorumSasl,
    server: &QuorumSasl,
) -> (
    Result<(), QuorumAuthError>,
    Result<(Admission, Vec<u8>), QuorumAuthError>,
) {
    let (mut a, b) = duplex(4096);
    let server = server.clone();
    let accepted = tokio::spawn(async move {
        let (mut stream, admission) = server.admit(b).await?;
        let mut after = [0u8; 5];
        stream.read_exact(&mut after).await?;
        Ok((admission, after.to_vec()))
    });
    let learned = learner.authenticate(&mut a, "127.0.0.1").await;
    if learned.is_ok() {
        a.write_all(b"hello").await.unwrap();
    } else {
        drop(a);
    }
    (learned, accepted.await.unwrap())
}

#[tokio::test]
async fn right_credentials_authenticate_and_the_connection_goes_on() {
    let sasl = required();
    let (learned, served) = meet(&sasl, &sasl).await;
    learned.unwrap();
    let (admission, after) = served.unwrap();
    assert_eq!(admission, Admission::Authenticated("test".into()));
    assert_eq!(after, b"hello");
}

#[tokio::test]
async fn wrong_password_is_refused_on_both_sides_when_required() {
    let sasl = required();
    let (learned, served) = meet(&with_password(&sasl, "wrong"), &sasl).await;
    assert!(
        matches!(learned, Err(QuorumAuthError::Refused)),
        "{learned:?}"
    );
    let err = served.unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot authenticate user \"test\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_with_another_password_refuses_the_learner() {
    let sasl = required();
    let impostor = QuorumSasl {
        server: SaslLogin::Digest(Arc::new(BTreeMap::from([("test".into(), "wrong".into())]))),
        ..sasl.clone()
    };
    // The learner knows "secret", the server "wrong": the server refuses the response.
    let (learned, _) = meet(&sasl, &impostor).await;
    assert!(
        matches!(learned, Err(QuorumAuthError::Refused)),
        "{learned:?}"
    );
}

#[tokio::test]
async fn optional_sasl_lets_members_that_do_not_authenticate_through() {
    let optional = load(JAAS, &[(ENABLE_KEY, "true")]).unwrap().unwrap();
    // A learner that does not require SASL sends its requests at once: they arrive whole.
    let (learned, served) = meet(&optional, &optional).await;
    learned.unwrap();
    let (admission, after) = served.unwrap();
    assert_eq!(admission, Admission::NotTried);
    assert_eq!(after, b"hello");
    // A server that requires SASL refuses it.
    let (_, served) = meet(&optional, &required()).await;
    assert!(
        matches!(served, Err(QuorumAuthError::NotTrying)),
        "{served:?}"
    );
    // A learner whose exchange fails is let through by a server that does not require SASL, but
    // gives the connection up itself.
    let learner = with_password(&required(), "wrong");
    let (learned, served) = meet(&learner, &optional).await;
    assert!(matches!(learned, Err(QuorumAuthError::Refused)));
    assert!(served.is_err(), "the learner closed the connection");
}

#[tokio::test]
async fn a_member_that_does_not_speak_quorum_sasl_fails_the_learner() {
    let (mut a, mut b) = duplex(4096);
    let peer = tokio::spawn(async move {
        let mut first = [0u8; 4];
        b.read_exact(&mut first).await.unwrap();
        assert_eq!(first, MAGIC);
        // Read as a frame length, the magic is far too large: such a member hangs up.
    });
    let learned = required().authenticate(&mut a, "127.0.0.1").await;
    peer.await.unwrap();
    assert!(
        matches!(learned, Err(QuorumAuthError::Io(_))),
        "{learned:?}"
    );
}

#[tokio::test]
async fn oversized_tokens_are_refused() {
    let (mut a, b) = duplex(4096);
    let server = required();
    let accepted = tokio::spawn(async move { server.admit(b).await.map(|(_, a)| a) });
    a.write_all(&MAGIC).await.unwrap();
    a.write_all(&1i32.to_be_bytes()).await.unwrap();
    a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let served = accepted.await.unwrap();
    assert!(
        matches!(served, Err(QuorumAuthError::Protocol(_))),
        "{served:?}"
    );
}
