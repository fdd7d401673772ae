//! Continuous client load through the client Service while an ensemble is scaled: one session creates
//! znodes one after another and reads each back. A request that fails with `ConnectionLoss` is retried (a
//! retried create that finds its znode already there with its data counts as acknowledged); any other
//! error is a client-visible failure. The `zookeeper-client` crate reports a connection the server reset
//! (a removed member shutting down) to the requests in flight as the socket error itself (its `Custom`
//! kind) rather than as `ConnectionLoss`: that is a connection loss too.
//!
//! A read load ([`ClientLoad::start_reads`]) is the same session reading one znode over and over, through the
//! observers' Service, say.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use zookeeper_client::{Acls, Client, CreateMode};

use crate::wait;
use crate::zookeeper::{connect, create_open};
use crate::{Error, Result};

/// Pause between two writes, so the load does not starve the shared machine.
const PACE: Duration = Duration::from_millis(20);
/// Pause before retrying after `ConnectionLoss`.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// How long one request may keep failing with `ConnectionLoss` before it counts as failed.
const RETRY_LIMIT: Duration = Duration::from_secs(60);

/// What the load saw.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Indices of the writes the ensemble acknowledged (znode `w-<index>` holding the index).
    pub acknowledged: Vec<u64>,
    /// When each of those writes was acknowledged, in the same order.
    pub acknowledged_at: Vec<Instant>,
    /// Reads that returned the written data.
    pub reads: u64,
    /// Requests retried after `ConnectionLoss`.
    pub connection_losses: u64,
    /// When each of those connection losses was seen.
    pub connection_lost_at: Vec<Instant>,
    /// Every other failure, with the request it hit.
    pub failures: Vec<String>,
}

impl LoadReport {
    /// The longest pause between two acknowledged writes in a row among those whose second write was
    /// acknowledged in `(from, to]`: how long writes stalled then (each pause includes a read and the pace).
    pub fn longest_pause(&self, from: Instant, to: Instant) -> Option<Duration> {
        self.acknowledged_at
            .windows(2)
            .filter(|pair| pair[1] > from && pair[1] <= to)
            .map(|pair| pair[1] - pair[0])
            .max()
    }

    /// How many connection losses the load saw in `(from, to]`: each adds a reconnect and the retry pause
    /// (200 ms) to the pause it falls in.
    pub fn connection_losses_between(&self, from: Instant, to: Instant) -> usize {
        self.connection_lost_at
            .iter()
            .filter(|&&at| at > from && at <= to)
            .count()
    }

    /// The median pause between two acknowledged writes in a row: the load's pace when nothing stalls it.
    pub fn median_pause(&self) -> Option<Duration> {
        let mut pauses: Vec<Duration> = self
            .acknowledged_at
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .collect();
        pauses.sort();
        pauses.get(pauses.len() / 2).copied()
    }
}

/// A running load; [`ClientLoad::stop`] ends it and returns its report.
pub struct ClientLoad {
    stop: Arc<AtomicBool>,
    /// Operations acknowledged so far: writes of a write load, reads of a read load.
    acknowledged: Arc<AtomicUsize>,
    task: JoinHandle<LoadReport>,
}

fn znode(root: &str, i: u64) -> String {
    format!("{root}/w-{i}")
}

enum Outcome<T> {
    Done(T),
    Failed(String),
}

/// Whether `error` means the connection was lost with the request's outcome unknown: `ConnectionLoss`,
/// or an error of the crate's `Custom` kind, which for this client (plain creates and reads: no SASL, no
/// chroot) only carries failures of the connection itself.
fn connection_lost(error: &zookeeper_client::Error) -> bool {
    matches!(
        error,
        zookeeper_client::Error::ConnectionLoss | zookeeper_client::Error::Custom(_)
    )
}

