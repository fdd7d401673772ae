//! Starting and stopping the servers under test. Each flavour runs from the same generated `zoo.cfg`, one
//! member per process, in a scratch directory of its own; a member is ready once it answers `ruok` with
//! `imok` and serves a session.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use zk_proto::{ExistsRequest, OpCode};

use crate::fourlw::four_letter_word;
use crate::session::Session;
use crate::zoocfg::Topology;

/// How long a member may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// Pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(200);
/// Apache's log configuration: everything at INFO to the console, which goes to the member's log file.
const LOG4J_PROPERTIES: &str = "log4j.rootLogger=INFO, C\n\
    log4j.appender.C=org.apache.log4j.ConsoleAppender\n\
    log4j.appender.C.layout=org.apache.log4j.PatternLayout\n\
    log4j.appender.C.layout.ConversionPattern=%d %-5p [%t] %c{1} - %m%n\n";

/// Set (to anything) to keep the members' scratch directories after a run.
pub const KEEP_SCRATCH: &str = "ZK_KEEP_SCRATCH";

/// Which server implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Apache ZooKeeper from Debian's `zookeeper` package: the reference.
    Apache,
    /// This workspace's `zk-server`.
    Ours,
}

impl Flavour {
    /// Both flavours, reference first.
    pub const ALL: [Flavour; 2] = [Flavour::Apache, Flavour::Ours];
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::Apache => "apache",
            Flavour::Ours => "ours",
        })
    }
}

impl FromStr for Flavour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flavour::ALL
            .into_iter()
            .find(|f| f.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown server {s:?} (apache, ours)"))
    }
}

/// Why a deployment could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Something already listens on a port the deployment needs.
    #[error("port {0} is already in use")]
    PortBusy(u16),
    /// Files could not be written or the process not started.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Our server was selected but no binary was given.
    #[error("no zk-server binary given (--server-bin or ZK_SERVER_BIN)")]
    NoServerBinary,
    /// A member exited.
    #[error("{flavour} member {id} exited ({status}); its log ends: {log_tail}")]
    Exited {
        /// The flavour.
        flavour: Flavour,
        /// The member's id.
        id: usize,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The last lines of its log (the scratch directory is removed with the deployment).
        log_tail: String,
    },
    /// A member did not become ready in time.
    #[error("{flavour} member {id} not ready after {READY_TIMEOUT:?}; its log ends: {log_tail}")]
    NotReady {
        /// The flavour.
        flavour: Flavour,
        /// The member's id.
        id: usize,
        /// The last lines of its log.
        log_tail: String,
    },
}

/// How to start each flavour.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// Java classpath of Apache ZooKeeper's server.
    pub apache_classpath: String,
    /// Path of the `zk-server` binary.
    pub server_bin: Option<PathBuf>,
    /// Where scratch directories are made.
    pub workdir: PathBuf,
    /// The network namespace each member runs in, by index (`ip netns exec`); empty: this process's.
    pub netns: Vec<String>,
}

/// One member: its files and, while it runs, its process.
#[derive(Debug)]
struct Member {
    id: usize,
    addr: SocketAddr,
    dir: PathBuf,
    log: PathBuf,
    /// `None` until it is started, and after it is killed.
    child: Option<Child>,
}

/// The members of one flavour; stopped (killed) on [`Deployment::stop`] or drop.
#[derive(Debug)]
pub struct Deployment {
    flavour: Flavour,
    launcher: Launcher,
    /// Every member needs a `myid`.
    ensemble: bool,
    members: Vec<Member>,
    _scratch: TempDir,
}

/// Wraps an I/O error with what was being done.
fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

impl Launcher {
    /// Starts every member of `topology` as `flavour` and waits until all are ready.
    pub async fn start(
        &self,
        flavour: Flavour,
        topology: &Topology,
    ) -> Result<Deployment, LaunchError> {
        let mut deployment = self.prepare(flavour, topology).await?;
        for index in 0..topology.members().len() {
            let id = index + 1;
            let cfg = topology.render(index, &deployment.data_dir(id));
            deployment.write_files(id, &cfg)?;
            deployment.start_process(id)?;
        }
        deployment.wait_ready().await?;
        Ok(deployment)
    }

