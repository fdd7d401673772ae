//! One add/remove round of the reconfiguration benchmark: member 2 joins a lone member 1 and becomes a
//! voter, then leaves. Against our server when its binary can be found (`ZK_SERVER_BIN`, or `zk-server`
//! built into the same target directory as this test), else against Apache ZooKeeper. What happened is
//! asserted, never how long it took.

use std::path::PathBuf;

mod common;

use zk_bench::launch::{Flavour, Launcher};
use zk_bench::reconfig::admin::read_config;
use zk_bench::reconfig::ensemble::GrowingEnsemble;
use zk_bench::reconfig::topology;
use zk_bench::session::Session;

fn launcher(server_bin: Option<PathBuf>) -> Launcher {
    let apache_classpath = match server_bin {
        Some(_) => String::new(),
        None => common::apache_classpath(),
    };
    Launcher {
        apache_classpath,
        server_bin,
        workdir: std::env::temp_dir(),
        netns: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_becomes_a_voter_and_leaves_again() {
    let server_bin = common::our_binary();
    let flavour = if server_bin.is_some() {
        Flavour::Ours
    } else {
        Flavour::Apache
    };
    eprintln!("testing against {flavour} ({server_bin:?})");
    let launcher = launcher(server_bin);
    let topology = topology(2, common::free_base_port(&[0, 1, 100, 101, 200, 201]));
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
