//! Raw-bytes tests of the connect handshake and of bad input: the server answers or closes the offending
//! connection, and another client keeps working.

mod common;

use common::{RawClient, assert_server_serves, start};
use zk_proto::{Acl, EventType};
use zk_proto::{
    ConnectResponse, CreateRequest, ErrorCode, Id, OpCode, PathRequest, Record, SetDataRequest,
    WatcherEvent, perms,
};

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id::new("world", "anyone"),
    }]
}

async fn create(client: &mut RawClient, xid: i32, path: &str, data: &[u8], flags: i32) -> i32 {
    let request = CreateRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: open_acl(),
        flags,
    };
    client
        .send_request(xid, OpCode::Create.code(), &request)
        .await;
    let (header, _) = client.read_reply().await.expect("create reply");
    assert_eq!(header.xid, xid);
    header.err
}

#[tokio::test]
async fn new_session_reply_carries_the_read_only_byte_only_for_new_clients() {
    let server = start("").await;
    let mut modern = RawClient::connect(server.addr()).await;
    modern.send_connect(0, &[0; 16], 0, Some(false)).await;
    let payload = modern.read_frame().await.unwrap();
    assert_eq!(payload.len(), 37);
    let response = ConnectResponse::from_bytes(&payload).unwrap();
    assert_eq!(response.read_only, Some(false));
    assert_eq!(response.passwd.len(), 16);
    assert_eq!(
        response.timeout, 4000,
        "30 s asked, clamped to 20 ticks of 200 ms"
    );

    let mut old = RawClient::connect(server.addr()).await;
    old.send_connect(0, &[0; 16], 0, None).await;
    let payload = old.read_frame().await.unwrap();
    assert_eq!(
        payload.len(),
        36,
        "no readOnly byte for a client that sent none"
    );
    assert_ne!(ConnectResponse::from_bytes(&payload).unwrap().session_id, 0);
}

#[tokio::test]
async fn resumed_session_keeps_its_id_and_closes_the_old_connection() {
    let server = start("").await;
    let (mut first, response) = RawClient::handshake(server.addr()).await;
    let mut second = RawClient::connect(server.addr()).await;
    second
        .send_connect(response.session_id, &response.passwd, 0, Some(false))
        .await;
    let resumed = ConnectResponse::from_bytes(&second.read_frame().await.unwrap()).unwrap();
    assert_eq!(resumed.session_id, response.session_id);
    assert_eq!(resumed.passwd, response.passwd);
    assert!(
        first.is_closed_by_server().await,
        "the session's old connection is closed"
    );
    second.send_path_read(5, OpCode::Exists, "/", false).await;
    assert_eq!(second.read_reply().await.unwrap().0.err, 0);
}

#[tokio::test]
async fn wrong_password_or_unknown_session_gets_timeout_zero_then_close() {
    let server = start("").await;
    let (_first, response) = RawClient::handshake(server.addr()).await;
    for (session, passwd) in [
        (response.session_id, vec![7u8; 16]),
        (0x7777_0000_0000, vec![0u8; 16]),
    ] {
        let mut client = RawClient::connect(server.addr()).await;
        client.send_connect(session, &passwd, 0, Some(false)).await;
        let reply = ConnectResponse::from_bytes(&client.read_frame().await.unwrap()).unwrap();
        assert_eq!((reply.timeout, reply.session_id), (0, 0));
        assert!(client.is_closed_by_server().await);
    }
}

#[tokio::test]
async fn client_ahead_of_the_server_is_refused() {
    let server = start("").await;
    let mut client = RawClient::connect(server.addr()).await;
    client
        .send_connect(0, &[0; 16], i64::MAX / 2, Some(false))
        .await;
    assert_eq!(client.read_frame().await, None, "closed without a reply");
    assert_server_serves(server.addr()).await;
}

