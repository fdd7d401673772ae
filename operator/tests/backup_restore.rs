//! `spec.backup` and `spec.restoreFrom`: the backup CronJob, member 1's restore source, and the start script
//! seeding an empty volume once.

mod common;

use k8s_openapi::api::core::v1::Pod;
use zk_operator::ensemble_config::EnsembleConfig;
use zk_operator::images::DefaultImages;
use zk_operator::resources::backup::{BACKUP_OF_LABEL, backup_cron_job};
use zk_operator::resources::meta::{selector_labels, server_line};
use zk_operator::resources::pod::member_pod;
use zk_operator::types::{ZkEnsemble, crd_yaml};

use common::ScratchMember;

const DOMAIN: &str = "cluster.local";

/// The ensemble `demo` in namespace `apps` with the given `spec:` block (YAML, indented by two).
fn ensemble_with(spec: &str) -> ZkEnsemble {
    let mut zk: ZkEnsemble = serde_yaml::from_str(&format!(
        "apiVersion: zookeeper.zkops.dev/v1alpha1\nkind: ZkEnsemble\nmetadata: {{ name: demo, namespace: apps }}\nspec:\n{spec}"
    ))
    .expect("manifest parses");
    zk.metadata.uid = Some("0a1b2c3d".into());
    zk
}

const BACKUP: &str = "  backup:\n    schedule: \"*/30 * * * *\"\n    target: { claimName: backups, subPath: zk/demo }\n";

#[test]
fn the_backup_cron_job_asks_each_member_and_keeps_the_retention() {
    assert!(backup_cron_job(&ensemble_with("  {}\n"), "img", &[1], DOMAIN).is_none());
    let zk = ensemble_with(&format!("{BACKUP}    retention: 4\n"));
    let job = backup_cron_job(&zk, "zkops.local/zk-server:1", &[1, 2, 3], DOMAIN).unwrap();
    assert_eq!(job.metadata.name.as_deref(), Some("demo-backup"));
    assert_eq!(
        job.metadata.owner_references.as_ref().unwrap()[0].name,
        "demo"
    );
    let spec = job.spec.unwrap();
    assert_eq!(spec.schedule, "*/30 * * * *");
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(spec.suspend, Some(false));
    let template = spec.job_template.spec.unwrap().template;
    let labels = template.metadata.unwrap().labels.unwrap();
    assert_eq!(labels[BACKUP_OF_LABEL], "demo");
    // A backup pod is no member: it must not match the members' selector (Services, budget).
    for (key, value) in selector_labels(&zk) {
        assert_ne!(labels.get(&key), Some(&value), "{key}");
    }
    let pod = template.spec.unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    assert_eq!(pod.security_context.unwrap().run_as_non_root, Some(true));
    let container = &pod.containers[0];
    assert_eq!(container.image.as_deref(), Some("zkops.local/zk-server:1"));
    let command = container.command.as_ref().unwrap().join(" ");
    for id in 1..=3 {
        assert!(
            command.contains(&format!(
                "--from http://demo-{id}.demo-headless.apps.svc.cluster.local:8080/commands"
            )),
            "{command}"
        );
    }
    assert!(command.starts_with("zk-server backup "), "{command}");
    assert!(command.contains("--out /backup --keep 4"), "{command}");
    assert!(
        command.contains("--report-file /dev/termination-log"),
        "{command}"
    );
    let mount = &container.volume_mounts.as_ref().unwrap()[0];
    assert_eq!(mount.mount_path, "/backup");
    assert_eq!(mount.sub_path.as_deref(), Some("zk/demo"));
    let volume = &pod.volumes.unwrap()[0];
    assert_eq!(
        volume.persistent_volume_claim.as_ref().unwrap().claim_name,
        "backups"
    );
    // The default retention.
    let zk = ensemble_with(BACKUP);
    let job = backup_cron_job(&zk, "img", &[1], DOMAIN).unwrap();
    let command = job
        .spec
        .unwrap()
        .job_template
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .containers[0]
        .command
        .clone()
        .unwrap()
        .join(" ");
    assert!(command.contains("--keep 7"), "{command}");
}

fn pod(zk: &ZkEnsemble, id: u32) -> Pod {
    let config = EnsembleConfig::default().with_server(server_line(zk, 1, DOMAIN));
    member_pod(
        zk,
        id,
        &DefaultImages::default().member_image(zk),
        "fp",
        &config,
    )
}

fn restore_env(pod: &Pod) -> Option<String> {
    env(pod, "RESTORE_FROM")
}

fn env(pod: &Pod, name: &str) -> Option<String> {
    pod.spec.as_ref().unwrap().containers[0]
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
}

#[test]
fn only_member_one_mounts_the_restore_source_read_only() {
    let zk = ensemble_with(
        "  restoreFrom: { claimName: backups, path: zk/demo/backup-0000000100000002-x/ }\n",
    );
    let first = pod(&zk, 1);
    assert_eq!(
        restore_env(&first).as_deref(),
        Some("/restore/zk/demo/backup-0000000100000002-x")
    );
    let spec = first.spec.as_ref().unwrap();
    let volume = spec
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "restore")
        .unwrap();
    let claim = volume.persistent_volume_claim.as_ref().unwrap();
    assert_eq!(
        (claim.claim_name.as_str(), claim.read_only),
        ("backups", Some(true))
    );
    let mount = spec.containers[0]
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.name == "restore")
        .unwrap();
    assert_eq!(
        (mount.mount_path.as_str(), mount.read_only),
        ("/restore", Some(true))
    );

    let second = pod(&zk, 2);
    assert_eq!(restore_env(&second), None);
    assert!(
        second
            .spec
            .as_ref()
            .unwrap()
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .all(|v| v.name != "restore")
    );
    assert_eq!(restore_env(&pod(&ensemble_with("  {}\n"), 1)), None);
}

