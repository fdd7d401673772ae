//! A member cut off from its ensemble, in a three-member ensemble in this process: once the other two
//! are gone it stops presenting itself as leader or follower and, with `readonlymode.enabled`, serves
//! read-only sessions (reads, no writes) as Apache's read-only mode does.

mod common;

use std::time::Duration;

use common::{four_letter_word, start_ensemble};
use zk_server::consensus::Role;
use zookeeper_client::{Acls, Client, CreateMode, Error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_without_its_quorum_turns_read_only() {
    let mut members = start_ensemble(3, "readonlymode.enabled=true\n").await;
    let leader_at = members
        .iter()
        .position(|m| m.server.context().role() == Role::Leader)
        .unwrap();
    let writer = Client::connect(&members[leader_at].connect_string())
        .await
        .unwrap();
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    writer
        .create("/before", b"kept", &persistent)
        .await
        .unwrap();
    drop(writer);
    assert_eq!(
        four_letter_word(members[leader_at].addr(), "isro").await,
        "rw"
    );

    let leader = members.remove(leader_at);
    for follower in members {
        follower.server.shutdown().await;
    }
    // syncLimit (5) ticks of 200 ms without a quorum's acknowledgement.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while leader.server.context().role() != Role::Looking {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a leader without its quorum still reports {:?}",
            leader.server.context().role()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(four_letter_word(leader.addr(), "isro").await, "ro");
    assert!(
        four_letter_word(leader.addr(), "srvr")
            .await
            .contains("Mode: read-only\n")
    );

    let reader = Client::connector()
        .with_readonly(true)
        .connect(&leader.connect_string())
        .await
        .unwrap();
    let (data, _) = reader.get_data("/before").await.unwrap();
    assert_eq!(data, b"kept");
    let refused = reader.create("/after", b"", &persistent).await;
    assert!(matches!(refused, Err(Error::NotReadOnly)), "{refused:?}");
    let refused = reader.set_data("/before", b"changed", None).await;
    assert!(matches!(refused, Err(Error::NotReadOnly)), "{refused:?}");
    let (data, _) = reader.get_data("/before").await.unwrap();
    assert_eq!(data, b"kept", "nothing changed");
}
