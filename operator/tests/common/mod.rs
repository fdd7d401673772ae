//! A scratch ZooKeeper member directory laid out as in a member pod (volume, ConfigMap, start-up config), with
//! the real start script and a `zk-server` program of the test's choosing on the PATH.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of the harness"
)]

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use zk_operator::resources::config_map::START_SCRIPT;

pub mod apache;

/// A member's directories under a fresh temporary root, removed on drop.
pub struct ScratchMember {
    /// Root of the member's directories.
    pub root: PathBuf,
}

impl ScratchMember {
    /// Lays out a member with static settings, a start-up config and `server` as the `zk-server` program.
    pub fn new(
        static_config: &str,
        bootstrap_version: &str,
        bootstrap_servers: &str,
        server: &str,
    ) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "zk-member-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        for dir in ["conf", "data", "config", "bootstrap", "bin"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("config/zoo.cfg.static"), static_config).unwrap();
        fs::write(root.join("config/start.sh"), START_SCRIPT).unwrap();
        let member = ScratchMember { root };
        member.set_bootstrap(bootstrap_version, bootstrap_servers);
        member.install("zk-server", server);
        member
    }

    /// Writes an executable program `name` into the member's `bin` directory, which is on its PATH.
    pub fn install(&self, name: &str, text: &str) {
        let program = self.path("bin").join(name);
        fs::write(&program, text).unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(&program)
            .status()
            .unwrap();
    }

    /// A path under the member's root.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Writes a file under the member's root.
    pub fn write(&self, relative: &str, text: &str) -> &Self {
        fs::write(self.path(relative), text).unwrap();
        self
    }

    /// Replaces the start-up config, as a changed pod annotation would.
    pub fn set_bootstrap(&self, version: &str, servers: &str) {
        self.write("bootstrap/version", version);
        self.write("bootstrap/servers", servers);
    }

    /// The start script as member `id` of the native flavour, ready to run.
    pub fn start_command(&self, id: u32) -> Command {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("/bin/sh");
        command
            .arg(self.path("config/start.sh"))
            .env("ZK_MY_ID", id.to_string())
            .env("ZK_FLAVOUR", "Native")
            .env("ZK_SUPER_DIGEST", "super:unused=")
            .env("CONF_DIR", self.path("conf"))
            .env("DATA_DIR", self.path("data"))
            .env("DATALOG_DIR", self.path("datalog"))
            .env("CONFIG_DIR", self.path("config"))
            .env("BOOTSTRAP_DIR", self.path("bootstrap"))
            .env("PATH", path);
        command
    }

    /// The config the script rendered.
    pub fn rendered(&self) -> String {
        fs::read_to_string(self.path("conf/zoo.cfg")).unwrap()
    }
}

impl Drop for ScratchMember {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}
