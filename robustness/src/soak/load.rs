//! The soak's client load: many sessions, each living for a while and then closing (a new one takes its
//! place), holding an ephemeral znode of its own and now and then a few more, watching shared znodes with
//! one-shot and persistent watches, and mixing linearizable register operations (recorded into the
//! current [`Segment`](super::segment::Segment)'s history) with plain reads, writes that fire the
//! watches, child listings and existence checks. Beside them, sessions that expire: a raw connection
//! creates a session with a short timeout and an ephemeral znode, and is dropped without closing it.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;
use zk_proto::CreateMode as WireCreateMode;
use zookeeper_client::{Acls, AddWatchMode, Client, CreateMode, Error as ZkError, EventType};

use super::segment::Segments;
use crate::fifo::wire::Connection;
use crate::workload::{
    WorkloadError, connect, create_empty, read_register, transient, write_register,
};

/// The soak's root.
pub const ROOT: &str = "/soak";
/// The znodes sessions watch and write.
pub const WATCHED: &str = "/soak/watched";
/// Where sessions keep their ephemerals.
pub const EPHEMERALS: &str = "/soak/ephemerals";
/// Where the sessions left to expire keep theirs.
pub const EXPIRING: &str = "/soak/expiring";

/// How many extra ephemerals a session holds at most.
const EXTRA_EPHEMERALS: usize = 2;
/// How many one-shot watches a session keeps armed at most.
const ONESHOT_WATCHES: usize = 4;
/// How long a raw connection may wait for an answer.
const WIRE_LIMIT: Duration = Duration::from_secs(5);

/// How the load runs.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// How many sessions at once.
    pub sessions: u32,
    /// How many znodes are watched (`/soak/watched/w<k>`).
    pub watched: usize,
    /// Pause between two operations of a session, drawn from this range, ms.
    pub pace_ms: (u64, u64),
    /// How long a session lives before it closes, drawn from this range, seconds.
    pub lifetime_secs: (u64, u64),
    /// How often a session is made and left to expire.
    pub expire_every: Duration,
    /// The session timeout those ask for.
    pub expire_timeout: Duration,
    /// Seed of the operation mix.
    pub seed: u64,
}

/// What the load counted.
#[derive(Debug, Default)]
pub struct Counters {
    /// Operations answered (successfully or with an expected refusal).
    pub ops: AtomicU64,
    /// Operations whose connection failed (lost, timed out).
    pub connection_errors: AtomicU64,
    /// Sessions opened by the load's session loops.
    pub opened: AtomicU64,
    /// Sessions those closed.
    pub closed: AtomicU64,
    /// Sessions of the session loops that expired (none is expected).
    pub expired: AtomicU64,
    /// Sessions made to expire.
    pub left_to_expire: AtomicU64,
    /// One-shot watch events received.
    pub oneshot_events: AtomicU64,
    /// Persistent watch events received.
    pub persistent_events: AtomicU64,
    /// Errors other than a lost connection (none is expected), the first ones.
    pub unexpected: Mutex<Vec<String>>,
}

impl Counters {
    fn unexpected(&self, what: String) {
        let mut list = self
            .unexpected
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if list.len() < 100 {
            list.push(what);
        }
    }
}

/// Operation latencies since they were last taken.
#[derive(Debug, Default)]
pub struct Latencies(Mutex<Vec<Duration>>);

impl Latencies {
    fn record(&self, latency: Duration) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(latency);
    }

    /// The latencies recorded since the last call, sorted.
    pub fn take(&self) -> Vec<Duration> {
        let mut taken = std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        taken.sort_unstable();
        taken
    }
}

/// The path of watched znode `k`.
fn watched(k: usize) -> String {
    format!("{WATCHED}/w{k}")
}

/// Creates the load's parents and watched znodes through `admin`.
pub async fn prepare(admin: &Client, spec: &LoadSpec) -> Result<(), WorkloadError> {
    let parents = [
        ROOT,
        WATCHED,
        EPHEMERALS,
        EXPIRING,
        super::segment::SEGMENTS,
    ];
    create_empty(
        admin,
        parents
            .into_iter()
            .map(str::to_owned)
            .chain((0..spec.watched).map(watched)),
    )
    .await
}

/// A running load; [`Load::stop`] ends it.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
    counters: Arc<Counters>,
}

impl Load {
    /// Starts the sessions on `connect_string` and the expiring sessions on `members`; operation
    /// latencies go to `latencies`.
    pub fn start(
        connect_string: &str,
        members: &[SocketAddr],
        spec: &LoadSpec,
        segments: Arc<Segments>,
        latencies: Arc<Latencies>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let mut tasks = JoinSet::new();
        for id in 0..spec.sessions {
            let run = SessionLoop {
                id,
                connect_string: connect_string.to_owned(),
                spec: spec.clone(),
                rng: StdRng::seed_from_u64(spec.seed ^ u64::from(id)),
                stop: stop.clone(),
                counters: counters.clone(),
                latencies: latencies.clone(),
                segments: segments.clone(),
            };
            tasks.spawn(run.run());
        }
        tasks.spawn(expire_sessions(
            members.to_vec(),
            spec.clone(),
            stop.clone(),
            counters.clone(),
        ));
        Load {
            stop,
            tasks,
            counters,
        }
    }