#[tokio::test]
async fn oversized_frame_closes_only_that_connection() {
    let server = start("").await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    client.send_raw(&0x10_0000_i32.to_be_bytes()).await;
    client.send_raw(&[0u8; 1024]).await;
    assert!(client.is_closed_by_server().await);
    let mut before_handshake = RawClient::connect(server.addr()).await;
    before_handshake
        .send_raw(&0x7fff_0000_i32.to_be_bytes())
        .await;
    assert!(before_handshake.is_closed_by_server().await);
    assert_server_serves(server.addr()).await;
}

#[tokio::test]
async fn smaller_jute_maxbuffer_is_enforced() {
    let server = start("jute.maxbuffer=1000\n").await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    let big = SetDataRequest {
        path: "/".into(),
        data: Some(vec![1; 2000]),
        version: -1,
    };
    client.send_request(1, OpCode::SetData.code(), &big).await;
    assert!(client.is_closed_by_server().await);
    assert_server_serves(server.addr()).await;
}

#[tokio::test]
async fn garbage_and_truncated_frames_close_only_that_connection() {
    let server = start("").await;
    let mut garbage = RawClient::connect(server.addr()).await;
    garbage
        .send_raw(&[0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef, 0x01])
        .await;
    assert!(
        garbage.is_closed_by_server().await,
        "an undecodable connect request"
    );

    let (mut short_header, _) = RawClient::handshake(server.addr()).await;
    short_header.send_raw(&[0, 0, 0, 3, 1, 2, 3]).await;
    assert!(
        short_header.is_closed_by_server().await,
        "a request shorter than its header"
    );

    let (mut truncated, _) = RawClient::handshake(server.addr()).await;
    truncated
        .send_raw(&[0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, 4])
        .await;
    truncated.stream.shutdown().await.unwrap();
    assert!(
        truncated.is_closed_by_server().await,
        "a frame cut by end of stream"
    );
    assert_server_serves(server.addr()).await;
}

#[tokio::test]
async fn unknown_op_code_gets_unimplemented_then_close() {
    let server = start("").await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    client
        .send_request(9, 999, &PathRequest { path: "/".into() })
        .await;
    let (header, _) = client.read_reply().await.expect("an error reply");
    assert_eq!(
        (header.xid, header.err),
        (9, ErrorCode::Unimplemented.code())
    );
    assert!(client.is_closed_by_server().await);
    assert_server_serves(server.addr()).await;
}

/// Without a JAAS login, a SASL token gets error 0 and an absent token, and the connection stays
/// (Apache 3.8 measured); an unknown auth scheme gets AuthFailed and a close.
#[tokio::test]
async fn sasl_without_a_login_is_answered_empty_and_unknown_auth_scheme_fails() {
    let server = start("").await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    client
        .send_request(
            1,
            OpCode::Sasl.code(),
            &PathRequest {
                path: String::new(),
            },
        )
        .await;
    let (header, body) = client.read_reply().await.expect("a SASL reply");
    assert_eq!((header.xid, header.zxid, header.err), (1, 0, 0));
    assert_eq!(body, (-1i32).to_be_bytes());
    client.send_path_read(2, OpCode::Exists, "/", false).await;
    let (header, _) = client.read_reply().await.expect("exists reply");
    assert_eq!((header.xid, header.err), (2, 0));

    let (mut client, _) = RawClient::handshake(server.addr()).await;
    let auth = zk_proto::AuthPacket {
        auth_type: 0,
        scheme: "kerberos".into(),
        auth: Some(b"x".to_vec()),
    };
    client.send_request(-4, OpCode::Auth.code(), &auth).await;
    let (header, _) = client.read_reply().await.expect("an auth reply");
    assert_eq!((header.xid, header.err), (-4, ErrorCode::AuthFailed.code()));
    assert!(client.is_closed_by_server().await);
}

#[tokio::test]
async fn pings_are_answered_with_xid_minus_two() {
    let server = start("").await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    let mut w = zk_proto::Writer::framed();
    zk_proto::RequestHeader {
        xid: -2,
        op_type: OpCode::Ping.code(),
    }
    .write(&mut w);
    client.send_raw(&w.into_frame()).await;
    let (header, body) = client.read_reply().await.unwrap();
    assert_eq!((header.xid, header.err), (-2, 0));
    assert!(body.is_empty());
}

