//! The client load of a robustness test: several sessions, each running one operation at a time —
//! linearizable reads (`sync` + `getData`), blind writes and compare-and-set on a few registers, recorded
//! into a [`History`]; now and then a create of a znode of its own, to check afterwards that every
//! acknowledged create is on every member. Each session also holds an ephemeral znode from its start, to
//! check that sessions and their ephemerals survive the faults.
//!
//! An error of a write whose outcome the client cannot know (connection lost, timeout, session gone) is
//! recorded as unknown; the session carries on (the client library reconnects it to another member).
//! A session that expires is counted: the faults these tests inject must not expire a session whose
//! client keeps reconnecting.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;
use zookeeper_client::{Acls, Client, CreateMode, Error as ZkError};

use crate::history::{History, Input, Output, Recorder, Register};

/// Where the registers live.
pub const REGISTERS: &str = "/registers";
/// Where sessions create znodes of their own.
pub const CREATES: &str = "/creates";
/// Where each session keeps its ephemeral znode.
pub const SESSIONS: &str = "/sessions";

/// The clients' session timeout: long enough to ride out a leader's loss and an election.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(15);

/// Pause between two operations of one session, so the load leaves the machine room to fail over.
const PACE: Duration = Duration::from_millis(5);

/// Why the load could not be started or checked.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// A request needed to set up or verify failed.
    #[error("{what}: {source}")]
    ZooKeeper {
        /// What was being done.
        what: String,
        /// The client's error.
        source: ZkError,
    },
}

fn zk(what: impl Into<String>) -> impl FnOnce(ZkError) -> WorkloadError {
    let what = what.into();
    move |source| WorkloadError::ZooKeeper { what, source }
}

/// How the load runs.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// How many sessions.
    pub clients: u32,
    /// How many registers.
    pub registers: usize,
    /// Seed of the operation mix.
    pub seed: u64,
}

/// The path of register `index`.
pub fn register_path(index: usize) -> String {
    format!("{REGISTERS}/r{index}")
}

/// Connects a session to `connect_string` with [`SESSION_TIMEOUT`].
pub async fn connect(connect_string: &str) -> Result<Client, WorkloadError> {
    Client::connector()
        .with_session_timeout(SESSION_TIMEOUT)
        .connect(connect_string)
        .await
        .map_err(zk(format!("connect to {connect_string}")))
}

/// Creates each of `paths` as an empty persistent znode, in order, through `session`.
pub async fn create_empty(
    session: &Client,
    paths: impl IntoIterator<Item = String>,
) -> Result<(), WorkloadError> {
    let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
    for path in paths {
        session
            .create(&path, b"", &persistent)
            .await
            .map_err(zk(format!("create {path}")))?;
    }
    Ok(())
}

/// What one session saw, besides the history.
#[derive(Debug, Default)]
struct SessionReport {
    /// Creates the ensemble acknowledged.
    created: Vec<String>,
    /// The session expired (it is then replaced by a new one).
    expirations: u32,
    /// Its ephemeral znode was not there, or not its own, at the end.
    lost_ephemeral: Option<String>,
    /// Errors other than a lost connection, an expired session or a refused write.
    unexpected: Vec<String>,
    /// Writes refused with NotReadOnly (by a member whose volume is full): never applied.
    refused_writes: u32,
}

/// What the whole load saw.
#[derive(Debug)]
pub struct WorkloadReport {
    /// Every register operation; reads made after the load (see [`crate::verify`]) join it.
    pub recorder: Recorder,
    /// Every create the ensemble acknowledged.
    pub created: Vec<String>,
    /// Sessions that expired.
    pub expirations: u32,
    /// Sessions whose ephemeral znode did not survive, with what was found.
    pub lost_ephemerals: Vec<String>,
    /// Errors other than a lost connection, an expired session or a refused write (none is
    /// expected), with the session that saw them.
    pub unexpected_errors: Vec<String>,
    /// Writes refused with NotReadOnly, the answer of a member that takes no writes (its volume
    /// is full): never applied, recorded as of unknown outcome; a problem unless the test
    /// expects them.
    pub refused_writes: u32,
}

/// A running load; [`Workload::stop`] ends it.
pub struct Workload {
    recorder: Recorder,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<SessionReport>,
}

