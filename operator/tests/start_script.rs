//! The members' start script, run with `/bin/sh` against a scratch volume: it picks the membership the server
//! must boot from in each of the situations that crash-loop members under other operators.

mod common;

use std::path::Path;

use common::ScratchMember;

/// Stands in for the server binary: these tests are about the rendered files, not the server.
const ECHO_SERVER: &str = "#!/bin/sh\necho \"server started with $1\"\n";

/// A member whose static settings are two lines and whose start-up config is given.
struct Member(ScratchMember);

impl Member {
    fn new(bootstrap_version: &str, bootstrap_servers: &str) -> Self {
        let static_config = "dataDir=/data\nreconfigEnabled=true\n";
        Member(ScratchMember::new(
            static_config,
            bootstrap_version,
            bootstrap_servers,
            ECHO_SERVER,
        ))
    }

    fn write(&self, path: &str, text: &str) -> &Self {
        self.0.write(path, text);
        self
    }

    /// Runs the script as member `id`; returns the rendered zoo.cfg.
    fn start(&self, id: u32) -> String {
        let output = self.0.start_command(id).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("server started with"), "{stdout}");
        let myid = std::fs::read_to_string(self.0.path("data/myid")).unwrap();
        assert_eq!(myid.trim(), id.to_string());
        self.0.rendered()
    }

    fn conf(&self) -> std::path::PathBuf {
        self.0.path("conf")
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
    assert!(cfg.contains("superDigest=super:unused="), "{cfg}");
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
