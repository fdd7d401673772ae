//! Disk faults: a full data volume, fsync failing with EIO, a torn last record, corruption in the
//! middle of the log, a damaged snapshot, and a member of an ensemble recovering from corrupt data.
//!
//! The volume tests mount their own small tmpfs (and an ext4 file system on a loop device) and
//! unmount them when they end, failed or not; they need root, as CI has, and fail saying so
//! without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zk_server::config::load_with_properties;
use zk_server::server::Server;
use zookeeper_client::{Acls, Client, CreateMode, Error};

/// How long a server may take to start, to stop, or to answer.
const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Volumes

/// Runs a command that must succeed.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fails the test, saying why, unless it runs as root (mounts and loop devices need it).
fn require_root() {
    let uid = Command::new("id").arg("-u").output().unwrap().stdout;
    assert_eq!(
        String::from_utf8_lossy(&uid).trim(),
        "0",
        "this test mounts its own volumes and must run as root (CI does)"
    );
}

/// A tmpfs of `size` mounted on a directory; unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        require_root();
        std::fs::create_dir_all(at).unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                at.to_str().unwrap(),
            ],
        );
        Tmpfs { at: at.into() }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// An ext4 file system on a loop device whose (sparse, larger) backing file lives on a small
/// tmpfs: once that tmpfs is full, writes to the device fail, and the file system's fsync
/// returns EIO, as a failing disk's would. Detached and unmounted when dropped.
struct FailingDisk {
    mounted: PathBuf,
    device: String,
    backing: Tmpfs,
}

impl FailingDisk {
    fn mount(scratch: &Path, at: &Path) -> FailingDisk {
        let backing = Tmpfs::mount(&scratch.join("backing"), "24m");
        let image = backing.at.join("disk.img");
        std::fs::File::create(&image)
            .unwrap()
            .set_len(256 << 20)
            .unwrap();
        let output = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image)
            .output()
            .unwrap();
        assert!(output.status.success(), "losetup: {output:?}");
        let device = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let disk = FailingDisk {
            mounted: at.into(),
            device,
            backing,
        };
        run(
            "mkfs.ext4",
            &[
                "-q",
                "-E",
                "lazy_itable_init=1,lazy_journal_init=1",
                &disk.device,
            ],
        );
        std::fs::create_dir_all(at).unwrap();
        run("mount", &[&disk.device, at.to_str().unwrap()]);
        disk
    }

    /// Fills the tmpfs under the device: later writes to the device fail.
    fn break_device(&self) {
        fill(&self.backing.at.join("filler"));
    }

    /// Frees the tmpfs under the device again.
    fn repair_device(&self) {
        std::fs::remove_file(self.backing.at.join("filler")).unwrap();
    }
}

impl Drop for FailingDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mounted).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

/// Writes `path` until its volume is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0xa5u8; 4096];
    loop {
        match file.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = file.flush();
}

// ---------------------------------------------------------------------------------------------
// Servers

/// A `zk-server` process on `dir/zoo.cfg`, its stderr in `dir/stderr.log`; killed when dropped.
struct Process {
    child: Child,
    stderr: PathBuf,
}