/// Runs `request` until it returns something other than a connection loss, counting the retries.
async fn retried<T, F, Fut>(report: &mut LoadReport, what: &str, mut request: F) -> Outcome<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, zookeeper_client::Error>>,
{
    let start = Instant::now();
    loop {
        match request().await {
            Ok(value) => return Outcome::Done(value),
            Err(e) if connection_lost(&e) && start.elapsed() < RETRY_LIMIT => {
                report.connection_losses += 1;
                report.connection_lost_at.push(Instant::now());
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Err(e) => return Outcome::Failed(format!("{what}: {e}")),
        }
    }
}

/// Creates `path` with `data`; after a retry, an existing znode with the same data is the first attempt's.
async fn write(client: &Client, report: &mut LoadReport, path: &str, data: &[u8]) -> Outcome<()> {
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let mut attempts = 0;
    let created = retried(report, &format!("create {path}"), || {
        attempts += 1;
        let first = attempts == 1;
        let options = &options;
        async move {
            match client.create(path, data, options).await {
                Ok(_) => Ok(true),
                Err(zookeeper_client::Error::NodeExists) if !first => Ok(false),
                Err(e) => Err(e),
            }
        }
    })
    .await;
    match created {
        Outcome::Done(true) => Outcome::Done(()),
        Outcome::Done(false) => match read(client, report, path, data).await {
            Outcome::Done(()) => Outcome::Done(()),
            Outcome::Failed(e) => {
                Outcome::Failed(format!("{path} existed after a retried create: {e}"))
            }
        },
        Outcome::Failed(e) => Outcome::Failed(e),
    }
}

/// Reads `path` and checks it holds `data`.
async fn read(client: &Client, report: &mut LoadReport, path: &str, data: &[u8]) -> Outcome<()> {
    match retried(report, &format!("get {path}"), || client.get_data(path)).await {
        Outcome::Done((found, _)) if found == data => Outcome::Done(()),
        Outcome::Done((found, _)) => Outcome::Failed(format!(
            "{path} holds {:?}, wrote {:?}",
            String::from_utf8_lossy(&found),
            String::from_utf8_lossy(data)
        )),
        Outcome::Failed(e) => Outcome::Failed(e),
    }
}

async fn run(
    client: Client,
    root: String,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
) -> LoadReport {
    let mut report = LoadReport::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let path = znode(&root, i);
        let data = i.to_string().into_bytes();
        match write(&client, &mut report, &path, &data).await {
            Outcome::Done(()) => {
                report.acknowledged.push(i);
                report.acknowledged_at.push(Instant::now());
                acknowledged.store(report.acknowledged.len(), Ordering::Relaxed);
            }
            Outcome::Failed(e) => {
                report.failures.push(e);
                // The znode's fate is unknown; skip its index so later checks stay exact.
                i += 1;
                continue;
            }
        }
        match read(&client, &mut report, &path, &data).await {
            Outcome::Done(()) => report.reads += 1,
            Outcome::Failed(e) => report.failures.push(e),
        }
        i += 1;
        tokio::time::sleep(PACE).await;
    }
    report
}

/// Reads `path` until stopped, checking it holds `data`; `done` counts the reads.
async fn run_reads(
    client: Client,
    path: String,
    data: Vec<u8>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
) -> LoadReport {
    let mut report = LoadReport::default();
    while !stop.load(Ordering::Relaxed) {
        match read(&client, &mut report, &path, &data).await {
            Outcome::Done(()) => {
                report.reads += 1;
                done.store(report.reads as usize, Ordering::Relaxed);
            }
            Outcome::Failed(e) => report.failures.push(e),
        }
        tokio::time::sleep(PACE).await;
    }
    report
}

impl ClientLoad {
    /// Connects to `address` and starts reading `path` over and over, each read checked against the data
    /// `path` holds now. [`ClientLoad::progress`] then counts reads.
    pub async fn start_reads(address: &str, path: &str) -> Result<Self> {
        let client = connect(address).await?;
        let (data, _) = client
            .get_data(path)
            .await
            .map_err(|source| Error::ZooKeeper {
                address: address.to_string(),
                source,
            })?;
        let path = path.to_string();
        Ok(Self::spawn(|stop, done| {
            run_reads(client, path, data, stop, done)
        }))
    }

    /// Runs the load `make` builds from its stop flag and its progress counter.
    fn spawn<F>(make: impl FnOnce(Arc<AtomicBool>, Arc<AtomicUsize>) -> F) -> Self
    where
        F: std::future::Future<Output = LoadReport> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(make(stop.clone(), acknowledged.clone()));
        Self {
            stop,
            acknowledged,
            task,
        }
    }

    /// Connects to `address`, creates `root` and starts writing under it.
    pub async fn start(address: &str, root: &str) -> Result<Self> {
        let client = connect(address).await?;
        create_open(&client, address, root, b"").await?;
        let root = root.to_string();
        Ok(Self::spawn(|stop, done| run(client, root, stop, done)))
    }

    /// Waits until `writes` more operations (writes, or reads of a read load) than now are acknowledged: the
    /// load is making progress. Fails after `timeout`.
    pub async fn progress(&self, writes: usize, timeout: Duration) -> Result<()> {
        wait::count_grows(
            "acknowledged writes of the client load",
            writes,
            timeout,
            || self.acknowledged.load(Ordering::Relaxed),
        )
        .await
    }

    /// Stops the load after its current request and returns what it saw.
    pub async fn stop(self) -> Result<LoadReport> {
        self.stop.store(true, Ordering::Relaxed);
        self.task
            .await
            .map_err(|e| Error::Unexpected(format!("client load task: {e}")))
    }
}

/// Checks through a new session at `address` that every acknowledged write of `report` is readable with its
/// data.
pub async fn verify(address: &str, root: &str, report: &LoadReport) -> Result<()> {
    let client = connect(address).await?;
    let zk_err = |source| Error::ZooKeeper {
        address: address.to_string(),
        source,
    };
    client.sync(root).await.map_err(zk_err)?;
    let mut lost = Vec::new();
    for &i in &report.acknowledged {
        let path = znode(root, i);
        match client.get_data(&path).await {
            Ok((data, _)) if data == i.to_string().as_bytes() => {}
            Ok((data, _)) => {
                lost.push(format!("{path} holds {:?}", String::from_utf8_lossy(&data)))
            }
            Err(zookeeper_client::Error::NoNode) => lost.push(format!("{path} is gone")),
            Err(e) => return Err(zk_err(e)),
        }
    }
    if lost.is_empty() {
        Ok(())
    } else {
        Err(Error::Unexpected(format!(
            "{} of {} acknowledged writes lost: {}",
            lost.len(),
            report.acknowledged.len(),
            lost.join("; ")
        )))
    }
}
