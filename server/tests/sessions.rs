//! Session life cycle with the `zookeeper-client` crate and raw clients: data operations, ephemerals,
//! watches, closeSession and expiry.

mod common;

use std::time::Duration;

use common::{RawClient, start};
use zk_proto::{ConnectResponse, Record};
use zookeeper_client::{Acls, Client, CreateMode, EventType};

#[tokio::test]
async fn a_client_session_creates_reads_writes_and_deletes() {
    let server = start("").await;
    let client = Client::connect(&server.connect_string()).await.unwrap();
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let (stat, _) = client.create("/app", b"hello", &options).await.unwrap();
    assert_eq!(stat.version, 0);
    let (data, stat) = client.get_data("/app").await.unwrap();
    assert_eq!((data.as_slice(), stat.data_length), (&b"hello"[..], 5));
    client.set_data("/app", b"world", Some(0)).await.unwrap();
    assert!(matches!(
        client.set_data("/app", b"stale", Some(0)).await,
        Err(zookeeper_client::Error::BadVersion)
    ));
    assert_eq!(client.get_data("/app").await.unwrap().0, b"world");
    let mut multi = client.new_multi_writer();
    multi.add_create("/app/a", b"1", &options).unwrap();
    multi.add_set_data("/app", b"x", None).unwrap();
    multi.commit().await.unwrap();
    let mut children = client.list_children("/app").await.unwrap();
    children.sort();
    assert_eq!(children, vec!["a".to_string()]);
    client.sync("/").await.unwrap();
    client.delete("/app/a", None).await.unwrap();
    client.delete("/app", None).await.unwrap();
    assert!(client.check_stat("/app").await.unwrap().is_none());
}

#[tokio::test]
async fn watches_fire_for_another_clients_change() {
    let server = start("").await;
    let watcher = Client::connect(&server.connect_string()).await.unwrap();
    let writer = Client::connect(&server.connect_string()).await.unwrap();
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    writer.create("/watched", b"a", &options).await.unwrap();
    let (_, _, watch) = watcher.get_and_watch_data("/watched").await.unwrap();
    writer.set_data("/watched", b"b", None).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap();
    assert_eq!(event.event_type, EventType::NodeDataChanged);
    assert_eq!(event.path, "/watched");
}

#[tokio::test]
async fn ephemerals_go_with_their_closed_session() {
    let server = start("").await;
    let owner = Client::connect(&server.connect_string()).await.unwrap();
    let observer = Client::connect(&server.connect_string()).await.unwrap();
    let ephemeral = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    owner.create("/eph", b"", &ephemeral).await.unwrap();
    let (_, watch) = observer.check_and_watch_stat("/eph").await.unwrap();
    drop(owner);
    let event = tokio::time::timeout(Duration::from_secs(10), watch.changed())
        .await
        .unwrap();
    assert_eq!(event.event_type, EventType::NodeDeleted);
    assert!(observer.check_stat("/eph").await.unwrap().is_none());
}

#[tokio::test]
async fn a_silent_session_expires_and_cannot_be_resumed() {
    // tickTime 200 ms: sessions are clamped to [400 ms, 4 s]; ask for the minimum.
    let server = start("").await;
    let mut raw = RawClient::connect(server.addr()).await;
    let request = zk_proto::ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 1,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    raw.send_raw(&zk_proto::frame::record_frame(&request)).await;
    let response = <zk_proto::ConnectResponse as zk_proto::Record>::from_bytes(
        &raw.read_frame().await.unwrap(),
    )
    .unwrap();
    assert_eq!(response.timeout, 400);
    let create = zk_proto::CreateRequest {
        path: "/silent".into(),
        data: None,
        acl: vec![zk_proto::Acl {
            perms: zk_proto::perms::ALL,
            id: zk_proto::Id::new("world", "anyone"),
        }],
        flags: 1,
    };
    raw.send_request(1, zk_proto::OpCode::Create.code(), &create)
        .await;
    assert_eq!(raw.read_reply().await.unwrap().0.err, 0);
    assert!(
        raw.is_closed_by_server().await,
        "the expired session's connection is closed"
    );

    let observer = Client::connect(&server.connect_string()).await.unwrap();
    assert!(
        observer.check_stat("/silent").await.unwrap().is_none(),
        "its ephemeral is gone"
    );
    let mut again = RawClient::connect(server.addr()).await;
    again
        .send_connect(response.session_id, &response.passwd, 0, Some(false))
        .await;
    let reply = <zk_proto::ConnectResponse as zk_proto::Record>::from_bytes(
        &again.read_frame().await.unwrap(),
    )
    .unwrap();
    assert_eq!(
        (reply.timeout, reply.session_id),
        (0, 0),
        "an expired session is refused"
    );
}

