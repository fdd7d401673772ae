//! The ZooKeeper adapter and the start script against real Apache ZooKeeper 3.8 (Debian's `zookeeper`
//! package) on loopback: a one-member seed grows to two by reconfig and shrinks back, a joiner restarted before
//! it was added boots again, and a reconfig on a stale version is refused.

mod common;

use std::time::Duration;

use common::apache::{ApacheMember, loopback_line};
use zk_operator::ensemble_config::EnsembleConfig;
use zk_operator::planner::Role;
use zk_operator::zk::{Endpoint, EnsembleClient, Transport, ZkError};

const PASSWORD: &str = "reconfig-test-password";
const TIMEOUT: Duration = Duration::from_secs(10);

/// Member `id` with a plain client port, started from `bootstrap` plus itself.
fn member(id: u32, bootstrap: &EnsembleConfig) -> ApacheMember {
    let settings = "tickTime=500\ninitLimit=10\nsyncLimit=5\nstandaloneEnabled=false\nreconfigEnabled=true\n\
        4lw.commands.whitelist=mntr,srvr,ruok\nadmin.enableServer=true\n";
    let line = loopback_line(id);
    let client = Endpoint {
        address: line.client_address.clone().unwrap(),
        host: line.host.clone(),
    };
    ApacheMember::new(
        id,
        bootstrap,
        line,
        settings,
        PASSWORD,
        (client, Transport::Plain),
    )
}

#[tokio::test]
#[ignore = "needs Debian's zookeeper and libservlet-api-java packages and a JRE; run with --ignored"]
async fn grow_and_shrink_a_live_ensemble_by_reconfig() {
    let mut seed = member(1, &EnsembleConfig::default());
    seed.start();
    seed.wait_synced(Role::Leader).await;
    assert_eq!(
        seed.probe().await,
        "HTTP/1.1 200 OK",
        "the readiness and liveness probe answers"
    );

    let client =
        EnsembleClient::connect(&[seed.client.clone()], &Transport::Plain, PASSWORD, TIMEOUT)
            .await
            .unwrap();
    let committed = client.committed_config().await.unwrap();
    assert_eq!(committed.participants().collect::<Vec<_>>(), vec![1]);
    assert!(committed.version > 0);

    // A joiner starts from the committed config plus itself and follows without a vote.
    let mut joiner = member(2, &committed);
    joiner.start();
    joiner.wait_synced(Role::Follower).await;
    // Restarted before it was added (its server has rewritten its dynamic file without itself), it boots again.
    joiner.stop();
    let rewritten = std::fs::read_dir(joiner.scratch.path("conf"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().contains("zoo.cfg.dynamic."))
        .max()
        .expect("the joiner's server wrote the leader's config");
    assert!(
        !std::fs::read_to_string(rewritten)
            .unwrap()
            .contains("server.2=")
    );
    joiner.start();
    joiner.wait_synced(Role::Follower).await;

    let grown = joiner.added(&client, committed.version, &[1, 2]).await;
    let again = client
        .ensure_added(&joiner.line, committed.version)
        .await
        .unwrap();
    assert_eq!(again, grown, "adding a voter again is a no-op");

    // A removal conditioned on the version from before the add is refused, and nothing changes.
    match client.ensure_removed(2, committed.version).await {
        Err(ZkError::ConfigMoved { expected, found }) => {
            assert_eq!((expected, found), (committed.version, grown.version))
        }
        other => panic!("expected ConfigMoved, got {other:?}"),
    }

    let shrunk = client.ensure_removed(2, grown.version).await.unwrap();
    assert_eq!(shrunk.participants().collect::<Vec<_>>(), vec![1]);
    client.confirm_quorum_write("removed 2").await.unwrap();
    assert_eq!(client.committed_config().await.unwrap(), shrunk);

    // The wrong password is not the super user: reconfig is refused.
    let intruder =
        EnsembleClient::connect(&[seed.client.clone()], &Transport::Plain, "wrong", TIMEOUT)
            .await
            .unwrap();
    let refused = intruder.ensure_added(&joiner.line, shrunk.version).await;
    assert!(
        matches!(
            refused,
            Err(ZkError::Client {
                call: "reconfig",
                ..
            })
        ),
        "{refused:?}"
    );
}
