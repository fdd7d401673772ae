//! The ZooKeeper adapter and the start script against real Apache ZooKeeper 3.8 (Debian's `zookeeper`
//! package) on loopback: a one-member seed grows to two by reconfig and shrinks back, a joiner restarted before
//! it was added boots again, and a reconfig on a stale version is refused.

mod common;

use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::ScratchMember;
use zk_operator::ensemble_config::{EnsembleConfig, ServerLine, ServerRole};
use zk_operator::planner::Role;
use zk_operator::resources::secret::super_digest;
use zk_operator::zk::{Endpoint, EnsembleClient, MemberState, Transport, ZkError, mntr};

const PASSWORD: &str = "reconfig-test-password";
const TIMEOUT: Duration = Duration::from_secs(10);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One Apache ZooKeeper member started through the real start script.
struct Apache {
    scratch: ScratchMember,
    id: u32,
    line: ServerLine,
    admin_port: u16,
    process: Option<Child>,
}

impl Apache {
    fn new(id: u32, bootstrap: &EnsembleConfig, line: ServerLine) -> Self {
        let static_config = "tickTime=500\ninitLimit=10\nsyncLimit=5\nstandaloneEnabled=false\nreconfigEnabled=true\n\
            4lw.commands.whitelist=mntr,srvr,ruok\nadmin.enableServer=true\n";
        // The operator's native flavour runs `zk-server <cfg>`; here that is Apache's QuorumPeerMain. Debian's
        // zookeeper.jar leaves the servlet API off its class path, without which the AdminServer (and so the
        // pods' probes) does not start.
        let server = format!(
            "#!/bin/sh\nexec java -Dzookeeper.DigestAuthenticationProvider.superDigest='{}' \
             -cp /usr/share/java/zookeeper.jar:/usr/share/java/servlet-api.jar org.apache.zookeeper.server.quorum.QuorumPeerMain \"$1\"\n",
            super_digest(PASSWORD)
        );
        let scratch = ScratchMember::new("", "0", "", &server);
        let admin_port = free_port();
        let dirs = format!(
            "admin.serverPort={}\ndataDir={}\ndataLogDir={}\n",
            admin_port,
            scratch.path("data").display(),
            scratch.path("datalog").display()
        );
        scratch.write("config/zoo.cfg.static", &format!("{static_config}{dirs}"));
        let member = Apache {
            scratch,
            id,
            line,
            admin_port,
            process: None,
        };
        member.set_bootstrap(&bootstrap.with_server(member.line.clone()));
        member
    }

    fn set_bootstrap(&self, config: &EnsembleConfig) {
        let servers: Vec<String> = config.servers.values().map(ServerLine::line).collect();
        self.scratch
            .set_bootstrap(&config.version_hex(), &servers.join("\n"));
    }

    fn client_endpoint(&self) -> Endpoint {
        Endpoint {
            address: self.line.client_address.clone().unwrap(),
            host: self.line.host.clone(),
        }
    }

    fn start(&mut self) {
        let child = self
            .scratch
            .start_command(self.id)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.process = Some(child);
    }

    /// The status line of `GET /commands/ruok` on the AdminServer, the request the pods' probes make.
    async fn probe(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.admin_port))
            .await
            .unwrap();
        let request = "GET /commands/ruok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        reply.lines().next().unwrap_or_default().to_string()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until `mntr` reports `role` in the broadcast phase.
    async fn wait_synced(&self, role: Role) -> MemberState {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(state) = mntr(
                &self.client_endpoint(),
                &Transport::Plain,
                Duration::from_secs(2),
            )
            .await
                && state.synced
                && state.role == role
            {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "member {} never became a synced {role:?}",
                self.id
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
    }
}

fn line(id: u32) -> ServerLine {
    ServerLine {
        id,
        host: "127.0.0.1".into(),
        quorum_port: free_port(),
        election_port: free_port(),
        role: ServerRole::Participant,
        client_address: Some(format!("127.0.0.1:{}", free_port())),
    }
}

#[tokio::test]
#[ignore = "needs Debian's zookeeper and libservlet-api-java packages and a JRE; run with --ignored"]
async fn grow_and_shrink_a_live_ensemble_by_reconfig() {
    let mut seed = Apache::new(1, &EnsembleConfig::default(), line(1));
    seed.start();
    seed.wait_synced(Role::Leader).await;
    assert_eq!(
        seed.probe().await,
        "HTTP/1.1 200 OK",
        "the readiness and liveness probe answers"
    );

    let client = EnsembleClient::connect(
        &[seed.client_endpoint()],
        &Transport::Plain,
        PASSWORD,
        TIMEOUT,
    )
    .await
    .unwrap();
    let committed = client.committed_config().await.unwrap();
    assert_eq!(committed.participants().collect::<Vec<_>>(), vec![1]);
    assert!(committed.version > 0);

    // A joiner starts from the committed config plus itself and follows without a vote.
    let mut joiner = Apache::new(2, &committed, line(2));
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

    let grown = client
        .ensure_added(&joiner.line, committed.version)
        .await
        .unwrap();
    assert_eq!(grown.participants().collect::<Vec<_>>(), vec![1, 2]);
    assert!(grown.version > committed.version);
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
    let intruder = EnsembleClient::connect(
        &[seed.client_endpoint()],
        &Transport::Plain,
        "wrong",
        TIMEOUT,
    )
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
