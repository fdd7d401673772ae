//! Sessions of clients connected to a follower, in a three-member ensemble in this process: the leader,
//! which alone expires sessions, keeps them alive while their clients ping the follower, and expires them
//! (deleting their ephemerals on every member) once their clients vanish.

mod common;

use std::time::Duration;

use common::{TestServer, start_ensemble};
use tokio::net::{TcpListener, TcpStream};
use zk_server::consensus::Role;
use zookeeper_client::{Acls, Client, CreateMode};

/// tickTime=200 in the test config: sessions may be as short as 400 ms.
const SESSION_TIMEOUT: Duration = Duration::from_millis(1200);

fn member_with(members: &[TestServer], role: Role) -> &TestServer {
    members
        .iter()
        .find(|m| m.server.context().role() == role)
        .expect("a member with that role")
}

async fn short_session(address: &str) -> Client {
    Client::connector()
        .with_session_timeout(SESSION_TIMEOUT)
        .connect(address)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_a_follower_lives_past_its_timeout_while_its_client_pings() {
    let members = start_ensemble(3, "").await;
    let follower = member_with(&members, Role::Follower);
    let leader = member_with(&members, Role::Leader);
    let client = short_session(&follower.connect_string()).await;
    let ephemeral = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    client.create("/alive", b"", &ephemeral).await.unwrap();

    // Several timeouts of nothing but the client's pings, which go to the follower only.
    tokio::time::sleep(SESSION_TIMEOUT * 5).await;

    let observer = Client::connect(&leader.connect_string()).await.unwrap();
    let stat = observer.check_stat("/alive").await.unwrap();
    assert_eq!(
        stat.map(|s| s.ephemeral_owner),
        Some(client.session_id().0),
        "the leader expired a session whose client kept pinging a follower"
    );
    client
        .create("/still-writing", b"", &ephemeral)
        .await
        .expect("the session still accepts writes");
}

/// A TCP relay from a local port to `target` that can be cut: existing connections end and new ones
/// are refused, as for a client whose network fails.
struct Relay {
    address: String,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            // Dropped with the task: aborting it ends every relayed connection.
            let mut links = tokio::task::JoinSet::new();
            loop {
                let (mut inbound, _) = listener.accept().await.unwrap();
                let target = target.clone();
                links.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Relay { address, task }
    }

    /// Ends every relayed connection and closes the port.
    fn cut(self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_client_of_a_follower_expires_and_its_ephemerals_go_everywhere() {
    let members = start_ensemble(3, "").await;
    let follower = member_with(&members, Role::Follower);
    let relay = Relay::start(follower.connect_string()).await;
    let client = short_session(&relay.address).await;
    let ephemeral = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    client.create("/vanishing", b"", &ephemeral).await.unwrap();
    relay.cut();

    let observers = connect_all(&members).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for (member, observer) in members.iter().zip(&observers) {
        while observer.check_stat("/vanishing").await.unwrap().is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the ephemeral of a vanished client is still on {}",
                member.connect_string()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(client);
}

async fn connect_all(members: &[TestServer]) -> Vec<Client> {
    let mut clients = Vec::new();
    for member in members {
        clients.push(Client::connect(&member.connect_string()).await.unwrap());
    }
    clients
}