    /// A deployment of `topology`'s members with none of them started: see [`Deployment::launch`].
    pub async fn prepare(
        &self,
        flavour: Flavour,
        topology: &Topology,
    ) -> Result<Deployment, LaunchError> {
        for addr in topology.client_addrs() {
            if TcpStream::connect(addr).await.is_ok() {
                return Err(LaunchError::PortBusy(addr.port()));
            }
        }
        let mut scratch = tempfile::Builder::new()
            .prefix(&format!("zk-bench-{flavour}-"))
            .tempdir_in(&self.workdir)
            .map_err(io(format!(
                "scratch directory in {}",
                self.workdir.display()
            )))?;
        // Members' files and logs, kept for a post-mortem when asked.
        if std::env::var_os(KEEP_SCRATCH).is_some() {
            scratch.disable_cleanup(true);
            tracing::info!(dir = %scratch.path().display(), "{KEEP_SCRATCH} is set: keeping");
        }
        let members = topology
            .client_addrs()
            .into_iter()
            .enumerate()
            .map(|(index, addr)| {
                let dir = scratch.path().join(format!("member{}", index + 1));
                Member {
                    id: index + 1,
                    addr,
                    log: dir.join("server.log"),
                    dir,
                    child: None,
                }
            })
            .collect();
        Ok(Deployment {
            flavour,
            launcher: self.clone(),
            ensemble: topology.is_ensemble(),
            members,
            _scratch: scratch,
        })
    }

    /// Starts the process of member `index` from the files in `dir`, appending its output to `log`.
    fn spawn(
        &self,
        flavour: Flavour,
        index: usize,
        dir: &Path,
        log: &Path,
    ) -> Result<Child, LaunchError> {
        let cfg = dir.join("zoo.cfg");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io("open server.log"))?;
        let stderr = log_file.try_clone().map_err(io("open server.log"))?;
        let mut command = match self.netns.get(index) {
            Some(netns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", netns]);
                c
            }
            None => Command::new("env"),
        };
        match flavour {
            Flavour::Apache => {
                command
                    .arg("java")
                    .arg("-cp")
                    .arg(&self.apache_classpath)
                    .arg(format!(
                        "-Dlog4j.configuration=file:{}",
                        dir.join("log4j.properties").display()
                    ))
                    .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
                    .arg(&cfg);
            }
            Flavour::Ours => {
                let bin = self
                    .server_bin
                    .as_ref()
                    .ok_or(LaunchError::NoServerBinary)?;
                command.arg(bin).arg(&cfg);
            }
        }
        command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("start {flavour} member {}", index + 1)))
    }
}

impl Deployment {
    /// Member `id`'s data directory (`dataDir`).
    pub fn data_dir(&self, id: usize) -> PathBuf {
        self.members[id - 1].dir.join("data")
    }

    /// Writes member `id`'s files: `zoo.cfg` (the text `cfg`), its data directory with `myid` and, for
    /// Apache, the log configuration.
    fn write_files(&self, id: usize, cfg: &str) -> Result<(), LaunchError> {
        let dir = &self.members[id - 1].dir;
        let data = self.data_dir(id);
        std::fs::create_dir_all(&data).map_err(io(format!("create {}", data.display())))?;
        if self.ensemble {
            std::fs::write(data.join("myid"), format!("{id}\n")).map_err(io("write myid"))?;
        }
        std::fs::write(dir.join("zoo.cfg"), cfg).map_err(io("write zoo.cfg"))?;
        if self.flavour == Flavour::Apache {
            std::fs::write(dir.join("log4j.properties"), LOG4J_PROPERTIES)
                .map_err(io("write log4j.properties"))?;
        }
        Ok(())
    }

    /// Starts member `id`'s process from its files.
    fn start_process(&mut self, id: usize) -> Result<(), LaunchError> {
        let member = &self.members[id - 1];
        let child = self
            .launcher
            .spawn(self.flavour, id - 1, &member.dir, &member.log)?;
        tracing::info!(flavour = %self.flavour, member = id, addr = %member.addr,
                       log = %member.log.display(), "started");
        self.members[id - 1].child = Some(child);
        Ok(())
    }

    /// Starts member `id` for the first time from the `zoo.cfg` text `cfg` (see [`Deployment::data_dir`]
    /// for its `dataDir`) and waits until it answers `ruok`.
    pub async fn launch(&mut self, id: usize, cfg: &str) -> Result<(), LaunchError> {
        self.write_files(id, cfg)?;
        self.start_process(id)?;
        self.wait_member(id, Instant::now() + READY_TIMEOUT, false)
            .await
    }

    /// Whether member `id` has been started and not killed since.
    pub fn is_running(&self, id: usize) -> bool {
        self.members[id - 1].child.is_some()
    }