#[tokio::test]
async fn watch_event_arrives_before_the_reply_that_reveals_the_change() {
    let server = start("").await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    assert_eq!(create(&mut client, 1, "/w", b"a", 0).await, 0);
    client.send_path_read(2, OpCode::GetData, "/w", true).await;
    assert_eq!(client.read_reply().await.unwrap().0.err, 0);
    let set = SetDataRequest {
        path: "/w".into(),
        data: Some(b"b".to_vec()),
        version: -1,
    };
    client.send_request(3, OpCode::SetData.code(), &set).await;
    let (first, body) = client.read_reply().await.unwrap();
    assert_eq!(first.xid, -1, "the notification comes first");
    let event = WatcherEvent::from_bytes(&body).unwrap();
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeDataChanged.code(), "/w")
    );
    let (second, _) = client.read_reply().await.unwrap();
    assert_eq!((second.xid, second.err), (3, 0));
    assert_eq!(
        second.zxid, first.zxid,
        "the event carries the zxid of the change"
    );
}

#[tokio::test]
async fn requests_of_a_session_are_answered_in_order() {
    let server = start("").await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    let create = CreateRequest {
        path: "/fifo".into(),
        data: Some(b"0".to_vec()),
        acl: open_acl(),
        flags: 0,
    };
    client.send_request(1, OpCode::Create.code(), &create).await;
    for i in 2..40 {
        if i % 2 == 0 {
            let set = SetDataRequest {
                path: "/fifo".into(),
                data: Some(i.to_string().into_bytes()),
                version: -1,
            };
            client.send_request(i, OpCode::SetData.code(), &set).await;
        } else {
            client
                .send_path_read(i, OpCode::GetData, "/fifo", false)
                .await;
        }
    }
    for i in 1..40 {
        let (header, body) = client.read_reply().await.unwrap();
        assert_eq!((header.xid, header.err), (i, 0));
        if i > 1 && i % 2 == 1 {
            let data = zk_proto::GetDataResponse::from_bytes(&body)
                .unwrap()
                .data
                .unwrap();
            assert_eq!(
                data,
                (i - 1).to_string().into_bytes(),
                "a read sees the write sent before it"
            );
        }
    }
}

#[tokio::test]
async fn connections_per_ip_are_limited() {
    let server = start("maxClientCnxns=2\n").await;
    let (_a, _) = RawClient::handshake(server.addr()).await;
    let (_b, _) = RawClient::handshake(server.addr()).await;
    let mut third = RawClient::connect(server.addr()).await;
    third.send_connect(0, &[0; 16], 0, Some(false)).await;
    assert_eq!(
        third.read_frame().await,
        None,
        "the third connection from one IP is dropped"
    );
}

use tokio::io::AsyncWriteExt;

/// Random bytes, before or after a valid handshake, end at most their own connection.
#[test]
fn random_bytes_never_take_the_server_down() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start(""));
    let addr = server.addr();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let input = (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..600),
    );
    runner
        .run(&input, |(after_handshake, bytes)| {
            runtime.block_on(async {
                let mut client = if after_handshake {
                    RawClient::handshake(addr).await.0
                } else {
                    RawClient::connect(addr).await
                };
                let _ = client.stream.write_all(&bytes).await;
                let _ = client.stream.shutdown().await;
                assert!(client.is_closed_by_server().await, "the connection ends");
            });
            Ok(())
        })
        .unwrap();
    runtime.block_on(assert_server_serves(addr));
}

#[tokio::test]
async fn a_connection_without_a_handshake_is_dropped_after_the_longest_session_timeout() {
    // tickTime 200 ms: maxSessionTimeout is 4 s.
    let server = start("").await;
    let mut idle = RawClient::connect(server.addr()).await;
    idle.send_raw(&[0, 0]).await;
    let started = std::time::Instant::now();
    assert!(idle.is_closed_by_server().await);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "not before the limit"
    );
}
