//! One add/remove round of the reconfiguration benchmark: member 2 joins a lone member 1 and becomes a
//! voter, then leaves. Against our server when its binary can be found (`ZK_SERVER_BIN`, or `zk-server`
//! built into the same target directory as this test), else against Apache ZooKeeper. What happened is
//! asserted, never how long it took.

use std::net::TcpListener;
use std::path::PathBuf;

use zk_bench::launch::{Flavour, Launcher};
use zk_bench::reconfig::admin::read_config;
use zk_bench::reconfig::ensemble::GrowingEnsemble;
use zk_bench::reconfig::topology;
use zk_bench::session::Session;

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

fn launcher(server_bin: Option<PathBuf>) -> Launcher {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../compat/apache_classpath.sh");
    let apache_classpath = match server_bin {
        Some(_) => String::new(),
        None => {
            let out = std::process::Command::new(&script)
                .output()
                .expect("run compat/apache_classpath.sh");
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        }
    };
    Launcher {
        apache_classpath,
        server_bin,
        workdir: std::env::temp_dir(),
        netns: Vec::new(),
    }
}

/// A client port such that it, the next one, and both 100 and 200 above (quorum and election ports of two
/// members) are free right now.
fn free_base_port() -> u16 {
    loop {
        let base = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind an ephemeral port");
        let ports = [0, 1, 100, 101, 200, 201].map(|offset| base.checked_add(offset));
        if ports
            .iter()
            .all(|p| p.is_some_and(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()))
        {
            return base;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_becomes_a_voter_and_leaves_again() {
    let server_bin = our_binary();
    let flavour = if server_bin.is_some() {
        Flavour::Ours
    } else {
        Flavour::Apache
    };
    eprintln!("testing against {flavour} ({server_bin:?})");
    let launcher = launcher(server_bin);
    let topology = topology(2, free_base_port());
    let mut ensemble = GrowingEnsemble::seed(&launcher, flavour, &topology)
        .await
        .expect("member 1 leads alone");

    ensemble.start_joiner(2, 1).await.expect("member 2 follows");
    let added = ensemble.add(2, 1).await.expect("member 2 added");
    assert!(added.reply.is_none_or(|reply| added.voting >= reply));
    let mut on_1 = Session::connect(ensemble.addr(1)).await.unwrap();
    assert!(read_config(&mut on_1).await.unwrap().is_participant(2));

    ensemble.remove(2, 1).await.expect("member 2 removed");
    let config = read_config(&mut on_1).await.unwrap();
    assert!(!config.lists(2), "{config:?}");
    assert!(config.is_participant(1));
    on_1.close().await.unwrap();
    ensemble.stop().await;
}
