//! `zk-server`'s AdminServer command `leader_transfer`: the leader hands leadership over to a synced follower,
//! so that it restarts as a follower and the ensemble elects nobody (Apache ZooKeeper has no such command).
//!
//! One HTTP/1.1 request on a fresh connection, bounded by one deadline over connect, request and answer.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::ZkError;

/// How long the hand-over may take: the server answers once another member leads, or after `initLimit` ticks.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(30);

/// Asks leader `id`, whose AdminServer is at `address` (`host:port`), to hand leadership over to the synced
/// follower it has replicated the most to, and returns the member that leads afterwards. A member that
/// answers that another one leads already (an earlier hand-over) counts as done.
pub async fn leader_transfer(address: &str, id: u32) -> Result<u32, ZkError> {
    let (status, body) =
        tokio::time::timeout(TRANSFER_TIMEOUT, post(address, "/commands/leader_transfer"))
            .await
            .map_err(|_| ZkError::Timeout("leader_transfer"))??;
    transfer_outcome(id, status, &body)
}

/// Reads the answer of `leader_transfer` asked of member `id`.
fn transfer_outcome(id: u32, status: StatusCode, body: &[u8]) -> Result<u32, ZkError> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let refused = |reason: String| ZkError::Admin {
        command: "leader_transfer",
        status: status.as_u16(),
        reason,
    };
    let error = json["error"]
        .as_str()
        .unwrap_or("no error text")
        .to_string();
    let leader = json["leader_id"]
        .as_i64()
        .and_then(|leader| u32::try_from(leader).ok());
    match (status, leader) {
        (StatusCode::OK | StatusCode::CONFLICT, Some(leader)) if leader != id => Ok(leader),
        (StatusCode::OK, _) => Err(refused(format!("member {id} still leads"))),
        _ => Err(refused(error)),
    }
}

/// Sends `POST <path>` to `address` and returns the status and the body.
async fn post(address: &str, path: &str) -> Result<(StatusCode, Bytes), ZkError> {
    let stream = TcpStream::connect(address).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ZkError::Http)?;
    let driver = tokio::spawn(connection);
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(hyper::header::HOST, address)
        .body(Empty::<Bytes>::new())
        .expect("a request from a fixed method, a path and a host is valid");
    let response = sender.send_request(request).await.map_err(ZkError::Http)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(ZkError::Http)?
        .to_bytes();
    driver.abort();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_leader_or_one_that_leads_already_is_a_hand_over() {
        let moved = br#"{"command":"leader_transfer","error":null,"leader_id":2,"previous_leader_id":1,"took_ms":42}"#;
        assert_eq!(transfer_outcome(1, StatusCode::OK, moved).unwrap(), 2);
        let not_leader =
            br#"{"command":"leader_transfer","error":"member 1 does not lead","leader_id":3}"#;
        assert_eq!(
            transfer_outcome(1, StatusCode::CONFLICT, not_leader).unwrap(),
            3
        );
    }

    #[test]
    fn a_refusal_or_no_change_is_an_error() {
        let unsynced = br#"{"command":"leader_transfer","error":"no synced follower"}"#;
        let error = transfer_outcome(1, StatusCode::CONFLICT, unsynced).unwrap_err();
        assert_eq!(
            error.to_string(),
            "leader_transfer answered 409: no synced follower"
        );
        let unknown_leader =
            br#"{"command":"leader_transfer","error":"does not lead","leader_id":-1}"#;
        assert!(transfer_outcome(1, StatusCode::CONFLICT, unknown_leader).is_err());
        let stayed =
            br#"{"command":"leader_transfer","error":null,"leader_id":1,"previous_leader_id":1}"#;
        assert!(transfer_outcome(1, StatusCode::OK, stayed).is_err());
        let timed_out = br#"{"command":"leader_transfer","error":"nobody took over"}"#;
        assert!(transfer_outcome(1, StatusCode::GATEWAY_TIMEOUT, timed_out).is_err());
    }

    #[tokio::test]
    async fn posts_the_command_and_reads_the_answer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 1024];
            let n = socket.read(&mut request).await.unwrap();
            let request = String::from_utf8_lossy(&request[..n]).into_owned();
            let body = r#"{"command":"leader_transfer","error":null,"leader_id":3,"previous_leader_id":1,"took_ms":7}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            request
        });
        assert_eq!(leader_transfer(&address, 1).await.unwrap(), 3);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /commands/leader_transfer HTTP/1.1\r\n"),
            "{request}"
        );
    }
}
