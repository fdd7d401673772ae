//! Sessions over TLS (`--tls`) against both flavours: each serves its `secureClientPort` with the run's
//! certificates from the same generated settings, and answers a connect row (a TLS handshake per session)
//! and a setData row in full. Against our server when its binary can be found (`ZK_SERVER_BIN`, or
//! `zk-server` built into the same target directory as this test); always against Apache ZooKeeper.
//! Counts are asserted, never timings.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use zk_bench::launch::{Flavour, Launcher};
use zk_bench::runner::{self, Limits};
use zk_bench::session::Session;
use zk_bench::tls::{RunTls, SECURE_PORT_OFFSET};
use zk_bench::workload::{Concurrency, OpKind, Workload};
use zk_bench::zoocfg::Topology;

/// Our server's binary, if it can be found.
fn our_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("ZK_SERVER_BIN") {
        return Some(bin.into());
    }
    // This test runs from <target>/<profile>/deps/; binaries are built into <target>/<profile>/.
    let exe = std::env::current_exe().ok()?;
    let sibling = exe.parent()?.parent()?.join("zk-server");
    sibling.is_file().then_some(sibling)
}

fn launcher() -> Launcher {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compat/apache_classpath.sh");
    let out = std::process::Command::new(&script)
        .output()
        .expect("run compat/apache_classpath.sh");
    Launcher {
        apache_classpath: String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        server_bin: our_binary(),
        workdir: std::env::temp_dir(),
        netns: Vec::new(),
    }
}

/// A client port such that it and its secure port are free right now.
fn free_base_port() -> u16 {
    loop {
        let base = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind an ephemeral port");
        if base.checked_add(SECURE_PORT_OFFSET).is_some_and(|secure| {
            TcpListener::bind(("127.0.0.1", base)).is_ok()
                && TcpListener::bind(("127.0.0.1", secure)).is_ok()
        }) {
            return base;
        }
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
async fn sessions_over_tls_are_answered_by_every_flavour() {
    let launcher = launcher();
    let mut flavours = vec![Flavour::Apache];
    if launcher.server_bin.is_some() {
        flavours.push(Flavour::Ours);
    }
    let certs = tempfile::tempdir().unwrap();
    let tls = RunTls::create(certs.path()).unwrap();
    for flavour in flavours {
        let topology = Topology::loopback(1, free_base_port())
            .with_settings(&tls.server_settings())
            .with_secure_ports();
        let deployment = launcher.start(flavour, &topology).await.unwrap();
        let plain = deployment.client_addrs()[0];
        let secure = tls.endpoint(plain);

        let handshakes = runner::churn(std::slice::from_ref(&secure), 2, exactly(20))
            .await
            .unwrap_or_else(|e| panic!("{flavour}: connect over TLS: {e}"));
        assert_eq!(handshakes.ops, 20, "{flavour}");

        runner::populate(plain, "/tls/pool", 10, b"v")
            .await
            .unwrap();
        let writes = Workload::on_pool(OpKind::SetData, "/tls/pool", 10, b"w".to_vec());
        let pipelined = Concurrency {
            sessions: 2,
            in_flight: 4,
        };
        let stats = runner::run(
            std::slice::from_ref(&secure),
            &writes,
            pipelined,
            exactly(100),
        )
        .await
        .unwrap_or_else(|e| panic!("{flavour}: setData over TLS: {e}"));
        assert_eq!(stats.ops, 100, "{flavour}");

        // The secure port speaks TLS only: a plain-text session there gets nowhere.
        let refused = tokio::time::timeout(Duration::from_secs(10), Session::connect(secure.addr))
            .await
            .map_or(true, |session| session.is_err());
        assert!(refused, "{flavour}: a plain session on the TLS port");
        deployment.stop().await;
    }
}
