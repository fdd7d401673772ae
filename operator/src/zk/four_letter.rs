//! The `mntr` four-letter word (a member's role and whether it is caught up with the leader) and `isro` (whether
//! it refuses writes).
//!
//! A reply is read until the server closes the connection, with one deadline over connect, write and read, so
//! neither a half-closed socket nor a stuck member can hold the reconcile loop.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ZkError;
use super::transport::{Endpoint, Transport};
use crate::planner::Role;

/// What `mntr` says about a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberState {
    /// Leader, follower, observer, or looking (no quorum).
    pub role: Role,
    /// Leading, or following in the broadcast phase (connected to the leader and caught up).
    pub synced: bool,
}

/// Asks the member at `endpoint` for `mntr` over `transport` and parses the reply.
pub async fn mntr(
    endpoint: &Endpoint,
    transport: &Transport,
    timeout: Duration,
) -> Result<MemberState, ZkError> {
    Ok(parse_mntr(
        &ask(endpoint, transport, "mntr", timeout).await?,
    ))
}

/// Asks the member at `endpoint` for `isro` over `transport`: `true` when it answers `ro`, that is, refuses
/// writes: in read-only mode, or, for a `zk-server` member of a quorum, because its data or log volume is full.
/// Any other answer (`rw`, `null`, the whitelist refusal) is `false`.
pub async fn refuses_writes(
    endpoint: &Endpoint,
    transport: &Transport,
    timeout: Duration,
) -> Result<bool, ZkError> {
    Ok(ask(endpoint, transport, "isro", timeout).await?.trim() == "ro")
}

/// Sends the four-letter word `word` to the member at `endpoint` and returns the reply.
async fn ask(
    endpoint: &Endpoint,
    transport: &Transport,
    word: &'static str,
    timeout: Duration,
) -> Result<String, ZkError> {
    let exchange = async {
        let mut stream = transport.connect(endpoint).await?;
        stream.write_all(word.as_bytes()).await?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await?;
        Ok::<_, std::io::Error>(reply)
    };
    Ok(tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ZkError::Timeout(word))??)
}

/// Parses `mntr` output (`key<TAB>value` lines). A reply without a known state, such as the whitelist refusal,
/// reads as looking and not synced.
pub fn parse_mntr(reply: &str) -> MemberState {
    let value = |key: &str| {
        reply
            .lines()
            .find_map(|line| {
                line.strip_prefix(key)
                    .and_then(|rest| rest.strip_prefix('\t'))
            })
            .map(str::trim)
    };
    let role = match value("zk_server_state") {
        Some("leader") => Role::Leader,
        Some("follower") => Role::Follower,
        Some("observer") => Role::Observer,
        _ => Role::Looking,
    };
    let broadcasting = value("zk_peer_state").is_some_and(|state| state.ends_with("- broadcast"));
    MemberState {
        role,
        synced: role != Role::Looking && broadcasting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `mntr` of an Apache ZooKeeper 3.8 leader, recorded in `reference/`.
    fn recorded_leader() -> String {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../reference/mntr-leader-apache-3.8.txt"
        ))
        .to_string()
    }

    #[test]
    fn a_recorded_leader_is_a_synced_leader() {
        let state = parse_mntr(&recorded_leader());
        assert_eq!(
            state,
            MemberState {
                role: Role::Leader,
                synced: true
            }
        );
    }

    #[test]
    fn a_follower_is_synced_only_in_broadcast() {
        let syncing = "zk_server_state\tfollower\nzk_peer_state\tfollowing - synchronization\n";
        assert_eq!(
            parse_mntr(syncing),
            MemberState {
                role: Role::Follower,
                synced: false
            }
        );
        let caught_up = "zk_server_state\tfollower\nzk_peer_state\tfollowing - broadcast\n";
        assert_eq!(
            parse_mntr(caught_up),
            MemberState {
                role: Role::Follower,
                synced: true
            }
        );
    }

    #[test]
    fn a_refusal_or_an_election_is_not_synced() {
        let refused = "mntr is not executed because it is not in the whitelist.\n";
        assert_eq!(
            parse_mntr(refused),
            MemberState {
                role: Role::Looking,
                synced: false
            }
        );
        let looking = "zk_server_state\tlooking\nzk_peer_state\tlooking - \n";
        assert!(!parse_mntr(looking).synced);
    }

    /// A listener on a free loopback port, and the endpoint that reaches it.
    async fn member() -> (tokio::net::TcpListener, Endpoint) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Endpoint {
            address: listener.local_addr().unwrap().to_string(),
            host: "localhost".to_string(),
        };
        (listener, endpoint)
    }

    /// Accepts one connection on `listener` and checks that it asks `word`.
    async fn asked(listener: &tokio::net::TcpListener, word: &[u8; 4]) -> tokio::net::TcpStream {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut command = [0u8; 4];
        socket.read_exact(&mut command).await.unwrap();
        assert_eq!(&command, word);
        socket
    }

    #[tokio::test]
    async fn reads_a_reply_until_close_and_times_out_on_silence() {
        let (listener, endpoint) = member().await;
        let server = tokio::spawn(async move {
            let mut socket = asked(&listener, b"mntr").await;
            socket
                .write_all(b"zk_server_state\tfollower\nzk_peer_state\tfollowing - broadcast\n")
                .await
                .unwrap();
            drop(socket);
            let (silent, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(silent);
        });
        let state = mntr(&endpoint, &Transport::Plain, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(
            state,
            MemberState {
                role: Role::Follower,
                synced: true
            }
        );
        let silent = mntr(&endpoint, &Transport::Plain, Duration::from_millis(200)).await;
        assert!(matches!(silent, Err(ZkError::Timeout("mntr"))));
        server.abort();
    }

    #[tokio::test]
    async fn only_an_ro_answer_to_isro_refuses_writes() {
        for (answer, refuses) in [("ro", true), ("rw", false), ("null", false)] {
            let (listener, endpoint) = member().await;
            let server = tokio::spawn(async move {
                let mut socket = asked(&listener, b"isro").await;
                socket.write_all(answer.as_bytes()).await.unwrap();
            });
            let seen = refuses_writes(&endpoint, &Transport::Plain, Duration::from_secs(2))
                .await
                .unwrap();
            assert_eq!(seen, refuses, "{answer}");
            server.await.unwrap();
        }
    }
}
