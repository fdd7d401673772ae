//! The members' start script, run with `/bin/sh` against a scratch volume: it picks the membership the server
//! must boot from in each of the situations that crash-loop members under other operators.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use zk_operator::resources::config_map::START_SCRIPT;

/// A scratch member: its volume directories, ConfigMap and start-up config files.
struct Member {
    root: PathBuf,
}

impl Member {
    fn new(bootstrap_version: &str, bootstrap_servers: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "zk-start-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        for dir in ["conf", "data", "config", "bootstrap", "bin"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(
            root.join("config/zoo.cfg.static"),
            "dataDir=/data\nreconfigEnabled=true\n",
        )
        .unwrap();
        fs::write(root.join("config/start.sh"), START_SCRIPT).unwrap();
        fs::write(root.join("bootstrap/version"), bootstrap_version).unwrap();
        fs::write(root.join("bootstrap/servers"), bootstrap_servers).unwrap();
        // Stands in for the server binary: the test is about the rendered files, not the server.
        let server = root.join("bin/zk-server");
        fs::write(&server, "#!/bin/sh\necho \"server started with $1\"\n").unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(&server)
            .status()
            .unwrap();
        Member { root }
    }

    fn write(&self, path: &str, text: &str) -> &Self {
        fs::write(self.root.join(path), text).unwrap();
        self
    }

    /// Runs the script as member `id`; returns the rendered zoo.cfg.
    fn start(&self, id: u32) -> String {
        let dir = |d: &str| self.root.join(d);
        let path = format!(
            "{}:{}",
            dir("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("/bin/sh")
            .arg(dir("config/start.sh"))
            .env("ZK_MY_ID", id.to_string())
            .env("ZK_FLAVOUR", "Native")
            .env("ZK_SUPER_DIGEST", "super:abc=")
            .env("CONF_DIR", dir("conf"))
            .env("DATA_DIR", dir("data"))
            .env("CONFIG_DIR", dir("config"))
            .env("BOOTSTRAP_DIR", dir("bootstrap"))
            .env("PATH", path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("server started with"), "{stdout}");
        assert_eq!(
            fs::read_to_string(dir("data/myid")).unwrap().trim(),
            id.to_string()
        );
        fs::read_to_string(dir("conf/zoo.cfg")).unwrap()
    }

    fn conf(&self) -> PathBuf {
        self.root.join("conf")
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn dynamic_file(conf: &Path, version: &str) -> String {
    format!(
        "dynamicConfigFile={}/zoo.cfg.dynamic.{version}",
        conf.display()
    )
}

const THREE_PLUS_FOUR: &str = "server.1=a:2888:3888:participant;0.0.0.0:2181\n\
    server.2=b:2888:3888:participant;0.0.0.0:2181\n\
    server.3=c:2888:3888:participant;0.0.0.0:2181\n\
    server.4=d:2888:3888:participant;0.0.0.0:2181";

#[test]
fn a_fresh_volume_boots_from_the_start_up_config() {
    let member = Member::new("100000004", THREE_PLUS_FOUR);
    let cfg = member.start(4);
    assert!(
        cfg.starts_with("dataDir=/data\nreconfigEnabled=true\n"),
        "{cfg}"
    );
    assert!(
        cfg.contains("server.4=d:2888:3888:participant;0.0.0.0:2181"),
        "{cfg}"
    );
    assert!(!cfg.contains("dynamicConfigFile"), "{cfg}");
    assert!(cfg.contains("superDigest=super:abc="), "{cfg}");
}

#[test]
fn a_voter_keeps_the_newer_membership_its_server_wrote() {
    let member = Member::new("100000004", THREE_PLUS_FOUR);
    member.write("conf/zoo.cfg.dynamic.100000004", THREE_PLUS_FOUR).write(
        "conf/zoo.cfg.dynamic.100000009",
        "server.1=a:2888:3888:participant;0.0.0.0:2181\nserver.4=d:2888:3888:participant;0.0.0.0:2181\n",
    );
    let cfg = member.start(4);
    assert!(
        cfg.contains(&dynamic_file(&member.conf(), "100000009")),
        "{cfg}"
    );
    assert!(!cfg.contains("server.2="), "{cfg}");
}

#[test]
fn a_member_restarted_before_it_was_added_boots_from_the_start_up_config_again() {
    // After syncing as a non-voter, the server rewrote its dynamic file with the leader's config, without itself.
    let member = Member::new("100000004", THREE_PLUS_FOUR);
    member.write(
        "conf/zoo.cfg.dynamic.100000004",
        "server.1=a:2888:3888:participant;0.0.0.0:2181\nserver.2=b:2888:3888:participant;0.0.0.0:2181\n",
    );
    let cfg = member.start(4);
    assert!(cfg.contains("server.4=d:2888:3888:participant"), "{cfg}");
    assert!(!cfg.contains("dynamicConfigFile"), "{cfg}");
}

#[test]
fn a_stale_volume_from_an_earlier_membership_is_not_trusted() {
    let member = Member::new("10000000a", THREE_PLUS_FOUR);
    member.write(
        "conf/zoo.cfg.dynamic.100000002",
        "server.4=d:2888:3888:participant;0.0.0.0:2181\n",
    );
    member.write("conf/zoo.cfg", "dynamicConfigFile=/old\n");
    let cfg = member.start(4);
    assert!(!cfg.contains("dynamicConfigFile"), "{cfg}");
    assert!(cfg.contains("server.1=a:2888:3888:participant"), "{cfg}");
}
