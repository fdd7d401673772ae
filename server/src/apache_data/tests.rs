//! Import from Apache-format files written here, into a data directory a server restores, and
//! export back.

use std::path::Path;

use super::txn_log::tests::{LogBuilder, create};
use super::*;
use crate::consensus::Member;

fn standalone() -> Vec<Member> {
    vec![Member {
        id: 0,
        spec: "127.0.0.1:2888:3888:participant".into(),
        voter: true,
    }]
}

fn plan(apache: &Path, out: &Path) -> ImportPlan {
    ImportPlan {
        apache_data_dir: apache.to_path_buf(),
        apache_log_dir: None,
        data_dir: out.to_path_buf(),
        settings: Settings::default(),
        my_id: 0,
        members: standalone(),
    }
}

/// An Apache data dir: a snapshot at zxid 0x100000002 holding `/s`, with session 9; a log from
/// 0x100000001 (its first two already in the snapshot) on to 0x100000004.
fn apache_dir(root: &Path) -> PathBuf {
    let version = root.join(VERSION_DIR);
    std::fs::create_dir_all(&version).unwrap();
    let mut image = Image {
        tree: DataTree::new(),
        sessions: SessionTable::default(),
        last_zxid: 0,
        last_time: 0,
    };
    let open = crate::tree::open_acl();
    image.tree.create(
        "/s",
        crate::tree::NewNode {
            data: Some(b"snap".to_vec()),
            acl: &open,
            owner: 0,
        },
        1,
        0x1_0000_0002,
        50,
    );
    image.sessions.insert(
        9,
        SessionRecord {
            timeout_ms: 6000,
            password: Vec::new(),
        },
    );
    image.last_zxid = 0x1_0000_0002;
    std::fs::write(version.join("snapshot.100000002"), snapshot::write(&image)).unwrap();
    let log = LogBuilder::new()
        .txn(9, 0x1_0000_0001, -10, |w| w.int(6000))
        .txn(9, 0x1_0000_0002, 1, create("/s", b"snap", false))
        .txn(9, 0x1_0000_0003, 1, create("/e", b"eph", true))
        .txn(9, 0x1_0000_0004, 1, create("/p", &[7; 2000], false))
        .bytes();
    let mut preallocated = log.clone();
    preallocated.extend(std::iter::repeat_n(0, 1000));
    std::fs::write(version.join("log.100000001"), preallocated).unwrap();
    root.to_path_buf()
}

#[test]
fn the_snapshot_and_the_logs_after_it_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let apache = apache_dir(dir.path());
    let (image, report) = read_apache(&apache, None).unwrap();
    assert_eq!(report.zxid, 0x1_0000_0004);
    assert_eq!(report.txns, 2);
    assert_eq!(report.log_files, 1);
    assert!(report.torn.is_empty());
    assert_eq!(image.tree.get("/s").unwrap().data(), Some(&b"snap"[..]));
    let e = image.tree.get("/e").unwrap();
    assert_eq!(
        (e.stored_stat().ephemeral_owner, e.stored_stat().czxid),
        (9, 0x1_0000_0003)
    );
    assert_eq!(image.tree.get("/").unwrap().stored_stat().cversion, 3);
    let session = image.sessions.get(9).unwrap();
    assert_eq!(session.timeout_ms, 6000);
    assert_eq!(session.password, session_password(9).to_vec());
}