impl Workload {
    /// Creates the registers (each holding 0) and the parents, then starts the sessions.
    pub async fn start(connect_string: &str, spec: &WorkloadSpec) -> Result<Self, WorkloadError> {
        let setup = connect(connect_string).await?;
        let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
        let mut initial = BTreeMap::new();
        create_empty(&setup, [REGISTERS, CREATES, SESSIONS].map(str::to_owned)).await?;
        for index in 0..spec.registers {
            let path = register_path(index);
            let (stat, _) = setup
                .create(&path, b"0", &persistent)
                .await
                .map_err(zk(format!("create {path}")))?;
            initial.insert(
                path,
                Register {
                    value: 0,
                    version: stat.version,
                },
            );
        }
        let recorder = Recorder::new(initial);
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for client in 0..spec.clients {
            let session = connect(connect_string).await?;
            let ephemeral = format!("{SESSIONS}/c{client}");
            session
                .create(
                    &ephemeral,
                    b"",
                    &CreateMode::Ephemeral.with_acls(Acls::anyone_all()),
                )
                .await
                .map_err(zk(format!("create {ephemeral}")))?;
            let run = SessionRun {
                id: client,
                connect_string: connect_string.to_owned(),
                registers: spec.registers,
                recorder: recorder.clone(),
                rng: StdRng::seed_from_u64(spec.seed ^ u64::from(client)),
                stop: stop.clone(),
                ephemeral,
            };
            tasks.spawn(run.run(session));
        }
        Ok(Workload {
            recorder,
            stop,
            tasks,
        })
    }

    /// The history's clock: nanoseconds since the load began.
    pub fn now(&self) -> u64 {
        self.recorder.now()
    }

    /// The history recorded so far.
    pub fn history(&self) -> History {
        self.recorder.history()
    }

