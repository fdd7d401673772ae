//! Shared helpers: an in-process server on ephemeral ports, and a raw-bytes client for handshake and
//! framing edge cases.

#![allow(dead_code)]

pub mod kdc;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_proto::frame::record_frame;
use zk_proto::{
    ConnectRequest, ConnectResponse, GetDataRequest, OpCode, Record, ReplyHeader, RequestHeader,
    Writer,
};
use zk_server::config::load_with_properties;
use zk_server::consensus::Role;
use zk_server::server::Server;

/// A server running in this process, with its scratch directory.
pub struct TestServer {
    /// The server.
    pub server: Server,
    /// Where its data lives.
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// The client address.
    pub fn addr(&self) -> SocketAddr {
        self.server.client_address()
    }

    /// `host:port` for client libraries.
    pub fn connect_string(&self) -> String {
        self.addr().to_string()
    }
}

/// Starts a standalone server whose zoo.cfg is the defaults below plus `extra` lines; client and admin
/// ports are ephemeral.
pub async fn start(extra: &str) -> TestServer {
    start_with_properties(extra, Vec::new()).await
}

/// [`start`] with Java system properties, as `SERVER_JVMFLAGS` would give them.
pub async fn start_with_properties(extra: &str, properties: Vec<(String, String)>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), extra);
    let mut config = load_with_properties(&cfg, properties).unwrap();
    config.client_address.as_mut().unwrap().port = 0;
    config.admin.port = 0;
    config.admin.address = "127.0.0.1".into();
    let server = Server::start(config).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.context().role() != Role::Leader {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never became leader"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    TestServer { server, dir }
}

