//! Quorum SASL with Kerberos (GSSAPI) against a real MIT KDC started here. Three members whose
//! `QuorumLearner` sections log in as `learner/127.0.0.1` and whose `QuorumServer` sections accept
//! with the keys of `zkquorum/127.0.0.1` (`quorum.auth.kerberos.servicePrincipal` with `_HOST`),
//! authentication required both ways, form an ensemble, elect a leader, replicate a write and elect
//! another when theirs stops. Members that cannot authenticate are kept out — they never sync and
//! their campaigns never reach the ensemble, which keeps serving — and the log says why: one
//! whose keytab holds another principal's keys, one without a keytab (and no ticket), and one
//! whose principal names a host outside the ensemble (Apache's authorization check).
//!
//! One test function: the GSS-API library reads `KRB5_CONFIG` and `KRB5CCNAME` from the
//! environment, which is set once, before any other thread of this binary exists.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::kdc::{Kdc, REALM};
use common::{
    QUORUM_SASL_REQUIRED, TestServer, assert_kept_out, create_open, founded_and_campaigned,
    leader_of, start_ensemble_with_properties, start_joiner,
};
use zookeeper_client::Client;

/// The learner principal of the members (all on 127.0.0.1).
const LEARNER: &str = "learner/127.0.0.1";

/// The zoo.cfg lines of the members: Kerberos quorum SASL required both ways.
fn quorum_lines() -> String {
    format!("{QUORUM_SASL_REQUIRED}quorum.auth.kerberos.servicePrincipal=zkquorum/_HOST@{REALM}\n")
}

/// The system properties of a member whose JAAS file `name` accepts with the keys of
/// `server_keytab` and logs in as `learner` with `learner_keytab` (without a keytab, from the
/// ticket cache).
fn logins(
    kdc: &Kdc,
    name: &str,
    server_keytab: &Path,
    learner: &str,
    learner_keytab: Option<&Path>,
) -> Vec<(String, String)> {
    let path = kdc.dir.path().join(name);
    let learner_keytab =
        learner_keytab.map_or(String::new(), |k| format!("  keyTab=\"{}\"\n", k.display()));
    std::fs::write(
        &path,
        format!(
            "QuorumServer {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  \
             useKeyTab=true\n  keyTab=\"{}\"\n  storeKey=true\n  \
             principal=\"zkquorum/127.0.0.1@{REALM}\";\n}};\n\
             QuorumLearner {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  \
             useKeyTab=true\n{learner_keytab}  storeKey=true\n  principal=\"{learner}@{REALM}\";\n}};\n",
            server_keytab.display()
        ),
    )
    .unwrap();
    vec![
        (
            "java.security.auth.login.config".to_string(),
            path.display().to_string(),
        ),
        (
            "java.security.krb5.conf".to_string(),
            kdc.krb5_conf.display().to_string(),
        ),
    ]
}

/// The warnings logged by this binary's members.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn capture() -> Log {
        let log = Log::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .init();
        log
    }

    fn assert_says(&self, text: &str) {
        let log = String::from_utf8_lossy(&self.0.lock().unwrap()).to_string();
        assert!(log.contains(text), "no {text:?} in the log:\n{log}");
    }
}

/// Asserts that every member of `members` has `path`.
async fn assert_replicated(members: &[&TestServer], path: &str) {
    for member in members {
        let reader = Client::connect(&member.connect_string()).await.unwrap();
        reader.sync("/").await.unwrap();
        assert!(reader.check_stat(path).await.unwrap().is_some(), "{path}");
    }
}

#[test]
fn members_authenticate_with_kerberos_and_others_are_kept_out() {
    let kdc = Kdc::start();
    let quorum = kdc.keytab("zkquorum/127.0.0.1", "quorum.keytab");
    kdc.keytab(LEARNER, "quorum.keytab");
    let elsewhere = kdc.keytab("learner/elsewhere.example", "elsewhere.keytab");
    let other = kdc.keytab("other/127.0.0.1", "other.keytab");
    // SAFETY: this is the binary's only test and no other thread exists yet. The default ticket
    // cache holds no tickets: a learner without a keytab has none.
    unsafe {
        std::env::set_var("KRB5_CONFIG", &kdc.krb5_conf);
        std::env::set_var(
            "KRB5CCNAME",
            format!("FILE:{}", kdc.dir.path().join("no-tickets").display()),
        );
    }
    let log = Log::capture();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let right = logins(&kdc, "right.conf", &quorum, LEARNER, Some(&quorum));
        let lines = quorum_lines();
        let extra = format!("skipACL=yes\n{lines}");
        let mut members = start_ensemble_with_properties(3, &extra, |_| String::new(), right).await;
        let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
        // A write through a follower is forwarded to the leader and replicated to every member.
        let follower = Client::connect(&members[(leader + 1) % 3].connect_string())
            .await
            .unwrap();
        create_open(&follower, "/kerberos").await;
        assert_replicated(&members.iter().collect::<Vec<_>>(), "/kerberos").await;
        // Every connection between them is authenticated by now.
        let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
        let term = members[leader].server.context().consensus.term();

        let intruders = [
            logins(&kdc, "other.conf", &other, LEARNER, Some(&other)),
            logins(&kdc, "no-keytab.conf", &quorum, LEARNER, None),
            logins(
                &kdc,
                "elsewhere.conf",
                &quorum,
                "learner/elsewhere.example",
                Some(&elsewhere),
            ),
        ];
        let mut outsiders = Vec::new();
        for (id, properties) in (4..).zip(intruders) {
            outsiders.push(start_joiner(&members, id, &lines, properties).await.0);
        }
        founded_and_campaigned(&outsiders.iter().collect::<Vec<_>>()).await;
        for outsider in &outsiders {
            assert_kept_out(outsider, &members, term);
        }
        let client = Client::connect(&members[leader].connect_string())
            .await
            .unwrap();
        create_open(&client, "/still-serving").await;
        log.assert_says(&format!(
            "cannot use the keys of {LEARNER}@{REALM} from keytab {}",
            other.display()
        ));
        log.assert_says(&format!(
            "cannot use the keys of {LEARNER}@{REALM} from keytab (default)"
        ));
        log.assert_says(&format!(
            "learner/elsewhere.example@{REALM} is not authorized to connect"
        ));

        // The leader stops: the other two elect one of them over new authenticated connections.
        let stopped = members.remove(leader);
        stopped.server.shutdown().await;
        let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
        let client = Client::connect(&members[leader].connect_string())
            .await
            .unwrap();
        create_open(&client, "/after-failover").await;
        assert_replicated(&members.iter().collect::<Vec<_>>(), "/after-failover").await;
        for server in outsiders.into_iter().chain(members) {
            server.server.shutdown().await;
        }
    });
}
