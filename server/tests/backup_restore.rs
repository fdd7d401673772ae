//! Backup and restore: a snapshot taken through the AdminServer (`snapshot`) of a follower of a
//! three-member ensemble under writes, kept by `zk-server backup`'s code, imported into a new data
//! directory; the server started on it serves every write acknowledged before the backup began.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::start_ensemble;
use zk_server::apache_data::{self, ImportPlan};
use zk_server::backup::{self, BackupPlan};
use zk_server::config::load_with_properties;
use zk_server::consensus::Role;
use zk_server::server::{Server, standalone_member};
use zk_server::state::Settings;
use zookeeper_client::{Acls, Client, CreateMode};

/// Every member's AdminServer on an ephemeral loopback port.
const SETTINGS: &str =
    "admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_writes_restores_every_write_acknowledged_before_it() {
    let members = start_ensemble(3, SETTINGS).await;
    let leader = members
        .iter()
        .position(|m| m.server.context().role() == Role::Leader)
        .unwrap();
    let follower = (leader + 1) % 3;
    let client = Client::connect(&members[leader].connect_string())
        .await
        .unwrap();
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    client.create("/w", b"", &persistent).await.unwrap();

    // One writer, one create at a time: `acked` counts the creates acknowledged so far.
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let path = format!("/w/n-{n:06}");
                client
                    .create(&path, n.to_string().as_bytes(), &persistent)
                    .await
                    .unwrap();
                n += 1;
                acked.store(n, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let backups = tempfile::tempdir().unwrap();
    let admin = members[follower].server.admin_address().unwrap();
    let acked_before = acked.load(Ordering::SeqCst);
    let report = backup::backup(&BackupPlan {
        from: format!("http://{admin}/commands"),
        authorization: "ip".into(),
        out: backups.path().to_path_buf(),
        keep: 2,
        timeout: Duration::from_secs(60),
    })
    .await
    .unwrap();
    // The writes go on while the snapshot is taken and after.
    let target = acked.load(Ordering::SeqCst) + 100;
    while acked.load(Ordering::SeqCst) < target {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let acked_total = acked.load(Ordering::SeqCst);
    assert!(report.snapshot.starts_with(&report.dir));
    assert!(
        report
            .dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!("backup-{:016x}-", report.zxid))
    );
    assert!(report.pruned.is_empty());

    let restored_dir = tempfile::tempdir().unwrap();
    let data_dir = restored_dir.path().join("data");
    let imported = apache_data::import(&ImportPlan {
        apache_data_dir: report.dir.clone(),
        apache_log_dir: None,
        data_dir: data_dir.clone(),
        settings: Settings::default(),
        my_id: 0,
        members: vec![standalone_member(0)],
    })
    .unwrap();
    assert_eq!(imported.zxid, report.zxid);

    let cfg = common::write_config(restored_dir.path(), "");
    let mut config = load_with_properties(&cfg, Vec::new()).unwrap();
    config.client_address.as_mut().unwrap().port = 0;
    let server = Server::start(config).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while server.context().role() != Role::Leader {
        assert!(tokio::time::Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let restored = Client::connect(&server.client_address().to_string())
        .await
        .unwrap();
    let mut children = restored.list_children("/w").await.unwrap();
    children.sort();
    let count = children.len() as u64;
    assert!(
        count >= acked_before,
        "{count} znodes restored, {acked_before} acknowledged before the backup began"
    );
    assert!(
        count <= acked_total,
        "{count} restored, {acked_total} written"
    );
    // The restored writes are exactly the first ones, each with its own data.
    for (n, child) in children.iter().enumerate() {
        assert_eq!(child, &format!("n-{n:06}"));
    }
    for n in [0, acked_before - 1, count - 1] {
        let (data, _) = restored.get_data(&format!("/w/n-{n:06}")).await.unwrap();
        assert_eq!(data, n.to_string().as_bytes());
    }
    // A new write gets a zxid past the backup's.
    let stat = restored
        .create(
            "/after",
            b"",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .unwrap()
        .0;
    assert!(stat.czxid > report.zxid);
    println!(
        "backup at zxid {:#x}: {} bytes, {} znodes; {acked_before} creates acknowledged before, \
         {count} restored, {acked_total} written",
        report.zxid, report.bytes, report.znodes
    );
    server.shutdown().await;
    for member in members {
        member.server.shutdown().await;
    }
}
