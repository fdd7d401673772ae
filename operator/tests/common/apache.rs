//! One Apache ZooKeeper 3.8 member (Debian's `zookeeper` package) started as a member pod of the Apache
//! flavour starts it: the real start script runs Debian's `zkServer.sh start-foreground` with the ZooKeeper
//! image's `zkEnv.sh`, so the server runs on the image's class path, with the super digest in
//! `SERVER_JVMFLAGS` as the pod passes it. The operator's client reaches it over the transport given.

use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use zk_operator::ensemble_config::{EnsembleConfig, ServerLine, ServerRole};
use zk_operator::planner::Role;
use zk_operator::resources::secret::super_digest;
use zk_operator::zk::{Endpoint, EnsembleClient, MemberState, Transport, mntr};

use super::ScratchMember;

/// The environment the ZooKeeper image gives Debian's scripts (class path, log settings).
const IMAGE_ZK_ENV: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../images/zookeeper/zkEnv.sh"
));
/// The image's log4j settings, which its entrypoint copies into the configuration directory.
const IMAGE_LOG4J: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../images/zookeeper/log4j.properties"
));
/// Debian's server script.
const ZK_SERVER_SCRIPT: &str = "/usr/share/zookeeper/bin/zkServer.sh";

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A voter's `server.N` line on loopback with fresh ports, the client port among them.
pub fn loopback_line(id: u32) -> ServerLine {
    ServerLine {
        id,
        host: "127.0.0.1".into(),
        quorum_port: free_port(),
        election_port: free_port(),
        role: ServerRole::Participant,
        client_address: Some(format!("127.0.0.1:{}", free_port())),
    }
}

/// One Apache ZooKeeper member, killed on drop.
pub struct ApacheMember {
    /// The member's directories.
    pub scratch: ScratchMember,
    /// Its server id.
    pub id: u32,
    /// Its `server.N` line.
    pub line: ServerLine,
    /// Where the operator reaches its client port.
    pub client: Endpoint,
    /// How the operator reaches it.
    pub transport: Transport,
    admin_port: u16,
    digest: String,
    process: Option<Child>,
}

impl ApacheMember {
    /// Lays out member `id` with the static `settings` (all but the data directories and the AdminServer's
    /// port, which are its own), the super user's `password`, and a start-up config of `bootstrap` plus
    /// itself.
    pub fn new(
        id: u32,
        bootstrap: &EnsembleConfig,
        line: ServerLine,
        settings: &str,
        password: &str,
        (client, transport): (Endpoint, Transport),
    ) -> Self {
        let scratch = ScratchMember::new("", "0", "", "");
        for dir in ["logs", "datalog"] {
            std::fs::create_dir_all(scratch.path(dir)).unwrap();
        }
        scratch.install(
            "zkServer.sh",
            &std::fs::read_to_string(ZK_SERVER_SCRIPT).unwrap(),
        );
        scratch.install("zkEnv.sh", IMAGE_ZK_ENV);
        scratch.write("conf/log4j.properties", IMAGE_LOG4J);
        let admin_port = free_port();
        let own = format!(
            "admin.serverPort={}\ndataDir={}\ndataLogDir={}\n",
            admin_port,
            scratch.path("data").display(),
            scratch.path("datalog").display()
        );
        scratch.write("config/zoo.cfg.static", &format!("{settings}{own}"));
        let member = ApacheMember {
            scratch,
            id,
            line,
            client,
            transport,
            admin_port,
            digest: super_digest(password),
            process: None,
        };
        member.set_bootstrap(&bootstrap.with_server(member.line.clone()));
        member
    }

    /// Replaces the start-up config.
    pub fn set_bootstrap(&self, config: &EnsembleConfig) {
        let servers: Vec<String> = config.servers.values().map(ServerLine::line).collect();
        self.scratch
            .set_bootstrap(&config.version_hex(), &servers.join("\n"));
    }

    /// Starts the member through the start script, its output going to `server.log`.
    pub fn start(&mut self) {
        let log = std::fs::File::create(self.scratch.path("server.log")).unwrap();
        let child = self
            .scratch
            .start_command(self.id)
            .env("ZK_FLAVOUR", "Apache")
            .env("ZOO_CONF_DIR", self.scratch.path("conf"))
            .env("ZOO_LOG_DIR", self.scratch.path("logs"))
            .env(
                "SERVER_JVMFLAGS",
                format!(
                    "-Dzookeeper.DigestAuthenticationProvider.superDigest={}",
                    self.digest
                ),
            )
            .stdout(log.try_clone().unwrap())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.process = Some(child);
    }

    /// The status line of `GET /commands/ruok` on the AdminServer, the request the pods' probes make.
    pub async fn probe(&self) -> String {
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

    /// Kills the member.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Makes the member a voter through `client` by reconfig conditioned on `version`, and checks that the
    /// voters are then `voters`; returns the configuration after it.
    pub async fn added(
        &self,
        client: &EnsembleClient,
        version: i64,
        voters: &[u32],
    ) -> EnsembleConfig {
        let grown = client.ensure_added(&self.line, version).await.unwrap();
        assert_eq!(grown.participants().collect::<Vec<_>>(), voters);
        assert!(grown.version > version);
        grown
    }

    /// Waits until `mntr` over the member's transport reports `role` in the broadcast phase; fails with the
    /// end of the server's log after a minute.
    pub async fn wait_synced(&self, role: Role) -> MemberState {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(state) = mntr(&self.client, &self.transport, Duration::from_secs(2)).await
                && state.synced
                && state.role == role
            {
                return state;
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.scratch.path("server.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "member {} never became a synced {role:?}; its log ends:\n{}",
                    self.id,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

impl Drop for ApacheMember {
    fn drop(&mut self) {
        self.stop();
    }
}
