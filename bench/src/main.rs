//! `zk-bench`: starts each selected server in turn from a generated `zoo.cfg`, runs the same rows against
//! it, and prints the Markdown tables of both flavours side by side with their ratios. `zk-bench reconfig`
//! times membership changes by reconfig instead, `zk-bench failover` the write pause when the leader is
//! killed.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use zk_bench::failover;
use zk_bench::launch::{Flavour, Launcher};
use zk_bench::reconfig::{self, summary};
use zk_bench::report;
use zk_bench::runner::Limits;
use zk_bench::suite::{Plan, Results, run_flavour};
use zk_bench::tls::RunTls;
use zk_bench::workload::{Concurrency, OpKind};
use zk_bench::zoocfg::Topology;

/// The script that prints the classpath of Debian's Apache ZooKeeper.
const APACHE_CLASSPATH_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../compat/apache_classpath.sh");

/// Measures Apache ZooKeeper and zk-server with the same workload in one run and prints a Markdown
/// table of ratios (ours ÷ Apache) on stdout.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Another measurement than the load rows.
    #[command(subcommand)]
    command: Option<Command>,
    /// Servers to measure, in order: apache, ours.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "apache,ours"
    )]
    servers: Vec<Flavour>,
    /// The zk-server binary (build it with `cargo build --release -p zk-server`).
    #[arg(long, global = true, env = "ZK_SERVER_BIN")]
    server_bin: Option<PathBuf>,
    /// Operations measured: create, setData, getData, mixed90 (90 % getData, 10 % setData), mixed50, connect
    /// (sessions opened and closed, one at a time per session slot: `Sx1`).
    #[arg(long, value_delimiter = ',', default_value = "create,setData,getData")]
    workloads: Vec<OpKind>,
    /// Sessions × requests in flight per session, e.g. 8x32.
    #[arg(long, value_delimiter = ',', default_value = "1x1,8x1,16x1,32x1,8x32")]
    concurrency: Vec<Concurrency>,
    /// Untimed warm-up of each row, seconds.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Longest measured phase of each row, seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Most measured requests of each row.
    #[arg(long, default_value_t = 50_000)]
    max_ops: u64,
    /// Bytes of every value written.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Znodes created before reading resident memory; 0 skips the memory measurement.
    #[arg(long, default_value_t = 100_000)]
    memory_znodes: u64,
    /// Members per flavour, all on loopback (1: standalone).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=9))]
    ensemble: u16,
    /// Observers per flavour besides the `--ensemble` voters; with any, the rows' sessions connect to
    /// the observers only (the pool is still made through member 1).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=8))]
    observers: u16,
    /// The rows' sessions over TLS: both flavours serve TLS on `secureClientPort` (300 above the client
    /// port) with certificates made for the run, Apache through its Netty connection factory; sessions
    /// present a client certificate (Apache's default `ssl.clientAuth=need`).
    #[arg(long)]
    tls: bool,
    /// Client port of the first member; quorum and election ports are 100 and 200 above.
    #[arg(long, global = true, default_value_t = 22181)]
    port: u16,
    /// Where the servers' scratch directories go (data, logs); removed afterwards.
    #[arg(long, global = true, default_value_os_t = std::env::temp_dir())]
    workdir: PathBuf,
    /// Java classpath of Apache ZooKeeper (default: printed by compat/apache_classpath.sh).
    #[arg(long, global = true)]
    apache_classpath: Option<String>,
}

/// Measurements other than the load rows.
#[derive(Debug, Subcommand)]
enum Command {
    /// Times reconfig on each flavour: members added one by one to a lone first member, a follower removed,
    /// then the leader removed while sessions write; prints median and maximum per measurement.
    Reconfig {
        /// Rounds per flavour, each on a fresh deployment.
        #[arg(long, default_value_t = 5)]
        repetitions: usize,
        /// Members each round grows to (the leader is then removed from members - 1).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(3..=9))]
        members: u16,
    },
    /// Kills the leader of three members while 8 sessions write, resuming on the next member when their
    /// connection drops; prints the longest write pause and the time to the first write after the kill.
    Failover {
        /// Repetitions per flavour, each on a fresh deployment.
        #[arg(long, default_value_t = 5)]
        repetitions: usize,
    },
}

/// Seconds given on the command line as a duration.
fn seconds(name: &str, secs: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(secs).with_context(|| format!("--{name} {secs}"))
}

