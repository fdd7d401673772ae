//! `zk-bench`: starts each selected server in turn from a generated `zoo.cfg`, runs the same rows against
//! it, and prints the Markdown tables of both flavours side by side with their ratios.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use tracing_subscriber::EnvFilter;
use zk_bench::launch::{Flavour, Launcher};
use zk_bench::report;
use zk_bench::runner::Limits;
use zk_bench::suite::{Plan, Results, run_flavour};
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
    /// Servers to measure, in order: apache, ours.
    #[arg(long, value_delimiter = ',', default_value = "apache,ours")]
    servers: Vec<Flavour>,
    /// The zk-server binary (build it with `cargo build --release -p zk-server`).
    #[arg(long, env = "ZK_SERVER_BIN")]
    server_bin: Option<PathBuf>,
    /// Operations measured: create, setData, getData.
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
    /// Client port of the first member; quorum and election ports are 100 and 200 above.
    #[arg(long, default_value_t = 22181)]
    port: u16,
    /// Where the servers' scratch directories go (data, logs); removed afterwards.
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    workdir: PathBuf,
    /// Java classpath of Apache ZooKeeper (default: printed by compat/apache_classpath.sh).
    #[arg(long)]
    apache_classpath: Option<String>,
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
    let plan = Plan {
        topology: Topology::loopback(args.ensemble.into(), args.port),
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
    };
    let apache_classpath = match (
        &args.apache_classpath,
        args.servers.contains(&Flavour::Apache),
    ) {
        (Some(cp), _) => cp.clone(),
        (None, true) => apache_classpath()?,
        (None, false) => String::new(),
    };
    let launcher = Launcher {
        apache_classpath,
        server_bin: args.server_bin.clone(),
        workdir: args.workdir.clone(),
        netns: Vec::new(),
    };
    let mut results = Results::new(&plan);
    for &flavour in &args.servers {
        run_flavour(&launcher, flavour, &plan, &mut results).await;
    }
    println!(
        "Members per flavour: {}. Values: {} B. Each row: {} s warm-up, then at most {} s or {} requests.\n",
        args.ensemble, args.value_size, args.warmup, args.duration, args.max_ops
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
                args.ensemble.into()
            )
        );
    }
    let failures = report::failures(&results.rows, &results.memory);
    if !failures.is_empty() {
        println!("Failures:\n\n{failures}");
    }
    Ok(())
}