#[test]
fn a_gap_in_the_zxids_is_an_error_naming_the_log_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let version = dir.path().join(VERSION_DIR);
    std::fs::create_dir_all(&version).unwrap();
    let log = LogBuilder::new()
        .txn(1, 0x1_0000_0001, 1, create("/a", b"", false))
        .txn(1, 0x1_0000_0003, 1, create("/b", b"", false))
        .bytes();
    std::fs::write(version.join("log.100000001"), log).unwrap();
    let out = dir.path().join("out");
    let err = import(&plan(dir.path(), &out)).unwrap_err().to_string();
    assert!(
        err.contains("log.100000001") && err.contains("gap"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written on error");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_one_and_a_lone_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let apache = apache_dir(dir.path());
    let version = apache.join(VERSION_DIR);
    std::fs::write(version.join("snapshot.100000003"), b"ZKSN garbage").unwrap();
    let (_, report) = read_apache(&apache, None).unwrap();
    assert_eq!(report.skipped_snapshots.len(), 1);
    assert!(report.snapshot.unwrap().ends_with("snapshot.100000002"));
    std::fs::remove_file(version.join("snapshot.100000002")).unwrap();
    let err = read_apache(&apache, None).unwrap_err().to_string();
    assert!(err.contains("snapshot.100000003 at offset 0"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_is_restored_by_the_server_and_exports_back() {
    let dir = tempfile::tempdir().unwrap();
    let apache = apache_dir(&dir.path().join("apache"));
    let out = dir.path().join("zk");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("myid"), "0\n").unwrap();
    let report = import(&plan(&apache, &out)).unwrap();
    assert_eq!(report.zxid, 0x1_0000_0004);
    assert_eq!(std::fs::read_to_string(out.join("myid")).unwrap(), "0\n");
    assert!(refuse_apache_data(&out, &out).is_ok());

    let state = Arc::new(ZkState::new(Settings::default()));
    let (zxid, uncommitted) = offline::recover(&out, &out, state.clone()).await.unwrap();
    assert_eq!((zxid, uncommitted), (0x1_0000_0004, 0));
    assert_eq!(state.last_zxid(), 0x1_0000_0004);
    assert_eq!(state.session(9).unwrap().timeout_ms, 6000);

    let exported = dir.path().join("back");
    let report = export(&out, &out, Settings::default(), &exported)
        .await
        .unwrap();
    assert_eq!(report.zxid, 0x1_0000_0004);
    let epoch = std::fs::read_to_string(exported.join("version-2/currentEpoch")).unwrap();
    assert_eq!(epoch, "1");
    let (again, _) = read_apache(&exported, None).unwrap();
    let (original, _) = read_apache(&apache, None).unwrap();
    let sorted = |image: &Image| {
        let mut nodes: Vec<_> = image
            .tree
            .iter()
            .map(|(p, n)| (p.to_string(), n.clone()))
            .collect();
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        nodes
    };
    assert_eq!(sorted(&again), sorted(&original));
    assert_eq!(again.sessions, original.sessions);
}

#[test]
fn an_apache_data_dir_without_own_data_is_refused_with_how_to_import() {
    let dir = tempfile::tempdir().unwrap();
    assert!(refuse_apache_data(dir.path(), dir.path()).is_ok());
    let apache = apache_dir(dir.path());
    let err = refuse_apache_data(&apache, &apache)
        .unwrap_err()
        .to_string();
    assert!(err.contains("zk-server import --apache-data-dir"), "{err}");
}

#[test]
fn an_output_that_is_not_new_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let apache = apache_dir(&dir.path().join("apache"));
    let out = dir.path().join("zk");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("something"), "").unwrap();
    let err = import(&plan(&apache, &out)).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");
}

#[test]
fn logs_are_read_from_a_separate_log_dir() {
    let dir = tempfile::tempdir().unwrap();
    let apache = apache_dir(&dir.path().join("data"));
    let logs = dir.path().join("logs").join(VERSION_DIR);
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::rename(
        apache.join(VERSION_DIR).join("log.100000001"),
        logs.join("log.100000001"),
    )
    .unwrap();
    let (_, alone) = read_apache(&apache, None).unwrap();
    assert_eq!((alone.zxid, alone.log_files), (0x1_0000_0002, 0));
    let (image, report) = read_apache(&apache, Some(&dir.path().join("logs"))).unwrap();
    assert_eq!((report.zxid, report.log_files), (0x1_0000_0004, 1));
    assert!(image.tree.get("/p").is_some());
}
