//! Bad SASL input over the wire: a wrong password, a malformed token, a truncated packet and a client
//! that leaves mid-exchange each end only their own connection (AuthFailed, or a close for a packet
//! that does not decode), and the server keeps serving everyone else; with
//! `zookeeper.sessionRequireClientSASLAuth`, a client that skips SASL is refused.

mod common;

use common::{RawClient, TestServer, assert_server_serves, start_with_properties};
use zk_proto::{ErrorCode, OpCode, SaslToken};

const JAAS: &str = "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
                    user_bob=\"secret\";\n};\n";

async fn start_sasl(extra_properties: &[(&str, &str)]) -> (TestServer, tempfile::TempDir) {
    let jaas_dir = tempfile::tempdir().unwrap();
    let jaas = jaas_dir.path().join("jaas.conf");
    std::fs::write(&jaas, JAAS).unwrap();
    let mut properties = vec![(
        "java.security.auth.login.config".to_string(),
        jaas.display().to_string(),
    )];
    properties.extend(
        extra_properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let server = start_with_properties(
        "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n",
        properties,
    )
    .await;
    (server, jaas_dir)
}

async fn send_token(client: &mut RawClient, xid: i32, token: &[u8]) {
    let packet = SaslToken {
        token: Some(token.to_vec()),
    };
    client.send_request(xid, OpCode::Sasl.code(), &packet).await;
}

/// Sends the empty first token and returns the challenge text.
async fn challenge(client: &mut RawClient) -> String {
    send_token(client, 1, b"").await;
    let (header, body) = client.read_reply().await.expect("challenge");
    assert_eq!((header.xid, header.zxid, header.err), (1, 0, 0));
    let token = zk_proto::Record::from_bytes(&body)
        .map(|t: SaslToken| t.token.unwrap_or_default())
        .unwrap();
    String::from_utf8(token).unwrap()
}

#[tokio::test]
async fn wrong_password_and_malformed_tokens_get_auth_failed_and_a_close() {
    let (server, _jaas) = start_sasl(&[]).await;
    let tokens: [&[u8]; 3] = [
        b"charset=utf-8,username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"NONCE\",nc=00000001,\
          cnonce=\"c\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,\
          response=00000000000000000000000000000000,qop=auth",
        b"username=\"bob",
        &[0xff; 300],
    ];
    for token in tokens {
        let (mut client, _) = RawClient::handshake(server.addr()).await;
        let text = challenge(&mut client).await;
        assert!(text.starts_with("realm=\"zk-sasl-md5\",nonce=\""), "{text}");
        let nonce = text.split('"').nth(3).unwrap().to_string();
        let token = String::from_utf8_lossy(token).replace("NONCE", &nonce);
        send_token(&mut client, 2, token.as_bytes()).await;
        let (header, body) = client.read_reply().await.expect("failure reply");
        assert_eq!((header.xid, header.err), (2, ErrorCode::AuthFailed.code()));
        assert_eq!(body, (-1i32).to_be_bytes(), "an absent token");
        assert!(client.is_closed_by_server().await);
        assert_server_serves(server.addr()).await;
    }
}

#[tokio::test]
async fn truncated_packets_and_abandoned_exchanges_end_only_their_connection() {
    let (server, _jaas) = start_sasl(&[]).await;
    // A SASL packet whose token claims 100 bytes and carries 3.
    let (mut truncated, _) = RawClient::handshake(server.addr()).await;
    let mut frame = Vec::new();
    frame.extend_from_slice(&1i32.to_be_bytes());
    frame.extend_from_slice(&OpCode::Sasl.code().to_be_bytes());
    frame.extend_from_slice(&100i32.to_be_bytes());
    frame.extend_from_slice(b"abc");
    let mut packet = (frame.len() as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&frame);
    truncated.send_raw(&packet).await;
    assert!(truncated.is_closed_by_server().await);
    // A client that leaves after the challenge.
    let (mut leaving, _) = RawClient::handshake(server.addr()).await;
    challenge(&mut leaving).await;
    drop(leaving);
    assert_server_serves(server.addr()).await;
}

#[tokio::test]
async fn required_sasl_refuses_clients_that_skip_it() {
    let (server, _jaas) = start_sasl(&[("zookeeper.sessionRequireClientSASLAuth", "true")]).await;
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    client.send_path_read(5, OpCode::Exists, "/", false).await;
    let (header, body) = client.read_reply().await.expect("refusal");
    assert_eq!(
        (header.xid, header.err),
        (5, ErrorCode::SessionClosedRequireSaslAuth.code())
    );
    assert!(body.is_empty());
    assert!(client.is_closed_by_server().await);
    // A SASL exchange is still allowed to begin, and a failure now names the requirement.
    let (mut client, _) = RawClient::handshake(server.addr()).await;
    challenge(&mut client).await;
    send_token(&mut client, 2, b"garbage").await;
    let (header, _) = client.read_reply().await.expect("failure reply");
    assert_eq!(header.err, ErrorCode::SessionClosedRequireSaslAuth.code());
}