    /// Stops every session after its current operation; each closes.
    pub async fn stop(mut self) -> Arc<Counters> {
        self.stop.store(true, Ordering::Relaxed);
        while let Some(done) = self.tasks.join_next().await {
            done.expect("a soak session panicked");
        }
        self.counters
    }
}

/// One session slot: session after session, each living for a while.
struct SessionLoop {
    id: u32,
    connect_string: String,
    spec: LoadSpec,
    rng: StdRng,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    latencies: Arc<Latencies>,
    segments: Arc<Segments>,
}

/// One session's state.
struct Live {
    client: Client,
    generation: u64,
    /// Extra ephemerals, oldest first.
    extras: VecDeque<String>,
    created: u64,
    /// Its watch tasks: dropped with the session.
    watches: JoinSet<()>,
    /// The register versions seen, by segment and key (for compare-and-set).
    versions: BTreeMap<(u32, String), i32>,
}

impl SessionLoop {
    async fn run(mut self) {
        let mut generation = 0;
        while !self.stop.load(Ordering::Relaxed) {
            let client = match connect(&self.connect_string).await {
                Ok(client) => client,
                Err(e) => {
                    tracing::debug!(session = self.id, "connect: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.counters.opened.fetch_add(1, Ordering::Relaxed);
            generation += 1;
            let mut live = Live {
                client,
                generation,
                extras: VecDeque::new(),
                created: 0,
                watches: JoinSet::new(),
                versions: BTreeMap::new(),
            };
            let own = format!("{EPHEMERALS}/s{}-g{generation}", self.id);
            let _ = self.ephemeral(&live, &own).await;
            if self.id.is_multiple_of(2) {
                self.watch_persistently(&mut live).await;
            }
            let lifetime = Duration::from_secs(
                self.rng
                    .random_range(self.spec.lifetime_secs.0..=self.spec.lifetime_secs.1),
            );
            let born = Instant::now();
            let mut expired = false;
            while !self.stop.load(Ordering::Relaxed) && born.elapsed() < lifetime {
                if self.operation(&mut live).await == Err(ZkError::SessionExpired) {
                    self.counters.expired.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(session = self.id, "session expired");
                    expired = true;
                    break;
                }
                let pause = self
                    .rng
                    .random_range(self.spec.pace_ms.0..=self.spec.pace_ms.1);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            live.watches.abort_all();
            while live.watches.join_next().await.is_some() {}
            drop(live);
            if !expired {
                self.counters.closed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts the outcome of an operation that took `latency`; a lost connection and the refusals a
    /// retried or racing operation may meet are expected, anything else is not.
    fn outcome(&self, result: &Result<(), ZkError>, latency: Duration, what: &str) {
        match result {
            Ok(()) => {
                self.counters.ops.fetch_add(1, Ordering::Relaxed);
                self.latencies.record(latency);
            }
            Err(e) if transient(e) || *e == ZkError::SessionExpired => {
                self.counters
                    .connection_errors
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self
                .counters
                .unexpected(format!("session {}: {what}: {e}", self.id)),
        }
    }

    /// Creates the ephemeral `path` (already there after a lost answer: fine).
    async fn ephemeral(&self, live: &Live, path: &str) -> Result<(), ZkError> {
        let start = Instant::now();
        let result = match live
            .client
            .create(
                path,
                b"",
                &CreateMode::Ephemeral.with_acls(Acls::anyone_all()),
            )
            .await
        {
            Ok(_) | Err(ZkError::NodeExists) => Ok(()),
            Err(e) => Err(e),
        };
        self.outcome(&result, start.elapsed(), "create ephemeral");
        result
    }

    /// Sets a persistent watch on one watched znode and counts its events until the session ends.
    async fn watch_persistently(&mut self, live: &mut Live) {
        let path = watched(self.id as usize % self.spec.watched);
        let start = Instant::now();
        match live.client.watch(&path, AddWatchMode::Persistent).await {
            Ok(mut watcher) => {
                self.outcome(&Ok(()), start.elapsed(), "watch");
                let counters = self.counters.clone();
                live.watches.spawn(async move {
                    loop {
                        let event = watcher.changed().await;
                        if event.event_type == EventType::Session {
                            if event.session_state.is_terminated() {
                                return;
                            }
                        } else {
                            counters.persistent_events.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            Err(e) => self.outcome(&Err(e), start.elapsed(), "watch"),
        }
    }

    /// One operation of the mix.
    async fn operation(&mut self, live: &mut Live) -> Result<(), ZkError> {
        let roll = self.rng.random_range(0..100);
        let target = watched(self.rng.random_range(0..self.spec.watched));
        let start = Instant::now();
        let (what, result) = match roll {
            0..30 => ("register", self.register(live, roll).await),
            30..45 => ("get and watch", self.get_and_watch(live, &target).await),
            45..60 => {
                let data = self.rng.random::<u32>().to_string();
                let set = live.client.set_data(&target, data.as_bytes(), None).await;
                ("set watched", set.map(drop))
            }
            60..70 => ("extra ephemeral", self.extra_ephemeral(live).await),
            70..78 => {
                let listed = live.client.list_children(EPHEMERALS).await;
                ("list ephemerals", listed.map(drop))
            }
            78..90 => ("get", live.client.get_data(&target).await.map(drop)),
            _ => ("exists", live.client.check_stat(&target).await.map(drop)),
        };
        self.outcome(&result, start.elapsed(), what);
        result
    }

    /// A read, write or compare-and-set of a register of the current segment, recorded in its history.
    async fn register(&mut self, live: &mut Live, roll: u32) -> Result<(), ZkError> {
        let segment = self.segments.current();
        let _running = segment.begin();
        let key = segment.keys[self.rng.random_range(0..segment.keys.len())].clone();
        let seen = (segment.index, key.clone());
        let recorder = &segment.recorder;
        live.created += 1;
        let value =
            i64::from(self.id) * 1_000_000_000 + (live.generation * 100_000 + live.created) as i64;
        if roll < 15 {
            let register = read_register(&live.client, recorder, self.id, &key).await?;
            live.versions.insert(seen, register.version);
        } else {
            let expected = (roll >= 25).then(|| live.versions.get(&seen).copied().unwrap_or(0));
            match write_register(&live.client, recorder, self.id, &key, value, expected).await? {
                Some(version) => live.versions.insert(seen, version),
                None => live.versions.remove(&seen),
            };
        }
        Ok(())
    }

    /// `getData` of `path` with a one-shot watch, when fewer than [`ONESHOT_WATCHES`] are armed.
    async fn get_and_watch(&self, live: &mut Live, path: &str) -> Result<(), ZkError> {
        while live.watches.try_join_next().is_some() {}
        if live.watches.len() > ONESHOT_WATCHES {
            return live.client.get_data(path).await.map(drop);
        }
        let (_, _, watcher) = live.client.get_and_watch_data(path).await?;
        let counters = self.counters.clone();
        live.watches.spawn(async move {
            let event = watcher.changed().await;
            if event.event_type != EventType::Session {
                counters.oneshot_events.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(())
    }

    /// Creates one more ephemeral, deleting the oldest extra one past [`EXTRA_EPHEMERALS`].
    async fn extra_ephemeral(&self, live: &mut Live) -> Result<(), ZkError> {
        if live.extras.len() >= EXTRA_EPHEMERALS {
            let oldest = live.extras.pop_front().expect("an extra ephemeral");
            match live.client.delete(&oldest, None).await {
                Ok(()) | Err(ZkError::NoNode) => {}
                Err(e) => {
                    live.extras.push_front(oldest);
                    return Err(e);
                }
            }
        }
        live.created += 1;
        let path = format!(
            "{EPHEMERALS}/s{}-g{}-e{}",
            self.id, live.generation, live.created
        );
        // Kept even if the answer is lost: the delete of a znode that was not made finds NoNode.
        live.extras.push_back(path.clone());
        match live
            .client
            .create(
                &path,
                b"",
                &CreateMode::Ephemeral.with_acls(Acls::anyone_all()),
            )
            .await
        {
            Ok(_) | Err(ZkError::NodeExists) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Every `expire_every`, a session with an ephemeral znode whose connection is then dropped without a
/// close: the ensemble must expire it and remove the znode.
async fn expire_sessions(
    members: Vec<SocketAddr>,
    spec: LoadSpec,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) {
    let mut made = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(spec.expire_every).await;
        let addr = members[made as usize % members.len()];
        made += 1;
        let Ok((mut connection, _)) =
            Connection::open(addr, None, spec.expire_timeout, 0, WIRE_LIMIT).await
        else {
            continue;
        };
        let path = format!("{EXPIRING}/x{made}");
        let created = match connection
            .send_create(&path, b"", WireCreateMode::Ephemeral)
            .await
        {
            Ok(_) => connection.reply().await.is_ok_and(|reply| reply.err == 0),
            Err(_) => false,
        };
        if created {
            counters.left_to_expire.fetch_add(1, Ordering::Relaxed);
        }
        drop(connection);
    }
}
