//! The data tree, watches and multi as a real client sees them (the `zookeeper-client` crate against an
//! in-process server): recursive watches, multi rollback, multiRead, ephemerals of a closed session.

mod common;

use std::time::Duration;

use common::start;
use zookeeper_client::{
    Acls, AddWatchMode, Client, CreateMode, Error, EventType, MultiReadResult, MultiWriteError,
};

async fn next_event(watcher: &mut zookeeper_client::PersistentWatcher) -> (EventType, String) {
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.changed())
        .await
        .expect("an event within 10 s");
    (event.event_type, event.path)
}

#[tokio::test]
async fn a_recursive_watch_sees_every_descendant_change_in_order() {
    let server = start("").await;
    let watcher = Client::connect(&server.connect_string()).await.unwrap();
    let writer = Client::connect(&server.connect_string()).await.unwrap();
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    writer.create("/r", b"", &options).await.unwrap();
    let mut watch = watcher
        .watch("/r", AddWatchMode::PersistentRecursive)
        .await
        .unwrap();
    writer.create("/r/a", b"1", &options).await.unwrap();
    writer.create("/r/a/b", b"2", &options).await.unwrap();
    writer.set_data("/r/a", b"3", None).await.unwrap();
    writer.delete("/r/a/b", None).await.unwrap();
    let expected = [
        (EventType::NodeCreated, "/r/a"),
        (EventType::NodeCreated, "/r/a/b"),
        (EventType::NodeDataChanged, "/r/a"),
        (EventType::NodeDeleted, "/r/a/b"),
    ];
    for (event_type, path) in expected {
        assert_eq!(next_event(&mut watch).await, (event_type, path.to_string()));
    }
}

#[tokio::test]
async fn a_failed_multi_changes_nothing_and_names_the_failing_operation() {
    let server = start("").await;
    let client = Client::connect(&server.connect_string()).await.unwrap();
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    client.create("/m", b"", &options).await.unwrap();
    let (_, before) = client.get_data("/m").await.unwrap();
    let mut multi = client.new_multi_writer();
    multi.add_create("/m/a", b"", &options).unwrap();
    multi.add_check_version("/m", 7).unwrap();
    multi.add_delete("/m", None).unwrap();
    let err = multi.commit().await.unwrap_err();
    assert!(
        matches!(
            err,
            MultiWriteError::OperationFailed {
                index: 1,
                source: Error::BadVersion
            }
        ),
        "{err:?}"
    );
    assert!(client.check_stat("/m/a").await.unwrap().is_none());
    let (_, after) = client.get_data("/m").await.unwrap();
    assert_eq!(
        (after.cversion, after.pzxid),
        (before.cversion, before.pzxid)
    );

    let mut reader = client.new_multi_reader();
    reader.add_get_data("/m").unwrap();
    reader.add_get_children("/missing").unwrap();
    let results = reader.commit().await.unwrap();
    assert!(matches!(results[0], MultiReadResult::Data { .. }));
    assert!(matches!(
        results[1],
        MultiReadResult::Error { err: Error::NoNode }
    ));
}

#[tokio::test]
async fn ephemerals_go_with_their_session_and_sequence_numbers_follow_cversion() {
    let server = start("").await;
    let owner = Client::connect(&server.connect_string()).await.unwrap();
    let observer = Client::connect(&server.connect_string()).await.unwrap();
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let ephemeral = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    owner.create("/e", b"", &persistent).await.unwrap();
    let (_, first) = owner.create("/e/n-", b"", &ephemeral).await.unwrap();
    let (_, second) = owner.create("/e/n-", b"", &ephemeral).await.unwrap();
    assert_eq!((first.into_i64(), second.into_i64()), (0, 1));
    let mut mine = owner.list_ephemerals("/e").await.unwrap();
    mine.sort();
    assert_eq!(
        mine,
        vec!["/e/n-0000000000".to_string(), "/e/n-0000000001".to_string()]
    );
    assert_eq!(observer.count_descendants_number("/e").await.unwrap(), 2);
    let (_, _, watch) = observer.get_and_watch_children("/e").await.unwrap();
    drop(owner);
    let event = tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap();
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeChildrenChanged, "/e")
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !observer.list_children("/e").await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ephemerals outlived their session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, stat) = observer.get_children("/e").await.unwrap();
    assert_eq!((stat.cversion, stat.num_children), (4, 0));
}
