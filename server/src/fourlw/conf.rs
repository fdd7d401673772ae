//! `conf`, `envi` and `dirs`: configuration, environment and disk use.

use std::fmt::Write;
use std::path::Path;

use super::info::ServerInfo;
use super::version::full_version;
use crate::config::LearnerType;

/// `conf`: Apache's `dumpConf`, with the quorum part for a quorum peer. The membership text ends the output
/// without a newline, as in Apache.
pub fn conf(info: &dyn ServerInfo) -> String {
    let config = info.config();
    let data_dir = absolute(&config.data_dir);
    let log_dir = absolute(&config.data_log_dir);
    let mut out = String::new();
    let _ = write!(
        out,
        "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize={}\ndataLogDir={}\ndataLogSize={}\n\
         tickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\nclientPortListenBacklog={}\n\
         serverId={}\n",
        info.client_port(),
        data_dir,
        directory_size(&config.data_dir),
        log_dir,
        directory_size(&config.data_log_dir),
        config.tick_time_ms,
        config.max_client_cnxns,
        config.min_session_timeout_ms,
        config.max_session_timeout_ms,
        config.client_port_listen_backlog,
        config.server_id(),
    );
    if config.is_distributed() {
        let (election_port, quorum_port, peer_type) = match config.my_spec() {
            Some(spec) => (
                spec.election_port.to_string(),
                spec.quorum_port.to_string(),
                if spec.role == LearnerType::Observer {
                    1
                } else {
                    0
                },
            ),
            None => (String::new(), String::new(), 0),
        };
        let _ = write!(
            out,
            "initLimit={}\nsyncLimit={}\nelectionAlg=3\nelectionPort={election_port}\nquorumPort={quorum_port}\n\
             peerType={peer_type}\nmembership: \n{}",
            config.init_limit,
            config.sync_limit,
            info.membership_text(),
        );
    }
    out
}

/// `envi`: the environment, Apache's keys that make sense outside a JVM.
pub fn envi() -> String {
    let mut out = String::from("Environment:\n");
    for (key, value) in environment() {
        let _ = writeln!(out, "{key}={value}");
    }
    out
}

/// The `envi` entries, also served by the AdminServer.
pub fn environment() -> Vec<(&'static str, String)> {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .unwrap_or("<NA>".into())
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| "<NA>".into());
    vec![
        ("zookeeper.version", full_version()),
        ("host.name", read("/proc/sys/kernel/hostname")),
        ("os.name", os_name().to_string()),
        ("os.arch", os_arch().to_string()),
        ("os.version", read("/proc/sys/kernel/osrelease")),
        ("user.name", var("USER")),
        ("user.home", var("HOME")),
        (
            "user.dir",
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "<NA>".into()),
        ),
        ("process.id", std::process::id().to_string()),
    ]
}

/// `dirs`: bytes used by the data and log directories.
pub fn dirs(info: &dyn ServerInfo) -> String {
    let config = info.config();
    format!(
        "datadir_size: {}\nlogdir_size: {}\n",
        directory_size(&config.data_dir),
        directory_size(&config.data_log_dir)
    )
}

/// Total size of the regular files below `dir` (0 when it cannot be read).
pub fn directory_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => directory_size(&entry.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Java's `os.name` for this platform.
fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        "windows" => "Windows",
        other => other,
    }
}

/// Java's `os.arch` for this platform.
fn os_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        other => other,
    }
}
