//! Dynamic reconfiguration of a three-member ensemble in this process through the `zookeeper-client`
//! crate's `update_ensemble`: incremental remove and add, a whole new member list, and a stale `-v`.

mod common;

use common::start_ensemble;
use zk_server::consensus::Role;
use zookeeper_client::{Acls, Client, CreateMode, EnsembleUpdate, Error};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_comes_back_under_its_id_with_an_empty_volume() {
    let extra = "reconfigEnabled=true\nskipACL=yes\n";
    let mut members = start_ensemble(3, extra).await;
    let client = Client::connect(&members[0].connect_string()).await.unwrap();
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    client
        .create("/kept", b"before", &persistent)
        .await
        .unwrap();
    let (config, _) = client.get_data("/zookeeper/config").await.unwrap();
    let (servers, _) = parse(&config);

    // Remove a follower, stop it and forget its data, as the operator does when it scales down.
    let gone = members
        .iter()
        .rposition(|m| m.server.context().role() == Role::Follower)
        .unwrap();
    let id = (gone + 1).to_string();
    let leavings = [id.as_str()];
    let leaving = EnsembleUpdate::Incremental {
        joinings: [].iter().copied(),
        leavings: leavings.iter().copied(),
    };
    client.update_ensemble(leaving, None).await.unwrap();
    let removed = members.remove(gone);
    let address = removed.connect_string();
    removed.server.shutdown().await;
    drop(removed.dir);
    client.set_data("/kept", b"after", None).await.unwrap();

    // A new member with that id, on an empty volume, joins and is added back by reconfig.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/myid"), format!("{id}\n")).unwrap();
    let cfg = dir.path().join("zoo.cfg");
    let text = format!(
        "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}/data\nadmin.enableServer=false\n{extra}{}\n",
        dir.path().display(),
        servers.join("\n")
    );
    std::fs::write(&cfg, text).unwrap();
    let config = zk_server::config::load_with_properties(&cfg, Vec::new()).unwrap();
    let reborn = zk_server::server::Server::start(config).await.unwrap();
    let joinings = [servers[gone].as_str()];
    let joining = EnsembleUpdate::Incremental {
        joinings: joinings.iter().copied(),
        leavings: [].iter().copied(),
    };
    let (config, _) = client.update_ensemble(joining, None).await.unwrap();
    assert_eq!(parse(&config).0, servers);

    // The leader keeps serving, and the new member catches up from scratch.
    client.create("/later", b"", &persistent).await.unwrap();
    let on_reborn = Client::connect(&address).await.unwrap();
    on_reborn.sync("/").await.unwrap();
    assert_eq!(on_reborn.get_data("/kept").await.unwrap().0, b"after");
    assert!(on_reborn.check_stat("/later").await.unwrap().is_some());
    reborn.shutdown().await;
}
