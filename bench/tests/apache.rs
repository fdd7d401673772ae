//! The load generator against a real Apache ZooKeeper (Debian's `zookeeper` package): start-up from the
//! generated `zoo.cfg`, every workload answered in full, failures reported, resident memory readable.
//! Counts are asserted, never timings.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use zk_bench::launch::{Deployment, Flavour, Launcher};
use zk_bench::rss::resident_bytes;
use zk_bench::runner::{self, Limits, RunError};
use zk_bench::session::{Endpoint, SessionError};
use zk_bench::workload::{Concurrency, OpKind, Workload};
use zk_bench::zoocfg::Topology;
use zk_proto::ErrorCode;

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A standalone Apache ZooKeeper on a free port, ready.
async fn start_apache() -> Deployment {
    let topology = Topology::loopback(1, free_port());
    launcher()
        .start(Flavour::Apache, &topology)
        .await
        .expect("Apache starts")
}

fn launcher() -> Launcher {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compat/apache_classpath.sh");
    let out = std::process::Command::new(&script)
        .output()
        .expect("run compat/apache_classpath.sh");
    Launcher {
        apache_classpath: String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        server_bin: None,
        workdir: std::env::temp_dir(),
        netns: Vec::new(),
    }
}

fn exactly(ops: u64) -> Limits {
    Limits {
        warmup: Duration::ZERO,
        duration: Duration::from_secs(120),
        max_ops: ops,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_is_answered_in_full_by_apache() {
    let deployment = start_apache().await;
    let addrs = deployment.client_addrs();
    let endpoints: Vec<Endpoint> = addrs.iter().map(|&a| Endpoint::plain(a)).collect();
    let value = vec![b'x'; 100];

    let pool = runner::populate(addrs[0], "/t/pool", 10, &value)
        .await
        .unwrap();
    assert_eq!(pool.ops, 10);

    let pipelined = Concurrency {
        sessions: 2,
        in_flight: 4,
    };
    for kind in [
        OpKind::SetData,
        OpKind::GetData,
        OpKind::Mixed90,
        OpKind::Mixed50,
    ] {
        let workload = Workload::on_pool(kind, "/t/pool", 10, value.clone());
        let stats = runner::run(&endpoints, &workload, pipelined, exactly(200))
            .await
            .unwrap();
        assert_eq!(stats.ops, 200, "{kind}");
        assert!(stats.p50 <= stats.p99);
    }

    runner::ensure_path(addrs[0], "/t/create").await.unwrap();
    let creates = Workload::create("/t/create", value.clone());
    let stats = runner::run(&endpoints, &creates, pipelined, exactly(50))
        .await
        .unwrap();
    assert_eq!(stats.ops, 50);

    let pid = deployment.pids()[0];
    assert!(resident_bytes(pid).unwrap() > 1 << 20);
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_fails_the_row_with_its_error_code() {
    let deployment = start_apache().await;
    let missing = Workload::on_pool(OpKind::GetData, "/nowhere", 10, Vec::new());
    let one = Concurrency {
        sessions: 1,
        in_flight: 1,
    };
    let endpoint = Endpoint::plain(deployment.client_addrs()[0]);
    let err = runner::run(&[endpoint], &missing, one, exactly(5))
        .await
        .unwrap_err();
    match err {
        RunError::Session(SessionError::Reply { name, .. }) => {
            assert_eq!(name, Some(ErrorCode::NoNode));
        }
        other => panic!("expected NoNode, got {other}"),
    }
    deployment.stop().await;
}