impl Process {
    fn start(dir: &Path) -> Process {
        let stderr = dir.join("stderr.log");
        let child = Command::new(env!("CARGO_BIN_EXE_zk-server"))
            .arg(dir.join("zoo.cfg"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Process { child, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for the process to exit by itself; its exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server and waits for it.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A standalone server's directory: `zoo.cfg` with `extra` lines, on a free client port.
fn standalone_dir(dir: &Path, extra: &str) -> String {
    let port = common::free_port();
    let cfg = common::write_config(dir, extra);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("clientPort=2181", &format!("clientPort={port}"));
    std::fs::write(&cfg, text).unwrap();
    format!("127.0.0.1:{port}")
}

/// Connects to `address`, waiting for the server to listen.
async fn connect(address: &str) -> Client {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match Client::connect(address).await {
            Ok(client) => return client,
            Err(e) => assert!(Instant::now() < deadline, "cannot connect: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

/// Creates `/n0` … `/n{count-1}`.
async fn create_nodes(client: &Client, count: usize) {
    for i in 0..count {
        client
            .create(
                &format!("/n{i}"),
                format!("data {i}").as_bytes(),
                &persistent(),
            )
            .await
            .unwrap();
    }
}

/// How many of `/n0` … `/n{count-1}` the server holds, with their data.
async fn nodes_held(client: &Client, count: usize) -> usize {
    let mut held = 0;
    for i in 0..count {
        match client.get_data(&format!("/n{i}")).await {
            Ok((data, _)) => {
                assert_eq!(data, format!("data {i}").as_bytes());
                held += 1;
            }
            Err(Error::NoNode) => {}
            Err(e) => panic!("reading /n{i}: {e}"),
        }
    }
    held
}

/// The log segments of a data directory, oldest first.
fn segments(data: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("raft-log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

/// A standalone server's directory after `count` znodes were written and the server stopped;
/// its client address and its last log segment.
async fn written_and_stopped(count: usize) -> (tempfile::TempDir, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let address = standalone_dir(dir.path(), "");
    let server = Process::start(dir.path());
    create_nodes(&connect(&address).await, count).await;
    server.kill();
    let last = segments(&dir.path().join("data")).pop().unwrap();
    (dir, address, last)
}

/// Where a segment's records end: the space allocated ahead of them holds zeros.
fn records_end(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    bytes.iter().rposition(|&b| b != 0).map_or(0, |at| at + 1) as u64
}

/// Flips one bit of the byte in the middle of the records of `path`; the damaged bytes.
fn flip_middle_byte(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = records_end(path) as usize / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// Starts the server of `dir` and checks that it exits with an error naming `damaged` and an
/// offset in it.
fn assert_start_refused(dir: &Path, damaged: &Path) {
    let mut server = Process::start(dir);
    assert_ne!(server.exit_code(), Some(0));
    let stderr = server.stderr();
    assert!(
        stderr.contains(&damaged.display().to_string()) && stderr.contains("at offset"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Damaged files

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_record_is_cut_off_with_a_log_line_and_the_server_starts() {
    let (dir, address, last) = written_and_stopped(20).await;
    let len = records_end(&last);
    let file = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    file.set_len(len - 3).unwrap();

    let server = Process::start(dir.path());
    let client = connect(&address).await;
    // Only the torn record is gone: the last entry (the create of /n19, or a later one).
    assert!(nodes_held(&client, 20).await >= 19);
    client.create("/after", b"", &persistent()).await.unwrap();
    let stderr = server.stderr();
    let line = stderr
        .lines()
        .find(|l| l.contains("torn"))
        .unwrap_or_else(|| panic!("no log line about the torn record: {stderr}"));
    assert!(line.contains(&last.display().to_string()), "{line}");
    let offset: u64 = line
        .split("offset=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {line}"));
    assert!(offset < len - 3, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_in_the_middle_of_the_log_refuses_the_start_naming_file_and_offset() {
    let (dir, _, segment) = written_and_stopped(40).await;
    let bytes = flip_middle_byte(&segment);

    assert_start_refused(dir.path(), &segment);
    // The file is left as it was, for inspection and for the recovery procedure.
    assert_eq!(std::fs::read(&segment).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_or_corrupted_snapshot_refuses_the_start_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let address = standalone_dir(dir.path(), "snapCount=20\n");
    let server = Process::start(dir.path());
    let client = connect(&address).await;
    create_nodes(&client, 60).await;
    let snapshots = dir.path().join("data/raft-snapshot");
    let deadline = Instant::now() + PATIENCE;
    let snapshot = loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&snapshots)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e != "tmp"))
            .collect();
        files.sort();
        if let Some(newest) = files.pop() {
            break newest;
        }
        assert!(Instant::now() < deadline, "no snapshot was written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(client);
    server.kill();
    let whole = std::fs::read(&snapshot).unwrap();

    let truncated = &whole[..whole.len() * 2 / 3];
    let mut corrupted = whole.clone();
    corrupted[whole.len() / 2] ^= 0x01;
    for damaged in [truncated, &corrupted[..]] {
        std::fs::write(&snapshot, damaged).unwrap();
        assert_start_refused(dir.path(), &snapshot);
    }
}

// ---------------------------------------------------------------------------------------------
// Volumes

/// Starts an in-process server on `dir/zoo.cfg`, waiting until it leads.
async fn start_in_process(dir: &Path) -> Server {
    let mut config = load_with_properties(&dir.join("zoo.cfg"), Vec::new()).unwrap();
    config.admin.port = 0;
    let server = Server::start(config).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    while server.context().role() != zk_server::consensus::Role::Leader {
        assert!(Instant::now() < deadline, "the server never became leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_volume_refuses_writes_serves_reads_and_takes_writes_again_once_freed() {
    let dir = tempfile::tempdir().unwrap();
    let volume = Tmpfs::mount(&dir.path().join("data"), "4m");
    let address = standalone_dir(dir.path(), "4lw.commands.whitelist=isro\n");
    let server = start_in_process(dir.path()).await;
    let socket = address.parse().unwrap();
    assert_eq!(common::four_letter_word(socket, "isro").await, "rw");
    let client = connect(&address).await;
    create_nodes(&client, 10).await;

    // This session's writes stop at the full volume, and so do its reads and pings queued
    // behind them (ZooKeeper's order): the checks below use another session.
    let writer = connect(&address).await;
    fill(&volume.at.join("filler"));
    // Writes go on until one meets the full volume (the last pages of the files may hold a few).
    let mut acknowledged = Vec::new();
    let mut waiting = None;
    for i in 0.. {
        let path = format!("/full{i}");
        let write = {
            let client = writer.clone();
            let path = path.clone();
            tokio::spawn(async move { client.create(&path, b"x", &persistent()).await })
        };
        let deadline = Instant::now() + PATIENCE;
        while !write.is_finished() && !server.context().consensus.is_disk_full() {
            assert!(Instant::now() < deadline, "the volume never got full");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if server.context().consensus.is_disk_full() {
            waiting = Some((path, write));
            break;
        }
        write.await.unwrap().unwrap();
        acknowledged.push(path);
    }
    let (waiting_path, waiting_write) = waiting.unwrap();

    // While full: a write is refused at once and never applied; reads are served; `isro` says
    // that writes are refused (the operator reads it).
    assert!(matches!(
        client.create("/refused", b"", &persistent()).await,
        Err(Error::NotReadOnly)
    ));
    assert_eq!(common::four_letter_word(socket, "isro").await, "ro");
    assert_eq!(nodes_held(&client, 10).await, 10);
    assert!(!waiting_write.is_finished());

    std::fs::remove_file(volume.at.join("filler")).unwrap();
    // Acknowledged once written, or lost with the connection (its outcome unknown to the client).
    match waiting_write.await.unwrap() {
        Ok(_) => acknowledged.push(waiting_path),
        Err(e) => assert!(
            matches!(
                e,
                Error::ConnectionLoss | Error::SessionExpired | Error::Timeout
            ),
            "{e}"
        ),
    }
    client.create("/after", b"", &persistent()).await.unwrap();
    acknowledged.push("/after".into());
    assert!(!server.context().consensus.is_disk_full());
    assert_eq!(common::four_letter_word(socket, "isro").await, "rw");

    // Nothing acknowledged is lost across a restart.
    drop((client, writer));
    server.shutdown().await;
    let server = start_in_process(dir.path()).await;
    let client = connect(&address).await;
    assert_eq!(nodes_held(&client, 10).await, 10);
    for path in &acknowledged {
        client.get_data(path).await.unwrap();
    }
    assert!(matches!(
        client.get_data("/refused").await,
        Err(Error::NoNode)
    ));
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_failing_with_eio_is_never_acknowledged_and_the_server_exits_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FailingDisk::mount(dir.path(), &dir.path().join("data"));
    let address = standalone_dir(dir.path(), "");
    let mut server = Process::start(dir.path());
    let client = connect(&address).await;
    create_nodes(&client, 5).await;

    disk.break_device();
    // Writes until one needs blocks of the device that were never written: past the zeros the
    // log writes ahead of its records (1 MiB), the writes before it land in blocks that were.
    let mut failed = None;
    for n in 0..8 {
        if let Err(e) = client
            .create(&format!("/lost-{n}"), &vec![7u8; 512 << 10], &persistent())
            .await
        {
            failed = Some(e);
            break;
        }
    }
    assert!(
        failed.is_some(),
        "4 MiB of writes whose fsync failed were acknowledged: {}",
        server.stderr()
    );
    // The member stops rather than serve a state that no longer moves; nothing is retried.
    assert_eq!(server.exit_code(), Some(1));
    let stderr = server.stderr();
    assert!(
        // The device's failed write comes back from fsync as EIO, or as ENOSPC for a block
        // allocated ahead (the loop driver passes its backing file's error on): never retried.
        stderr.contains("writing the raft log failed")
            && (stderr.contains("Input/output error") || stderr.contains("No space left"))
            && stderr.contains("Severe unrecoverable error"),
        "no log line saying why: {stderr}"
    );
    disk.repair_device();
}

// ---------------------------------------------------------------------------------------------
// An ensemble member with corrupt data

/// Moves a member's data aside as docs/robustness.md says: everything but `myid` and the vote.
fn move_data_aside(data: &Path) -> PathBuf {
    let aside = data.with_file_name("data.corrupt");
    std::fs::create_dir_all(aside.join("raft-log")).unwrap();
    for item in std::fs::read_dir(data.join("raft-log")).unwrap() {
        let path = item.unwrap().path();
        if path.file_name().unwrap() != "vote" {
            std::fs::rename(
                &path,
                aside.join("raft-log").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    std::fs::rename(data.join("raft-snapshot"), aside.join("raft-snapshot")).unwrap();
    aside
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ensemble_member_with_corrupt_data_recovers_from_the_leader_once_it_is_moved_aside() {
    let mut members = common::start_ensemble(3, "").await;
    let victim = members
        .iter()
        .position(|m| m.server.context().role() == zk_server::consensus::Role::Follower)
        .unwrap();
    let client = connect(&members[victim].connect_string()).await;
    create_nodes(&client, 30).await;
    drop(client);
    let common::TestServer { server, dir } = members.remove(victim);
    server.shutdown().await;

    let data = dir.path().join("data");
    let segment = segments(&data).pop().unwrap();
    flip_middle_byte(&segment);
    let config = load_with_properties(&dir.path().join("zoo.cfg"), Vec::new()).unwrap();
    let error = match Server::start(config.clone()).await {
        Ok(_) => panic!("a member with a corrupt log started"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains(&segment.display().to_string()) && error.contains("at offset"),
        "{error}"
    );

    // Writes go on without it.
    let others = connect(&members[0].connect_string()).await;
    others
        .create("/while-down", b"", &persistent())
        .await
        .unwrap();

    let aside = move_data_aside(&data);
    assert!(
        aside
            .join("raft-log")
            .join(segment.file_name().unwrap())
            .exists()
    );
    let server = Server::start(config).await.unwrap();
    let client = connect(&server.client_address().to_string()).await;
    let deadline = Instant::now() + PATIENCE;
    while client.get_data("/while-down").await.is_err() {
        assert!(Instant::now() < deadline, "the member never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(nodes_held(&client, 30).await, 30);
    client.create("/after", b"", &persistent()).await.unwrap();
    // Another member serves its own, possibly older, view until a sync: as ZooKeeper promises.
    others.sync("/after").await.unwrap();
    others.get_data("/after").await.unwrap();
    drop((client, others));
    server.shutdown().await;
    for member in members {
        member.server.shutdown().await;
    }
}