/// Stops `server` and starts it again from the same configuration and data directory, on a new client
/// port.
pub async fn restart(server: TestServer) -> TestServer {
    let TestServer { server, dir } = server;
    server.shutdown().await;
    let mut config = load_with_properties(&dir.path().join("zoo.cfg"), Vec::new()).unwrap();
    config.client_address.as_mut().unwrap().port = 0;
    config.admin.port = 0;
    let server = Server::start(config).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.context().role() != Role::Leader {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restarted server never became leader"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    TestServer { server, dir }
}

/// Writes `zoo.cfg` in `dir` and returns its path.
pub fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("zoo.cfg");
    let mut text = format!(
        "tickTime=200\ndataDir={}/data\nclientPort=2181\nadmin.enableServer=false\n",
        dir.display()
    );
    text.push_str(extra);
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// A raw protocol connection.
pub struct RawClient {
    /// The socket.
    pub stream: TcpStream,
}

impl RawClient {
    /// Opens a TCP connection.
    pub async fn connect(addr: SocketAddr) -> RawClient {
        RawClient {
            stream: TcpStream::connect(addr).await.unwrap(),
        }
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Sends a connect request; `read_only: None` leaves the trailing byte out (old clients).
    pub async fn send_connect(
        &mut self,
        session_id: i64,
        passwd: &[u8],
        last_zxid: i64,
        read_only: Option<bool>,
    ) {
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: last_zxid,
            timeout: 30_000,
            session_id,
            passwd: passwd.to_vec(),
            read_only,
        };
        self.send_raw(&record_frame(&request)).await;
    }

    /// Reads one frame's payload; `None` when the server closed the connection.
    pub async fn read_frame(&mut self) -> Option<Vec<u8>> {
        let read = async {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await.ok()?;
            let mut payload = vec![0u8; i32::from_be_bytes(len) as usize];
            self.stream.read_exact(&mut payload).await.ok()?;
            Some(payload)
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("no answer within 10 s")
    }

    /// A new session: the connect response.
    pub async fn handshake(addr: SocketAddr) -> (RawClient, ConnectResponse) {
        let mut client = RawClient::connect(addr).await;
        client.send_connect(0, &[0; 16], 0, Some(false)).await;
        let payload = client.read_frame().await.expect("connect response");
        (client, ConnectResponse::from_bytes(&payload).unwrap())
    }

    /// Sends a request (header + record body).
    pub async fn send_request(&mut self, xid: i32, op_type: i32, body: &impl Record) {
        let mut w = Writer::framed();
        RequestHeader { xid, op_type }.write(&mut w);
        body.write(&mut w);
        self.send_raw(&w.into_frame()).await;
    }

    /// Sends a path read (exists, getData, getChildren) that may leave a watch.
    pub async fn send_path_read(&mut self, xid: i32, op: OpCode, path: &str, watch: bool) {
        let request = GetDataRequest {
            path: path.into(),
            watch,
        };
        self.send_request(xid, op.code(), &request).await;
    }

    /// Reads a reply: its header and the body bytes.
    pub async fn read_reply(&mut self) -> Option<(ReplyHeader, Vec<u8>)> {
        let payload = self.read_frame().await?;
        let header = ReplyHeader::from_bytes(&payload).unwrap();
        Some((header, payload[16..].to_vec()))
    }

    /// True when the server closed the connection (reads end of stream) within 10 s.
    pub async fn is_closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// Asserts that a new client can still open a session and do a round trip.
pub async fn assert_server_serves(addr: SocketAddr) {
    let (mut other, response) = RawClient::handshake(addr).await;
    assert_ne!(response.session_id, 0);
    other.send_path_read(1, OpCode::Exists, "/", false).await;
    let (header, _) = other.read_reply().await.expect("exists reply");
    assert_eq!((header.xid, header.err), (1, 0));
}

/// Sends a four-letter word and returns the whole answer.
pub async fn four_letter_word(addr: SocketAddr, word: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(word.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// GET over plain HTTP/1.1; returns the status line and the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .unwrap()
    .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// A certificate authority named `name`, made with rcgen.
pub fn authority(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
}

/// A port nobody listens on right now and that no earlier call in this test process returned: a port
/// handed out but not bound (a member's election port, which zk-server names but never listens on, or one
/// of a member that is not started yet) must not be handed out again, or two members of one
/// configuration could get the same address.
///
/// Ports come from below the kernel's ephemeral range (`ip_local_port_range`), from a start that
/// differs between test processes: a port of that range, free when handed out, could be given to an
/// outgoing connection of any process before the member meant to listen on it binds it.
pub fn free_port() -> u16 {
    const LOWEST: u16 = 15_000;
    static NEXT: std::sync::Mutex<Option<u16>> = std::sync::Mutex::new(None);
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|start| *start > LOWEST + 1_000)
        .unwrap_or(32_768);
    let span = u32::from(ephemeral_start - LOWEST);
    let mut next = NEXT.lock().unwrap();
    let mut offset = match *next {
        Some(offset) => u32::from(offset),
        None => (std::process::id() * 7_919) % span,
    };
    for _ in 0..span {
        let port = LOWEST + u16::try_from(offset).unwrap();
        offset = (offset + 1) % span;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            *next = Some(u16::try_from(offset).unwrap());
            return port;
        }
    }
    panic!("no free port between {LOWEST} and {ephemeral_start}");
}

/// Starts `size` members of one ensemble in this process, on loopback ports, each from a zoo.cfg with
/// tickTime=200, initLimit=10, syncLimit=5, `extra` lines and every member's `server.N` line (which holds its client address);
/// returns them in `myid` order once one of them leads and every other one follows.
pub async fn start_ensemble(size: u64, extra: &str) -> Vec<TestServer> {
    start_ensemble_with(size, extra, |_| String::new()).await
}

/// [`start_ensemble`] with lines of member `id`'s own (`own(id)`) added to its zoo.cfg.
pub async fn start_ensemble_with(
    size: u64,
    extra: &str,
    own: impl Fn(u64) -> String,
) -> Vec<TestServer> {
    start_ensemble_with_properties(size, extra, own, Vec::new()).await
}

/// [`start_ensemble_with`] with Java system properties for every member, as `SERVER_JVMFLAGS`
/// would give them.
pub async fn start_ensemble_with_properties(
    size: u64,
    extra: &str,
    own: impl Fn(u64) -> String,
    properties: Vec<(String, String)>,
) -> Vec<TestServer> {
    let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
    let mut lines = String::from(extra);
    for (i, (client, quorum)) in ports.iter().enumerate() {
        let election = free_port();
        lines.push_str(&format!(
            "server.{}=127.0.0.1:{quorum}:{election}:participant;127.0.0.1:{client}\n",
            i + 1
        ));
    }
    let starts = ports.iter().enumerate().map(|(i, (client, _))| {
        let lines = format!("{lines}{}", own(i as u64 + 1));
        let client = *client;
        let properties = properties.clone();
        async move {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("data")).unwrap();
            std::fs::write(dir.path().join("data/myid"), format!("{}\n", i + 1)).unwrap();
            let cfg = dir.path().join("zoo.cfg");
            let text = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}/data\nadmin.enableServer=false\n{lines}",
                dir.path().display()
            );
            std::fs::write(&cfg, text).unwrap();
            let config = load_with_properties(&cfg, properties).unwrap();
            assert_eq!(config.client_address.as_ref().map(|a| a.port), Some(client));
            let server = Server::start(config).await.unwrap();
            TestServer { server, dir }
        }
    });
    let members = join_all(starts).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let roles: Vec<Role> = members.iter().map(|m| m.server.context().role()).collect();
        let leaders = roles.iter().filter(|r| **r == Role::Leader).count();
        let followers = roles.iter().filter(|r| **r == Role::Follower).count();
        if leaders == 1 && leaders + followers == members.len() {
            // A few ticks, so that every member's periodic tasks have seen its role.
            tokio::time::sleep(Duration::from_millis(600)).await;
            return members;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no stable leader: {roles:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs every future to completion concurrently, keeping their order.
async fn join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// The member that leads, waiting for one among `members`.
pub async fn leader_of(members: &[&TestServer]) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(i) = members
            .iter()
            .position(|m| m.server.context().role() == Role::Leader)
        {
            return i;
        }
        assert!(std::time::Instant::now() < deadline, "no leader elected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts member `id` as a joiner of the ensemble `members` (their server lines plus its own), with
/// the zoo.cfg lines `own` and the Java system properties `properties`; also returns its server
/// line.
pub async fn start_joiner(
    members: &[TestServer],
    id: u64,
    own: &str,
    properties: Vec<(String, String)>,
) -> (TestServer, String) {
    let servers: String = members[0]
        .server
        .context()
        .consensus
        .members()
        .iter()
        .map(|m| format!("server.{}={}\n", m.id, m.spec))
        .collect();
    let spec = format!(
        "127.0.0.1:{}:{}:participant;127.0.0.1:{}",
        free_port(),
        free_port(),
        free_port()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/myid"), format!("{id}\n")).unwrap();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}/data\nadmin.enableServer=false\n\
             {servers}server.{id}={spec}\n{own}",
            dir.path().display()
        ),
    )
    .unwrap();
    let config = load_with_properties(&cfg, properties).unwrap();
    let server = Server::start(config).await.unwrap();
    (TestServer { server, dir }, format!("server.{id}={spec}"))
}

/// Waits until every one of `outsiders`, joiners that reach no member of the ensemble, has founded
/// an ensemble of its own (a voter with an empty log does once its grace period, `initLimit` ticks
/// but at least 5 s, has passed without reaching every other voter), then for several election
/// timeouts (a tick of 200 ms each): long enough for them to campaign. Panics if one has not
/// founded one in 15 s.
pub async fn founded_and_campaigned(outsiders: &[&TestServer]) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while outsiders
        .iter()
        .any(|o| o.server.context().consensus.members().is_empty())
    {
        assert!(Instant::now() < deadline, "an outsider founded no ensemble");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Asserts that `outsider`, a member the ensemble `members` refuses, neither leads nor follows and
/// synced nothing, and that its campaigns never reached the ensemble: each member is still in
/// `term` and lists only the members of the ensemble.
pub fn assert_kept_out(outsider: &TestServer, members: &[TestServer], term: u64) {
    let ctx = outsider.server.context();
    assert_ne!(ctx.role(), Role::Leader);
    assert_ne!(ctx.role(), Role::Follower);
    assert_eq!(ctx.consensus.last_applied_zxid(), 0, "it synced nothing");
    let ids: Vec<u64> = members
        .iter()
        .map(|m| m.server.context().consensus.my_id())
        .collect();
    for member in members {
        let consensus = &member.server.context().consensus;
        assert_eq!(
            consensus.term(),
            term,
            "a refused member's campaign reached the ensemble"
        );
        assert!(consensus.members().iter().all(|m| ids.contains(&m.id)));
    }
}

/// Asserts that `outsider` (member `id`) has still synced nothing, and that the leader of
/// `members` does not count it as synced; `after` says what was tried (for the message).
pub async fn assert_never_synced(
    outsider: &TestServer,
    id: u64,
    members: &[TestServer],
    after: &str,
) {
    assert_eq!(
        outsider.server.context().consensus.last_applied_zxid(),
        0,
        "the refused member synced after {after}"
    );
    let leader = leader_of(&members.iter().collect::<Vec<_>>()).await;
    let progress = members[leader].server.context().consensus.followers();
    assert!(
        progress.iter().all(|f| f.member.id != id || !f.synced),
        "{progress:?}"
    );
}

/// Adds the member of the server line `line` by an incremental reconfig through `client`.
pub async fn add_member(
    client: &zookeeper_client::Client,
    line: &str,
) -> Result<(), zookeeper_client::Error> {
    let joining = [line];
    let update = zookeeper_client::EnsembleUpdate::Incremental {
        joinings: joining.iter().copied(),
        leavings: [].iter().copied(),
    };
    client.update_ensemble(update, None).await.map(|_| ())
}

/// The zoo.cfg lines that require quorum SASL both ways.
pub const QUORUM_SASL_REQUIRED: &str = "quorum.auth.enableSasl=true\n\
                                        quorum.auth.learnerRequireSasl=true\n\
                                        quorum.auth.serverRequireSasl=true\n";

/// Writes a JAAS file whose quorum sections know user `test` with `password`, and returns the
/// system property that points at it.
pub fn quorum_jaas(dir: &Path, name: &str, password: &str) -> Vec<(String, String)> {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "QuorumServer {{\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
             user_test=\"{password}\";\n}};\n\
             QuorumLearner {{\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
             username=\"test\"\n  password=\"{password}\";\n}};\n"
        ),
    )
    .unwrap();
    vec![(
        "java.security.auth.login.config".to_string(),
        path.display().to_string(),
    )]
}

/// Creates the persistent node `path`, empty and open to anyone, through `client`.
pub async fn create_open(client: &zookeeper_client::Client, path: &str) {
    let mode =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    client.create(path, b"", &mode).await.unwrap();
}

/// Waits until `member` has applied a write (it joined and synced).
pub async fn wait_until_synced(member: &TestServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while member.server.context().consensus.last_applied_zxid() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the member never synced"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
