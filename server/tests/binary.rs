//! The `zk-server` binary: exit codes, configuration errors, clean shutdown on SIGTERM.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

#[test]
fn serves_then_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let cfg = common::write_config(dir.path(), "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("clientPort=2181", &format!("clientPort={port}"));
    std::fs::write(&cfg, text).unwrap();
    let mut child = zk_server().arg(&cfg).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            stream.write_all(b"srvr").unwrap();
            let mut out = String::new();
            let _ = stream.read_to_string(&mut out);
            if out.contains("Mode: standalone") {
                break out;
            }
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    };
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