#[test]
fn a_restore_source_with_its_logs_apart_names_both_directories() {
    // The claim of a member of an Apache-flavour ensemble: snapshots under data, logs under datalog.
    let zk =
        ensemble_with("  restoreFrom: { claimName: data-old-1, path: data, logPath: datalog/ }\n");
    let first = pod(&zk, 1);
    assert_eq!(restore_env(&first).as_deref(), Some("/restore/data"));
    assert_eq!(
        env(&first, "RESTORE_LOG_FROM").as_deref(),
        Some("/restore/datalog")
    );
    assert_eq!(env(&pod(&zk, 2), "RESTORE_LOG_FROM"), None);
    let without = ensemble_with("  restoreFrom: { claimName: backups, path: b }\n");
    assert_eq!(env(&pod(&without, 1), "RESTORE_LOG_FROM"), None);
    let crd = crd_yaml();
    assert!(crd.contains("logPath must be a relative path"), "{crd}");
}

#[test]
fn the_crd_lets_restore_from_be_set_only_at_creation() {
    let crd = crd_yaml();
    assert!(
        crd.contains("!has(self.restoreFrom) || has(oldSelf.restoreFrom)"),
        "{crd}"
    );
    assert!(crd.contains("restoreFrom is immutable"), "{crd}");
}

/// A `zk-server` that records each import (into `<root>/imports`) and seeds the data directory as an import
/// does (`raft-snapshot`, `raft-log`), and otherwise says it started.
const RECORDING_SERVER: &str = "#!/bin/sh\n\
if [ \"$1\" = import ]; then\n\
  echo \"$3 -> $5${9:+ logs $9}\" >> \"$5/../imports\"\n\
  mkdir -p \"$5/raft-snapshot\" \"$5/raft-log\"\n\
  exit 0\n\
fi\n\
echo \"server started with $1\"\n";

#[test]
fn the_start_script_seeds_an_empty_volume_once() {
    let member = ScratchMember::new(
        "dataDir=/data\n",
        "100000000",
        "server.1=a:2888:3888:participant;0.0.0.0:2181\n",
        RECORDING_SERVER,
    );
    let start = || {
        let output = member
            .start_command(1)
            .env("RESTORE_FROM", "/restore/b")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("server started with"), "{stdout}");
        stdout
    };
    // What an interrupted import left (its staging directory) is not data: the restore still runs.
    std::fs::create_dir_all(member.path("data/.import-partial/raft-snapshot")).unwrap();
    assert!(start().contains("restoring from /restore/b"));
    let imports = std::fs::read_to_string(member.path("imports")).unwrap();
    assert_eq!(imports.lines().count(), 1, "{imports}");
    assert!(imports.starts_with("/restore/b -> "), "{imports}");
    // The log went to the data log directory, as zoo.cfg's dataLogDir says.
    assert!(member.path("datalog/raft-log").is_dir());
    assert!(!member.path("data/raft-log").exists());

    assert!(start().contains("holds data: not restoring"));
    let imports = std::fs::read_to_string(member.path("imports")).unwrap();
    assert_eq!(imports.lines().count(), 1, "{imports}");
}

#[test]
fn the_start_script_imports_logs_kept_apart() {
    let member = ScratchMember::new(
        "dataDir=/data\n",
        "100000000",
        "server.1=a:2888:3888:participant;0.0.0.0:2181\n",
        RECORDING_SERVER,
    );
    let output = member
        .start_command(1)
        .env("RESTORE_FROM", "/restore/data")
        .env("RESTORE_LOG_FROM", "/restore/datalog")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("(logs from /restore/datalog)"), "{stdout}");
    let imports = std::fs::read_to_string(member.path("imports")).unwrap();
    assert!(
        imports.starts_with("/restore/data -> ")
            && imports.trim_end().ends_with(" logs /restore/datalog"),
        "{imports}"
    );
}

#[test]
fn an_apache_member_copies_snapshots_to_its_data_and_logs_to_its_data_log() {
    let member = ScratchMember::new(
        "dataDir=/data\n",
        "100000000",
        "server.1=a:2888:3888:participant;0.0.0.0:2181\n",
        RECORDING_SERVER,
    );
    // Another member's claim: its myid, its snapshots and epochs under data, its logs under datalog.
    let source = member.path("source");
    for dir in ["data/version-2", "datalog/version-2"] {
        std::fs::create_dir_all(source.join(dir)).unwrap();
    }
    for (file, text) in [
        ("data/myid", "3"),
        ("data/version-2/snapshot.100000000", "snap"),
        ("data/version-2/acceptedEpoch", "1"),
        ("data/version-2/currentEpoch", "1"),
        ("datalog/version-2/log.100000001", "log"),
    ] {
        std::fs::write(source.join(file), text).unwrap();
    }
    member.write(
        "bin/zkServer.sh",
        "#!/bin/sh\necho \"apache started with $1\"\n",
    );
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(member.path("bin/zkServer.sh"))
        .status()
        .unwrap();
    let output = member
        .start_command(1)
        .env("ZK_FLAVOUR", "Apache")
        .env("RESTORE_FROM", source.join("data"))
        .env("RESTORE_LOG_FROM", source.join("datalog"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("apache started with start-foreground"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing = |dir: &str| {
        let mut names: Vec<String> = std::fs::read_dir(member.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        listing("data/version-2"),
        ["acceptedEpoch", "currentEpoch", "snapshot.100000000"]
    );
    assert_eq!(listing("datalog/version-2"), ["log.100000001"]);
    // The member keeps its own id.
    assert_eq!(
        std::fs::read_to_string(member.path("data/myid"))
            .unwrap()
            .trim(),
        "1"
    );
}
