//! One flavour's part of a run: the rows on one fresh deployment, the memory load on a second one. Whatever
//! fails is recorded against that flavour and the run goes on, so a server that cannot do everything yet
//! still gets the rest of its table.

use std::net::SocketAddr;

use crate::fourlw::{self, Mode};
use crate::launch::{Deployment, Flavour, Launcher};
use crate::report::{MemoryStats, Pair, RowReport};
use crate::rss::resident_bytes;
use crate::runner::{self, Limits, RunError};
use crate::session::Endpoint;
use crate::tls::RunTls;
use crate::workload::{Concurrency, OpKind, Workload};
use crate::zoocfg::Topology;

/// Nodes that setData and getData rows cycle over.
const POOL_SIZE: u64 = 1_000;
/// Parent of the pool.
const POOL_PARENT: &str = "/zkbench/pool";
/// Parent of the memory load's znodes.
const MEMORY_PARENT: &str = "/zkbench/memory";
/// Concurrency of the memory load (it is not timed, only made quick).
const MEMORY_LOAD: Concurrency = Concurrency {
    sessions: 8,
    in_flight: 32,
};

/// What a run measures.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The members of each flavour's deployment.
    pub topology: Topology,
    /// The rows, in table order.
    pub rows: Vec<(OpKind, Concurrency)>,
    /// How long each row runs.
    pub limits: Limits,
    /// Size of every value written.
    pub value_size: usize,
    /// Znodes of the memory load; 0 skips memory.
    pub memory_znodes: u64,
    /// TLS for the rows' sessions (the topology then carries the servers' TLS settings), or plain text.
    pub tls: Option<RunTls>,
}

/// Everything measured so far, on both flavours.
#[derive(Debug, Clone)]
pub struct Results {
    /// One entry per row of the plan.
    pub rows: Vec<RowReport>,
    /// The memory measurement.
    pub memory: Pair<MemoryStats>,
}

impl Results {
    /// Empty results for every row of `plan`.
    pub fn new(plan: &Plan) -> Self {
        Results {
            rows: plan
                .rows
                .iter()
                .map(|&(kind, concurrency)| RowReport {
                    kind,
                    concurrency,
                    stats: Pair::default(),
                })
                .collect(),
            memory: Pair::default(),
        }
    }
}

/// Runs `plan` on `flavour`, recording into `results`: the rows on one fresh deployment, the memory load on
/// another, so that neither disturbs the other (the load's 100k znodes and whatever background work they
/// cause do not slow the rows; the rows' creates do not inflate the memory figure).
pub async fn run_flavour(
    launcher: &Launcher,
    flavour: Flavour,
    plan: &Plan,
    results: &mut Results,
) {
    let value = vec![b'v'; plan.value_size];
    if !plan.rows.is_empty() {
        match launcher.start(flavour, &plan.topology).await {
            Ok(mut deployment) => {
                run_rows(&mut deployment, plan, &mut results.rows, &value).await;
                deployment.stop().await;
            }
            Err(e) => {
                tracing::error!(%flavour, "start failed: {e}");
                for row in &mut results.rows {
                    *row.stats.slot(flavour) = Some(Err(format!("start: {e}")));
                }
            }
        }
    }
    if plan.memory_znodes > 0 {
        let outcome = match launcher.start(flavour, &plan.topology).await {
            Ok(deployment) => {
                let outcome = measure_memory(&deployment, plan.memory_znodes, &value).await;
                deployment.stop().await;
                outcome
            }
            Err(e) => Err(format!("start: {e}")),
        };
        *results.memory.slot(flavour) = Some(outcome);
    }
}

