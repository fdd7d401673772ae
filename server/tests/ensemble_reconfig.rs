//! Dynamic reconfiguration of a three-member ensemble in this process through the `zookeeper-client`
//! crate's `update_ensemble`: incremental remove and add, a whole new member list, and a stale `-v`.

mod common;

use common::start_ensemble;
use zookeeper_client::{Client, EnsembleUpdate, Error};

/// The `server.N=…` lines and the version of a `/zookeeper/config` text.
fn parse(config: &[u8]) -> (Vec<String>, i64) {
    let text = String::from_utf8(config.to_vec()).unwrap();
    let mut servers = Vec::new();
    let mut version = None;
    for line in text.lines() {
        if line.starts_with("server.") {
            servers.push(line.to_string());
        } else if let Some(v) = line.strip_prefix("version=") {
            version = Some(i64::from_str_radix(v, 16).unwrap());
        }
    }
    (servers, version.expect("a version line"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_ensemble_removes_adds_and_replaces_members() {
    let members = start_ensemble(3, "reconfigEnabled=true\nskipACL=yes\n").await;
    let client = Client::connect(&members[0].connect_string()).await.unwrap();
    let (config, _) = client.get_data("/zookeeper/config").await.unwrap();
    let (servers, version) = parse(&config);
    assert_eq!(servers.len(), 3, "{servers:?}");
    let third = servers[2].clone();

    let leaving = EnsembleUpdate::Incremental {
        joinings: [].iter().copied(),
        leavings: ["3"].iter().copied(),
    };
    let (config, stat) = client.update_ensemble(leaving, None).await.unwrap();
    let (after_remove, removed_version) = parse(&config);
    assert_eq!(after_remove, servers[..2]);
    assert!(removed_version > version);
    assert_eq!(
        stat.mzxid, removed_version,
        "the Stat is /zookeeper/config's"
    );

    // The removed member keeps following the leader, so it can be added back at once.
    let joinings = [third.as_str()];
    let joining = EnsembleUpdate::Incremental {
        joinings: joinings.iter().copied(),
        leavings: [].iter().copied(),
    };
    let (config, _) = client
        .update_ensemble(joining, Some(removed_version))
        .await
        .unwrap();
    let (after_add, added_version) = parse(&config);
    assert_eq!(after_add, servers);

    // `-v` with a version that is no longer current changes nothing.
    let stale = EnsembleUpdate::Incremental {
        joinings: [].iter().copied(),
        leavings: ["2"].iter().copied(),
    };
    let refused = client.update_ensemble(stale, Some(removed_version)).await;
    assert!(matches!(refused, Err(Error::BadVersion)), "{refused:?}");

    let whole = EnsembleUpdate::New {
        ensemble: servers[..2].iter().map(String::as_str),
    };
    let (config, _) = client
        .update_ensemble(whole, Some(added_version))
        .await
        .unwrap();
    assert_eq!(parse(&config).0, servers[..2]);
    let (read_back, _) = client.get_data("/zookeeper/config").await.unwrap();
    assert_eq!(
        read_back, config,
        "reconfig answers with the committed config"
    );
}
