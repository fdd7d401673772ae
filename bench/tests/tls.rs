//! Sessions over TLS (`--tls`) against both flavours: each serves its `secureClientPort` with the run's
//! certificates from the same generated settings, and answers a connect row (a TLS handshake per session)
//! and a setData row in full. Against our server when its binary can be found (`ZK_SERVER_BIN`, or
//! `zk-server` built into the same target directory as this test); always against Apache ZooKeeper.
//! Counts are asserted, never timings.

use std::time::Duration;

mod common;

use zk_bench::launch::{Flavour, Launcher};
use zk_bench::runner::{self, Limits};
use zk_bench::session::Session;
use zk_bench::tls::{RunTls, SECURE_PORT_OFFSET};
use zk_bench::workload::{Concurrency, OpKind, Workload};
use zk_bench::zoocfg::Topology;

fn launcher() -> Launcher {
    Launcher {
        apache_classpath: common::apache_classpath(),
        server_bin: common::our_binary(),
        workdir: std::env::temp_dir(),
        netns: Vec::new(),
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
        let topology = Topology::loopback(1, common::free_base_port(&[0, SECURE_PORT_OFFSET]))
            .with_settings(&tls.server_settings())
            .with_secure_ports();
        let deployment = launcher.start(flavour, &topology).await.unwrap();
        let plain = deployment.client_addrs()[0];
        let secure = tls.endpoint(plain);

        let handshakes = runner::churn(std::slice::from_ref(&secure), 2, Limits::ops(20))
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
            Limits::ops(100),
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