/// Makes the pool, then runs every row on `deployment`, recording into `rows`.
async fn run_rows(deployment: &mut Deployment, plan: &Plan, rows: &mut [RowReport], value: &[u8]) {
    let flavour = deployment.flavour();
    let addrs = deployment.client_addrs();
    let needs_pool = plan.rows.iter().any(|(k, _)| k.uses_pool());
    let pool = if let Err(why) = check_observers(&plan.topology).await {
        Err(why)
    } else if needs_pool {
        let made = match runner::populate(addrs[0], POOL_PARENT, POOL_SIZE, value).await {
            Ok(stats) => runner::sync_all(&addrs, POOL_PARENT)
                .await
                .map(|()| stats)
                .map_err(RunError::from),
            Err(e) => Err(e),
        };
        match made {
            Ok(stats) => {
                tracing::info!(%flavour, nodes = POOL_SIZE, ops_per_s = stats.throughput() as u64, "pool ready");
                Ok(())
            }
            Err(e) => Err(format!("making the pool: {e}")),
        }
    } else {
        Ok(())
    };
    for (index, row) in rows.iter_mut().enumerate() {
        let outcome = match &pool {
            Err(why) if row.kind.uses_pool() => Err(why.clone()),
            _ => run_row(&addrs, &plan.topology.load_addrs(), index, row, plan, value).await,
        };
        let outcome = outcome.map_err(|why| match deployment.check_alive() {
            Err(dead) => format!("{why} ({dead})"),
            Ok(()) => why,
        });
        match &outcome {
            Ok(s) => tracing::info!(
                %flavour, kind = %row.kind, concurrency = %row.concurrency,
                ops_per_s = s.throughput() as u64, p50_us = s.p50.as_micros() as u64,
                p99_us = s.p99.as_micros() as u64, "row done"
            ),
            Err(why) => {
                tracing::warn!(%flavour, kind = %row.kind, concurrency = %row.concurrency, "row failed: {why}")
            }
        }
        *row.stats.slot(flavour) = Some(outcome);
    }
}

/// With observers in `topology`, that the members the rows' sessions connect to are observers.
async fn check_observers(topology: &Topology) -> Result<(), String> {
    let load = topology.load_addrs();
    if load.len() == topology.members().len() {
        return Ok(());
    }
    for addr in load {
        let mode = fourlw::mode(addr).await;
        if mode != Mode::Observer {
            return Err(format!("{addr} is not an observer but {mode:?}"));
        }
    }
    Ok(())
}

/// Runs one row of the plan (number `index`, which names the parent of its creates) with its sessions
/// on `load_addrs` (over TLS if the plan says so); the parent is made through the first of `addrs`.
async fn run_row(
    addrs: &[SocketAddr],
    load_addrs: &[SocketAddr],
    index: usize,
    row: &RowReport,
    plan: &Plan,
    value: &[u8],
) -> Result<crate::stats::RowStats, String> {
    let endpoints: Vec<Endpoint> = load_addrs
        .iter()
        .map(|&addr| match &plan.tls {
            Some(tls) => tls.endpoint(addr),
            None => Endpoint::plain(addr),
        })
        .collect();
    let workload = match row.kind {
        OpKind::Connect if row.concurrency.in_flight != 1 => {
            return Err(format!(
                "a connect row opens one session at a time per task: {}x1, not {}",
                row.concurrency.sessions, row.concurrency
            ));
        }
        OpKind::Connect => {
            return runner::churn(&endpoints, row.concurrency.sessions, plan.limits)
                .await
                .map_err(|e| e.to_string());
        }
        OpKind::Create => {
            let parent = format!("/zkbench/create-{index}");
            runner::ensure_path(addrs[0], &parent)
                .await
                .map_err(|e| e.to_string())?;
            Workload::create(parent, value.to_vec())
        }
        kind => Workload::on_pool(kind, POOL_PARENT, POOL_SIZE, value.to_vec()),
    };
    runner::run(&endpoints, &workload, row.concurrency, plan.limits)
        .await
        .map_err(|e| e.to_string())
}

/// Resident memory of the deployment when ready and after `znodes` creates of `value`.
async fn measure_memory(
    deployment: &Deployment,
    znodes: u64,
    value: &[u8],
) -> Result<MemoryStats, String> {
    let addrs = deployment.client_addrs();
    let idle = mean_rss(deployment)?;
    runner::ensure_path(addrs[0], MEMORY_PARENT)
        .await
        .map_err(|e| format!("memory load: {e}"))?;
    let load = Workload::create(MEMORY_PARENT, value.to_vec());
    let endpoints: Vec<Endpoint> = addrs.iter().map(|&a| Endpoint::plain(a)).collect();
    let stats = runner::run(&endpoints, &load, MEMORY_LOAD, Limits::ops(znodes))
        .await
        .map_err(|e: RunError| format!("memory load: {e}"))?;
    tracing::info!(flavour = %deployment.flavour(), znodes, ops_per_s = stats.throughput() as u64, "memory load done");
    let loaded = mean_rss(deployment)?;
    Ok(MemoryStats {
        idle,
        loaded,
        znodes,
    })
}

/// Mean resident bytes over the deployment's members.
fn mean_rss(deployment: &Deployment) -> Result<u64, String> {
    let pids = deployment.pids();
    let mut total = 0;
    for &pid in &pids {
        total += resident_bytes(pid).map_err(|e| format!("reading RSS: {e}"))?;
    }
    Ok(total / pids.len().max(1) as u64)
}
