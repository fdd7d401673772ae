//! Quorum SASL (`quorum.auth.*`, JAAS sections `QuorumServer` and `QuorumLearner`): three
//! members that require DIGEST-MD5 between them form an ensemble and replicate writes; a member
//! with a wrong password is refused — it never syncs, its campaign never reaches the ensemble, a
//! reconfig that adds it leaves it unsynced while the ensemble keeps serving — and a member with the
//! right password joins, syncs and is added. With SASL enabled but not required, members that
//! authenticate and members that do not meet (a rolling switch).

mod common;

use std::time::Duration;

use common::{
    QUORUM_SASL_REQUIRED, add_member, assert_kept_out, assert_never_synced, create_open,
    founded_and_campaigned, leader_of, quorum_jaas, start_ensemble_with_properties, start_joiner,
    wait_until_synced,
};
use zookeeper_client::Client;

/// Held by each test for its whole run: the ensembles pick free ports ahead of binding them.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_authenticate_and_a_wrong_password_cannot_join_or_vote() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let files = tempfile::tempdir().unwrap();
    let right = quorum_jaas(files.path(), "right.conf", "secret");
    let extra = format!("reconfigEnabled=true\nskipACL=yes\n{QUORUM_SASL_REQUIRED}");
    let members = start_ensemble_with_properties(3, &extra, |_| String::new(), right.clone()).await;
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let term = members[leader].server.context().consensus.term();
    // A write through a follower is forwarded to the leader and replicated to every member.
    let follower = Client::connect(&members[(leader + 1) % 3].connect_string())
        .await
        .unwrap();
    create_open(&follower, "/before").await;
    for member in &members {
        let reader = Client::connect(&member.connect_string()).await.unwrap();
        reader.sync("/").await.unwrap();
        assert!(reader.check_stat("/before").await.unwrap().is_some());
    }

    let wrong = quorum_jaas(files.path(), "wrong.conf", "wrong");
    let (intruder, intruder_line) = start_joiner(&members, 4, QUORUM_SASL_REQUIRED, wrong).await;
    founded_and_campaigned(&[&intruder]).await;
    assert_kept_out(&intruder, &members, term);

    // Added by a reconfig, it is still refused: it never syncs, and the ensemble keeps serving.
    let client = Client::connect(&members[leader].connect_string())
        .await
        .unwrap();
    let added = add_member(&client, &intruder_line).await;
    create_open(&client, "/after").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = format!("the reconfig adding it ({added:?})");
    assert_never_synced(&intruder, 4, &members, &after).await;

    // A member with the right password joins, syncs, and a reconfig makes it a voter.
    let (newcomer, newcomer_line) = start_joiner(&members, 5, QUORUM_SASL_REQUIRED, right).await;
    wait_until_synced(&newcomer).await;
    let client = Client::connect(&members[leader].connect_string())
        .await
        .unwrap();
    add_member(&client, &newcomer_line).await.unwrap();
    create_open(&client, "/with-five").await;
    let reader = Client::connect(&newcomer.connect_string()).await.unwrap();
    reader.sync("/").await.unwrap();
    assert!(reader.check_stat("/with-five").await.unwrap().is_some());
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let progress = members[leader].server.context().consensus.followers();
    assert!(
        progress
            .iter()
            .any(|f| f.member.id == 5 && f.member.voter && f.synced),
        "{progress:?}"
    );
    for server in [intruder, newcomer].into_iter().chain(members) {
        server.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_not_required_lets_members_of_each_step_of_a_switch_meet() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let files = tempfile::tempdir().unwrap();
    let right = quorum_jaas(files.path(), "right.conf", "secret");
    // First step of a switch: the logins are loaded, nobody authenticates yet, SASL is accepted.
    let members = start_ensemble_with_properties(
        3,
        "quorum.auth.enableSasl=true\n",
        |_| String::new(),
        right.clone(),
    )
    .await;
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let client = Client::connect(&members[leader].connect_string())
        .await
        .unwrap();
    create_open(&client, "/switching").await;
    // A member of the second step authenticates to them; one without quorum SASL does not.
    let second_step = "quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\n";
    let (authenticating, _) = start_joiner(&members, 4, second_step, right).await;
    let (plain, _) = start_joiner(&members, 5, "", Vec::new()).await;
    for joiner in [&authenticating, &plain] {
        wait_until_synced(joiner).await;
        let reader = Client::connect(&joiner.connect_string()).await.unwrap();
        reader.sync("/").await.unwrap();
        assert!(reader.check_stat("/switching").await.unwrap().is_some());
    }
    for server in [authenticating, plain].into_iter().chain(members) {
        server.server.shutdown().await;
    }
}