/// The classpath printed by the repository's script.
fn apache_classpath() -> anyhow::Result<String> {
    let out = std::process::Command::new(APACHE_CLASSPATH_SCRIPT)
        .output()
        .with_context(|| format!("running {APACHE_CLASSPATH_SCRIPT}"))?;
    if !out.status.success() {
        bail!(
            "{APACHE_CLASSPATH_SCRIPT} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let launcher = Launcher {
        apache_classpath: classpath_for(&args)?,
        server_bin: args.server_bin.clone(),
        workdir: args.workdir.clone(),
        netns: Vec::new(),
    };
    match args.command {
        Some(Command::Reconfig {
            repetitions,
            members,
        }) => {
            run_reconfig(
                &launcher,
                &args.servers,
                members.into(),
                args.port,
                repetitions,
            )
            .await
        }
        Some(Command::Failover { repetitions }) => {
            run_failover(&launcher, &args.servers, args.port, repetitions).await
        }
        None => run_load(&launcher, &args).await,
    }
}

/// The Apache classpath: as given, from the repository's script if Apache is measured, else empty.
fn classpath_for(args: &Args) -> anyhow::Result<String> {
    match (
        &args.apache_classpath,
        args.servers.contains(&Flavour::Apache),
    ) {
        (Some(cp), _) => Ok(cp.clone()),
        (None, true) => apache_classpath(),
        (None, false) => Ok(String::new()),
    }
}

/// The reconfiguration rounds on each flavour, then their table.
async fn run_reconfig(
    launcher: &Launcher,
    servers: &[Flavour],
    members: usize,
    port: u16,
    repetitions: usize,
) -> anyhow::Result<()> {
    let topology = reconfig::topology(members, port);
    let (mut apache, mut ours) = (None, None);
    for &flavour in servers {
        let rounds = reconfig::run_rounds(launcher, flavour, &topology, repetitions).await;
        match flavour {
            Flavour::Apache => apache = Some(rounds),
            Flavour::Ours => ours = Some(rounds),
        }
    }
    println!(
        "Rounds per flavour: {repetitions}, each growing 1→{members} members on loopback, then removing a \
         follower and the leader. Times in ms from sending the reconfig.\n"
    );
    let rows = summary::rows(apache.as_ref(), ours.as_ref());
    println!("{}", report::timings_table(&rows));
    let notes = summary::notes(apache.as_ref(), ours.as_ref());
    if !notes.is_empty() {
        println!("Notes:\n\n{notes}");
    }
    Ok(())
}

/// The failover repetitions on each flavour, then their table.
async fn run_failover(
    launcher: &Launcher,
    servers: &[Flavour],
    port: u16,
    repetitions: usize,
) -> anyhow::Result<()> {
    let topology = failover::topology(port);
    let (mut apache, mut ours) = (None, None);
    for &flavour in servers {
        let done = failover::run_repetitions(launcher, flavour, &topology, repetitions).await;
        match flavour {
            Flavour::Apache => apache = Some(done),
            Flavour::Ours => ours = Some(done),
        }
    }
    println!(
        "Repetitions per flavour: {repetitions}, each on a fresh ensemble of {} members on loopback. {} \
         sessions write (setData, one at a time each, resuming on the next member when disconnected); the \
         leader is killed (SIGKILL) after {} s. Longest pause: between consecutive acknowledged writes, from \
         {} s before the kill until {} s after writes resumed.\n",
        failover::MEMBERS,
        failover::WRITERS,
        failover::LOAD_BEFORE_KILL.as_secs_f64(),
        failover::LEAD_IN.as_secs_f64(),
        failover::AFTER_RESUME.as_secs_f64(),
    );
    let rows = failover::rows(apache.as_ref(), ours.as_ref());
    println!("{}", report::repetitions_table(&rows));
    println!(
        "Notes:\n\n{}",
        failover::notes(apache.as_ref(), ours.as_ref())
    );
    Ok(())
}

/// The load rows and the memory measurement on each flavour, then their tables.
async fn run_load(launcher: &Launcher, args: &Args) -> anyhow::Result<()> {
    let mut topology = Topology::loopback((args.ensemble + args.observers).into(), args.port)
        .with_observers(args.observers.into());
    // The directory is kept until the run ends: the servers read the certificates from it.
    let (tls, _tls_dir) = if args.tls {
        let dir = tempfile::Builder::new()
            .prefix("zk-bench-tls-")
            .tempdir_in(&args.workdir)
            .context("making the TLS directory")?;
        let tls = RunTls::create(dir.path())?;
        topology = topology
            .with_settings(&tls.server_settings())
            .with_secure_ports();
        (Some(tls), Some(dir))
    } else {
        (None, None)
    };
    let plan = Plan {
        topology,
        rows: args
            .workloads
            .iter()
            .flat_map(|&k| args.concurrency.iter().map(move |&c| (k, c)))
            .collect(),
        limits: Limits {
            warmup: seconds("warmup", args.warmup)?,
            duration: seconds("duration", args.duration)?,
            max_ops: args.max_ops,
        },
        value_size: args.value_size,
        memory_znodes: args.memory_znodes,
        tls,
    };
    let mut results = Results::new(&plan);
    for &flavour in &args.servers {
        run_flavour(launcher, flavour, &plan, &mut results).await;
    }
    let members = match args.observers {
        0 => args.ensemble.to_string(),
        observers => format!(
            "{} voters and {observers} observers, the rows' sessions on the observers only",
            args.ensemble
        ),
    };
    let transport = if args.tls {
        "TLS (secureClientPort, client certificates)"
    } else {
        "plain TCP"
    };
    println!(
        "Members per flavour: {members}. Sessions over {transport}. Values: {} B. Each row: {} s warm-up, then at \
         most {} s or {} requests.\n",
        args.value_size, args.warmup, args.duration, args.max_ops
    );
    if !plan.rows.is_empty() {
        println!("{}", report::rows_table(&results.rows));
    }
    if plan.memory_znodes > 0 {
        println!(
            "{}",
            report::memory_table(
                &results.memory,
                plan.memory_znodes,
                plan.value_size,
                (args.ensemble + args.observers).into()
            )
        );
    }
    let failures = report::failures(&results.rows, &results.memory);
    if !failures.is_empty() {
        println!("Failures:\n\n{failures}");
    }
    Ok(())
}