#[tokio::test]
async fn close_session_is_acknowledged_then_the_connection_closes() {
    let server = start("").await;
    let (mut raw, response) = RawClient::handshake(server.addr()).await;
    raw.send_request(
        1,
        zk_proto::OpCode::CloseSession.code(),
        &zk_proto::PathRequest {
            path: String::new(),
        },
    )
    .await;
    let (header, _) = raw.read_reply().await.expect("closeSession reply");
    assert_eq!((header.xid, header.err), (1, 0));
    assert!(raw.is_closed_by_server().await);
    assert!(
        server
            .server
            .context()
            .state
            .session(response.session_id)
            .is_none()
    );
}

#[tokio::test]
async fn digest_auth_grants_access_to_protected_nodes() {
    let server = start("").await;
    let client = Client::connect(&server.connect_string()).await.unwrap();
    client.auth("digest", b"alice:secret").await.unwrap();
    let options = CreateMode::Persistent.with_acls(Acls::creator_all());
    client.create("/private", b"x", &options).await.unwrap();
    assert_eq!(client.get_data("/private").await.unwrap().0, b"x");
    let stranger = Client::connect(&server.connect_string()).await.unwrap();
    assert!(matches!(
        stranger.get_data("/private").await,
        Err(zookeeper_client::Error::NoAuth)
    ));
}

#[tokio::test]
async fn a_session_closed_through_the_log_elsewhere_ends_its_connection() {
    let server = start("").await;
    let (mut raw, response) = RawClient::handshake(server.addr()).await;
    let command = zk_server::state::Command::CloseSession {
        session_id: response.session_id,
        time_ms: 0,
    };
    server.server.context().propose(command).await.unwrap();
    let mut w = zk_proto::Writer::framed();
    zk_proto::Record::write(
        &zk_proto::RequestHeader {
            xid: -2,
            op_type: zk_proto::OpCode::Ping.code(),
        },
        &mut w,
    );
    raw.send_raw(&w.into_frame()).await;
    assert!(
        raw.is_closed_by_server().await,
        "the next packet finds the session gone"
    );
}

#[tokio::test]
async fn a_session_resumes_after_each_of_two_restarts_and_still_checks_its_password() {
    let mut server = start("").await;
    let (_first, session) = RawClient::handshake(server.addr()).await;
    for restart_number in 1..=2 {
        server = common::restart(server).await;
        let mut wrong = RawClient::connect(server.addr()).await;
        wrong
            .send_connect(session.session_id, &[7; 16], 0, Some(false))
            .await;
        let refused = ConnectResponse::from_bytes(&wrong.read_frame().await.unwrap()).unwrap();
        assert_eq!(
            refused.session_id, 0,
            "a wrong password after restart {restart_number}"
        );

        let mut client = RawClient::connect(server.addr()).await;
        client
            .send_connect(session.session_id, &session.passwd, 0, Some(false))
            .await;
        let resumed = ConnectResponse::from_bytes(&client.read_frame().await.unwrap()).unwrap();
        assert_eq!(
            (resumed.session_id, resumed.passwd.as_slice()),
            (session.session_id, session.passwd.as_slice()),
            "after restart {restart_number}"
        );
        assert!(resumed.timeout > 0);
    }
}