    /// Waits (at most `within`) until a write invoked at or after `since` (the history's clock) is
    /// acknowledged, and returns how long after `since` that was: the write-unavailability gap of a
    /// fault injected at `since`.
    pub async fn write_gap(&self, since: u64, within: Duration) -> Option<Duration> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(acked) = self.history().first_write_acknowledged_after(since) {
                return Some(Duration::from_nanos(acked - since));
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops every session after its current operation and returns what the load saw.
    pub async fn stop(mut self) -> WorkloadReport {
        self.stop.store(true, Ordering::Relaxed);
        let mut report = WorkloadReport {
            recorder: self.recorder.clone(),
            created: Vec::new(),
            expirations: 0,
            lost_ephemerals: Vec::new(),
            unexpected_errors: Vec::new(),
            refused_writes: 0,
        };
        while let Some(done) = self.tasks.join_next().await {
            let session = done.expect("a workload session panicked");
            report.created.extend(session.created);
            report.expirations += session.expirations;
            report.lost_ephemerals.extend(session.lost_ephemeral);
            report.unexpected_errors.extend(session.unexpected);
            report.refused_writes += session.refused_writes;
        }
        report
    }
}

impl WorkloadReport {
    /// The history recorded so far.
    pub fn history(&self) -> History {
        self.recorder.history()
    }
}

/// One session's loop.
struct SessionRun {
    id: u32,
    connect_string: String,
    registers: usize,
    recorder: Recorder,
    rng: StdRng,
    stop: Arc<AtomicBool>,
    ephemeral: String,
}

/// Whether an error is the connection's, not the request's: worth asking again.
pub fn transient(error: &ZkError) -> bool {
    matches!(
        error,
        ZkError::ConnectionLoss | ZkError::Timeout | ZkError::Custom(_)
    )
}

impl SessionRun {
    async fn run(mut self, mut session: Client) -> SessionReport {
        let mut report = SessionReport::default();
        let mut versions: BTreeMap<usize, i32> = BTreeMap::new();
        let mut serial = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            serial += 1;
            let index = self.rng.random_range(0..self.registers);
            let key = register_path(index);
            let value = i64::from(self.id) * 1_000_000_000 + serial as i64;
            let roll = self.rng.random_range(0..100);
            let result = if roll < 10 {
                let path = format!("{CREATES}/c{}-{serial}", self.id);
                let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
                match session.create(&path, b"", &options).await {
                    Ok(_) => {
                        report.created.push(path);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            } else if roll < 45 {
                self.read(&session, &key, index, &mut versions).await
            } else if roll < 70 {
                self.write(&session, &key, index, value, None, &mut versions)
                    .await
            } else {
                let expected = versions.get(&index).copied().unwrap_or(0);
                self.write(&session, &key, index, value, Some(expected), &mut versions)
                    .await
            };
            match &result {
                Err(ZkError::NotReadOnly) => report.refused_writes += 1,
                Err(e) if !transient(e) && *e != ZkError::SessionExpired => {
                    report.unexpected.push(format!("client {}: {e}", self.id));
                }
                _ => {}
            }
            if let Err(ZkError::SessionExpired) = result {
                report.expirations += 1;
                tracing::warn!(client = self.id, "session expired; starting a new one");
                match connect(&self.connect_string).await {
                    Ok(new) => session = new,
                    Err(e) => {
                        tracing::warn!(client = self.id, "reconnect: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            tokio::time::sleep(PACE).await;
        }
        if report.expirations == 0 {
            report.lost_ephemeral = self.check_ephemeral(&session).await;
        }
        report
    }

    /// `sync` + `getData` of register `index`, noting the version read.
    async fn read(
        &self,
        session: &Client,
        key: &str,
        index: usize,
        versions: &mut BTreeMap<usize, i32>,
    ) -> Result<(), ZkError> {
        let register = read_register(session, &self.recorder, self.id, key).await?;
        versions.insert(index, register.version);
        Ok(())
    }

    /// `setData` of register `index`, with an expected version for a compare-and-set, noting the
    /// version written (or forgetting it on a refused compare-and-set).
    async fn write(
        &self,
        session: &Client,
        key: &str,
        index: usize,
        value: i64,
        expected: Option<i32>,
        versions: &mut BTreeMap<usize, i32>,
    ) -> Result<(), ZkError> {
        match write_register(session, &self.recorder, self.id, key, value, expected).await? {
            Some(version) => versions.insert(index, version),
            None => versions.remove(&index),
        };
        Ok(())
    }

    /// Whether this session's ephemeral znode is still there and its own; what is wrong if not.
    async fn check_ephemeral(&self, session: &Client) -> Option<String> {
        let owner = session.session_id().0;
        for _ in 0..20 {
            match session.check_stat(&self.ephemeral).await {
                Ok(Some(stat)) if stat.ephemeral_owner == owner => return None,
                Ok(Some(stat)) => {
                    return Some(format!(
                        "{} owned by 0x{:x}, not 0x{owner:x}",
                        self.ephemeral, stat.ephemeral_owner
                    ));
                }
                Ok(None) => return Some(format!("{} is gone", self.ephemeral)),
                Err(e) if transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Some(format!("{}: {e}", self.ephemeral)),
            }
        }
        Some(format!("{}: no answer", self.ephemeral))
    }
}

/// A linearizable read of register `key` (`sync` + `getData`) by `client`, recorded into `recorder`:
/// the register's state, or the error (recorded as unknown).
pub async fn read_register(
    session: &Client,
    recorder: &Recorder,
    client: u32,
    key: &str,
) -> Result<Register, ZkError> {
    let pending = recorder.invoke(client, key, Input::Read);
    let read = async {
        session.sync(key).await?;
        session.get_data(key).await
    };
    match read.await {
        Ok((data, stat)) => {
            let value = String::from_utf8_lossy(&data).parse().unwrap_or(i64::MIN);
            pending.complete(Output::Read {
                value,
                version: stat.version,
            });
            Ok(Register {
                value,
                version: stat.version,
            })
        }
        Err(e) => {
            pending.complete(Output::Unknown);
            Err(e)
        }
    }
}

/// `setData` of register `key` to `value` by `client`, with an expected version for a compare-and-set,
/// recorded into `recorder`: the version written, `None` for a compare-and-set refused (BadVersion), or
/// the error (recorded as unknown).
pub async fn write_register(
    session: &Client,
    recorder: &Recorder,
    client: u32,
    key: &str,
    value: i64,
    expected: Option<i32>,
) -> Result<Option<i32>, ZkError> {
    let input = match expected {
        Some(expected_version) => Input::Cas {
            value,
            expected_version,
        },
        None => Input::Write { value },
    };
    let pending = recorder.invoke(client, key, input);
    match session
        .set_data(key, value.to_string().as_bytes(), expected)
        .await
    {
        Ok(stat) => {
            pending.complete(Output::Written {
                version: stat.version,
            });
            Ok(Some(stat.version))
        }
        Err(ZkError::BadVersion) if expected.is_some() => {
            pending.complete(Output::BadVersion);
            Ok(None)
        }
        // Refused for another reason (none is expected) or not answered: either way "unknown" is
        // sound, as it allows the write to have had no effect.
        Err(e) => {
            pending.complete(Output::Unknown);
            Err(e)
        }
    }
}
