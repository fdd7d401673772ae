//! The `zk-server` binary: exit codes, configuration errors, clean shutdown on SIGTERM, and no
//! acknowledged write lost to a SIGKILL under load.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zookeeper_client::{Acls, Client, CreateMode};

fn zk_server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zk-server"))
}

#[test]
fn invalid_configuration_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), "maxClientCnxns=lots\n");
    let output = zk_server()
        .arg(&cfg)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("maxClientCnxns"), "{stderr}");
}

#[test]
fn missing_configuration_file_exits_2() {
    let output = zk_server().arg("/nonexistent/zoo.cfg").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// A zoo.cfg in `dir` whose client port is `port`.
fn config_on_port(dir: &Path, port: u16) -> PathBuf {
    config_with(dir, port, "")
}

/// A zoo.cfg in `dir` whose client port is `port`, with `extra` lines.
fn config_with(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let cfg = common::write_config(dir, extra);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("clientPort=2181", &format!("clientPort={port}"));
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// Waits until the server on `port` answers `srvr` as a standalone server; returns the answer.
fn wait_until_serving(port: u16) -> String {
    wait_for_mode(port, "standalone")
}

/// Waits until the server on `port` answers `srvr` with `Mode: <mode>`; returns the answer.
fn wait_for_mode(port: u16, mode: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            stream.write_all(b"srvr").unwrap();
            let mut out = String::new();
            let _ = stream.read_to_string(&mut out);
            if out.contains(&format!("Mode: {mode}")) {
                return out;
            }
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serves_then_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = config_on_port(dir.path(), port);
    let mut child = zk_server().arg(&cfg).stderr(Stdio::null()).spawn().unwrap();
    let answer = wait_until_serving(port);
    assert!(answer.starts_with("Zookeeper version: 3.9.3-zkrs-"));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// What one writer had acknowledged when the server was killed.
#[derive(Default)]
struct Acknowledged {
    /// Sequential nodes created, with their data.
    created: Vec<(String, Vec<u8>)>,
    /// The last value `setData` acknowledged on the writer's counter node.
    counter: Option<u64>,
}

/// Creates sequential nodes and bumps a counter node as fast as the server answers, recording every
/// acknowledged write, until the connection fails. `name` tells this writer's nodes apart from
/// every other writer's, in this round of load and in earlier ones.
async fn write_until_failure(address: String, name: String, acked: Arc<Mutex<Acknowledged>>) {
    let Ok(client) = Client::connect(&address).await else {
        return;
    };
    let options = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    let counter = format!("/counter-{name}");
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    if client.create(&counter, b"0", &persistent).await.is_err() {
        return;
    }
    for n in 1u64.. {
        let data = format!("writer {name} write {n}").into_bytes();
        let Ok((_, sequence)) = client
            .create(&format!("/load/{name}-"), &data, &options)
            .await
        else {
            return;
        };
        let path = format!("/load/{name}-{sequence}");
        acked.lock().unwrap().created.push((path, data));
        if client
            .set_data(&counter, n.to_string().as_bytes(), None)
            .await
            .is_err()
        {
            return;
        }
        acked.lock().unwrap().counter = Some(n);
    }
}

/// Writers started per round of load.
const WRITERS: usize = 4;
/// Acknowledged creates each writer has at least when the server is killed.
const BEFORE_KILL: usize = 100;

/// Runs [`WRITERS`] writers named after `round` against the server `child` until each has
/// [`BEFORE_KILL`] acknowledged creates, then kills the server with SIGKILL in the middle of
/// their load. Returns what each writer had acknowledged.
async fn load_then_kill_9(
    address: &str,
    round: usize,
    mut child: std::process::Child,
) -> Vec<(String, Acknowledged)> {
    let acked: Vec<(String, Arc<Mutex<Acknowledged>>)> = (0..WRITERS)
        .map(|i| (format!("r{round}w{i}"), Arc::default()))
        .collect();
    let writers: Vec<_> = acked
        .iter()
        .map(|(name, a)| {
            tokio::spawn(write_until_failure(
                address.to_string(),
                name.clone(),
                a.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked
        .iter()
        .any(|(_, a)| a.lock().unwrap().created.len() < BEFORE_KILL)
    {
        assert!(Instant::now() < deadline, "the writers made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // No answer can arrive once the process is gone: stop the writers before they reconnect.
    for writer in writers {
        writer.abort();
        let _ = writer.await;
    }
    acked
        .into_iter()
        .map(|(name, a)| (name, std::mem::take(&mut *a.lock().unwrap())))
        .collect()
}

/// Asserts that every write in `acked` is stored by the server at `address`.
async fn assert_survived(address: &str, acked: &[(String, Acknowledged)]) {
    let reader = Client::connect(address).await.unwrap();
    let mut checked = 0;
    for (name, acked) in acked {
        for (path, data) in &acked.created {
            let (stored, _) = reader
                .get_data(path)
                .await
                .unwrap_or_else(|e| panic!("acknowledged {path} is missing after kill -9: {e}"));
            assert_eq!(&stored, data, "{path} lost its data");
            checked += 1;
        }
        let (value, _) = reader.get_data(&format!("/counter-{name}")).await.unwrap();
        let value: u64 = String::from_utf8(value).unwrap().parse().unwrap();
        assert!(
            value >= acked.counter.unwrap_or(0),
            "writer {name}: setData {} was acknowledged, {value} survived",
            acked.counter.unwrap_or(0)
        );
    }
    assert!(checked >= acked.len() * BEFORE_KILL);
}

/// Whether the newest raft log segment under `dir` ends in zeros: space allocated ahead of its
/// records, which the next start must read past as free space, not as a torn write.
fn last_segment_ends_in_zeros(dir: &Path) -> bool {
    fn segments(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                segments(&path, found);
            } else if path.extension().is_some_and(|x| x == "seg") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    segments(dir, &mut found);
    let last = found
        .iter()
        .max_by_key(|p| p.file_name().unwrap().to_owned())
        .expect("the log has a segment");
    let bytes = std::fs::read(last).unwrap();
    let ends_in_zeros = bytes.len() > 4096 && bytes[bytes.len() - 4096..].iter().all(|&b| b == 0);
    if !ends_in_zeros {
        let zeros = bytes.iter().rev().take_while(|&&b| b == 0).count();
        eprintln!(
            "segments {found:?}; the last one holds {} bytes, the last {zeros} of them zeros",
            bytes.len()
        );
    }
    ends_in_zeros
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cfg = config_on_port(dir.path(), port);
    let address = format!("127.0.0.1:{port}");
    let child = zk_server().arg(&cfg).stderr(Stdio::null()).spawn().unwrap();
    wait_until_serving(port);
    let setup = Client::connect(&address).await.unwrap();
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    setup.create("/load", b"", &persistent).await.unwrap();
    drop(setup);

    let mut acked = load_then_kill_9(&address, 1, child).await;
    assert!(
        last_segment_ends_in_zeros(dir.path()),
        "the killed server left no space allocated ahead of its log's records"
    );
    // The second round writes over the space the first one allocated ahead: its entries must
    // follow the first round's on disk, not land after the zeros where no reader looks.
    let child = zk_server().arg(&cfg).stderr(Stdio::null()).spawn().unwrap();
    wait_until_serving(port);
    assert_survived(&address, &acked).await;
    acked.extend(load_then_kill_9(&address, 2, child).await);

    let mut restarted = zk_server().arg(&cfg).stderr(Stdio::null()).spawn().unwrap();
    wait_until_serving(port);
    assert_survived(&address, &acked).await;
    restarted.kill().unwrap();
    restarted.wait().unwrap();
}

/// `command` without the variables that set the server's log level or format.
fn with_default_logging(command: &mut Command) -> &mut Command {
    for var in [
        "RUST_LOG",
        "LOG_FORMAT",
        "ZOO_LOG4J_PROP",
        "SERVER_JVMFLAGS",
        "JVMFLAGS",
    ] {
        command.env_remove(var);
    }
    command
}

/// Starts a one-voter ensemble (standaloneEnabled=false) with `env`, adds an observer that is not
/// running by reconfig, stops it with SIGTERM and returns what it wrote to stderr.
async fn log_of_election_and_reconfig(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let [client, quorum, election] = [(); 3].map(|_| common::free_port());
    let cfg = config_with(
        dir.path(),
        client,
        &format!(
            "initLimit=10\nsyncLimit=5\nstandaloneEnabled=false\nreconfigEnabled=true\nskipACL=yes\n\
             server.1=127.0.0.1:{quorum}:{election}:participant;{client}\n"
        ),
    );
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/myid"), "1").unwrap();
    let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
    let mut child = with_default_logging(zk_server().arg(&cfg).stderr(stderr))
        .envs(env.iter().copied())
        .spawn()
        .unwrap();

    tokio::task::spawn_blocking(move || wait_for_mode(client, "leader"))
        .await
        .unwrap();
    let session = Client::connect(&format!("127.0.0.1:{client}"))
        .await
        .unwrap();
    let observer = format!(
        "server.2=127.0.0.1:{}:{}:observer;127.0.0.1:{}",
        common::free_port(),
        common::free_port(),
        common::free_port()
    );
    let joining = [observer.as_str()];
    let add = zookeeper_client::EnsembleUpdate::Incremental {
        joinings: joining.iter().copied(),
        leavings: [].iter().copied(),
    };
    session.update_ensemble(add, None).await.unwrap();
    drop(session);
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    child.wait().unwrap();
    std::fs::read_to_string(dir.path().join("stderr")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_info_log_tells_the_ensembles_story_without_raft_internals() {
    let log = log_of_election_and_reconfig(&[]).await;
    assert!(log.contains("LEADING - LEADER ELECTION TOOK - "), "{log}");
    assert!(log.contains("observers=[2]"), "{log}");
    for internal in ["RaftState", "Vote {", "openraft::", "\u{1b}["] {
        assert!(!log.contains(internal), "{internal:?} in the log:\n{log}");
    }
    // Apache's DEBUG level brings the consensus library's INFO lines back.
    let debug = log_of_election_and_reconfig(&[("ZOO_LOG4J_PROP", "DEBUG,CONSOLE")]).await;
    assert!(debug.contains("openraft::"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line() {
    let log = log_of_election_and_reconfig(&[("LOG_FORMAT", "json")]).await;
    let mut leading = false;
    for line in log.lines() {
        assert!(
            line.starts_with('{') && line.ends_with('}') && line.contains("\"level\":"),
            "not a JSON object: {line}"
        );
        leading |= line.contains("LEADING - LEADER ELECTION TOOK");
    }
    assert!(leading, "{log}");
}

/// Two voters and an observer, every one listed in every `zoo.cfg` from the start (Apache refuses
/// observers beside a single voter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_listed_from_the_start_tells_it_observes_and_never_that_it_follows() {
    let dirs = [(); 3].map(|_| tempfile::tempdir().unwrap());
    let ports = [(); 3].map(|_| [(); 3].map(|_| common::free_port()));
    let mut servers = String::from("initLimit=10\nsyncLimit=5\nskipACL=yes\n");
    for (index, [client, quorum, election]) in ports.iter().enumerate() {
        let role = if index == 2 {
            "observer"
        } else {
            "participant"
        };
        servers.push_str(&format!(
            "server.{}=127.0.0.1:{quorum}:{election}:{role};{client}\n",
            index + 1
        ));
    }
    let mut children = Vec::new();
    for (index, dir) in dirs.iter().enumerate() {
        let cfg = config_with(dir.path(), ports[index][0], &servers);
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/myid"), format!("{}", index + 1)).unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
        let child = with_default_logging(zk_server().arg(&cfg).stderr(stderr))
            .spawn()
            .unwrap();
        children.push(child);
    }
    let observer = ports[2][0];
    tokio::task::spawn_blocking(move || wait_for_mode(observer, "observer"))
        .await
        .unwrap();
    for child in &mut children {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap();
    }
    let log = std::fs::read_to_string(dirs[2].path().join("stderr")).unwrap();
    assert!(log.contains("OBSERVING - LEADER ELECTION TOOK - "), "{log}");
    assert!(!log.contains("FOLLOWING"), "{log}");
}