    /// The flavour running.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Every member's client address, in id order.
    pub fn client_addrs(&self) -> Vec<SocketAddr> {
        self.members.iter().map(|m| m.addr).collect()
    }

    /// Every member's process id, in id order (members that have exited are left out).
    pub fn pids(&self) -> Vec<u32> {
        self.members
            .iter()
            .filter_map(|m| m.child.as_ref().and_then(Child::id))
            .collect()
    }

    /// Member `id`'s process id, while it runs.
    pub fn pid(&self, id: usize) -> Option<u32> {
        self.members[id - 1].child.as_ref().and_then(Child::id)
    }

    /// Waits until every member answers `ruok` with `imok` and serves a session.
    async fn wait_ready(&mut self) -> Result<(), LaunchError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        for id in 1..=self.members.len() {
            self.wait_member(id, deadline, true).await?;
        }
        Ok(())
    }

    /// Waits until member `id` answers `ruok` with `imok` and, with `session`, serves a session.
    async fn wait_member(
        &mut self,
        id: usize,
        deadline: Instant,
        session: bool,
    ) -> Result<(), LaunchError> {
        loop {
            let addr = self.members[id - 1].addr;
            let up = if session {
                serves(addr).await
            } else {
                answers_ruok(addr).await
            };
            if up {
                return Ok(());
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                return Err(LaunchError::NotReady {
                    flavour: self.flavour,
                    id,
                    log_tail: log_tail(&self.members[id - 1].log),
                });
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    /// A member that exited, if any, as an error.
    pub fn check_alive(&mut self) -> Result<(), LaunchError> {
        for member in &mut self.members {
            if let Some(Ok(Some(status))) = member.child.as_mut().map(Child::try_wait) {
                return Err(LaunchError::Exited {
                    flavour: self.flavour,
                    id: member.id,
                    status,
                    log_tail: log_tail(&member.log),
                });
            }
        }
        Ok(())
    }

    /// Kills member `id` (SIGKILL: no chance to flush or say goodbye) and waits for it to exit. Its files
    /// stay, for [`Deployment::restart`].
    pub async fn kill(&mut self, id: usize) -> Result<(), LaunchError> {
        if let Some(mut child) = self.member_mut(id).child.take() {
            child
                .kill()
                .await
                .map_err(io(format!("kill member {id}")))?;
        }
        Ok(())
    }

    /// Starts member `id` again from its files (after [`Deployment::kill`]) and waits until it answers
    /// `ruok`; whether it serves sessions depends on the ensemble, so that is left to the caller.
    pub async fn restart(&mut self, id: usize) -> Result<(), LaunchError> {
        self.start_process(id)?;
        self.wait_member(id, Instant::now() + READY_TIMEOUT, false)
            .await
    }

    /// The member with id `id` (from 1).
    fn member_mut(&mut self, id: usize) -> &mut Member {
        &mut self.members[id - 1]
    }

    /// The directory of member `id`: its `zoo.cfg`, `data/` and `server.log`.
    pub fn member_dir(&self, id: usize) -> &Path {
        &self.members[id - 1].dir
    }

    /// Kills every member and waits for it to exit; the scratch directory goes with the deployment.
    pub async fn stop(mut self) {
        for member in &mut self.members {
            if let Some(child) = member.child.as_mut()
                && let Err(e) = child.kill().await
            {
                tracing::warn!(flavour = %self.flavour, member = member.id, "kill: {e}");
            }
        }
    }
}

/// Lines of a member's log quoted in a start-up error.
const LOG_TAIL_LINES: usize = 5;

/// The last lines of the log at `path`, joined with ` | ` so they fit in a table note.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
    if tail.is_empty() {
        "(empty)".to_owned()
    } else {
        tail.join(" | ")
    }
}

/// Whether the server at `addr` answers `ruok` with `imok` and serves a session (a member of an ensemble
/// that has no quorum yet answers `ruok` but closes sessions).
async fn serves(addr: SocketAddr) -> bool {
    if !answers_ruok(addr).await {
        return false;
    }
    let Ok(mut session) = Session::connect(addr).await else {
        return false;
    };
    let root = ExistsRequest {
        path: "/".to_owned(),
        watch: false,
    };
    matches!(session.call(OpCode::Exists, &root).await, Ok(0)) && session.close().await.is_ok()
}

/// Whether the server at `addr` answers `ruok` with `imok`.
async fn answers_ruok(addr: SocketAddr) -> bool {
    matches!(four_letter_word(addr, "ruok").await, Ok(reply) if reply == "imok")
}
