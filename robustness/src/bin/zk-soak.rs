//! `zk-soak`: the soak test (see `zk_robustness::soak`). Runs an ensemble of `zk-server` members on this
//! machine under churning load and faults for `--minutes`, writes `soak.csv`, `soak.png` and
//! `summary.md` into `--out`, and with `--docs` into the project's docs too. Exits with 1 when a goal
//! was not met (the files are written all the same). Needs root (network namespaces) and Go (the
//! checker). `scripts/soak.sh` builds and runs it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use zk_robustness::soak::load::LoadSpec;
use zk_robustness::soak::nemesis::NemesisSpec;
use zk_robustness::soak::report;
use zk_robustness::soak::run::{SoakSpec, run};
use zk_robustness::soak::summary::summarize;

/// Snapshots a member keeps (`autopurge.snapRetainCount`).
const RETAINED_SNAPSHOTS: u64 = 3;

#[derive(Debug, Parser)]
#[command(about = "Soak test of a zk-server ensemble on this machine")]
struct Args {
    /// How long the load and the faults run, minutes.
    #[arg(long, default_value_t = 60.0)]
    minutes: f64,
    /// Where the CSV, the plot and the summary go.
    #[arg(long, default_value = "soak-out")]
    out: PathBuf,
    /// The project's docs directory: the results also go to `<docs>/soak/` and `<docs>/robustness.md`.
    #[arg(long)]
    docs: Option<PathBuf>,
    /// The `zk-server` binary.
    #[arg(long)]
    server_bin: PathBuf,
    /// Sessions at once.
    #[arg(long, default_value_t = 200)]
    sessions: u32,
    /// Time between two reconfig steps, seconds.
    #[arg(long, default_value_t = 120)]
    reconfig_every: u64,
    /// Time between two leader kills, seconds.
    #[arg(long, default_value_t = 300)]
    kill_every: u64,
    /// Time between two samples, seconds.
    #[arg(long, default_value_t = 10)]
    sample_every: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,zookeeper_client=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    // The first window starts after a sixth of the run and lasts as long (five minutes at most).
    let warmup = duration / 6;
    let window = warmup.min(Duration::from_secs(300));
    let spec = SoakSpec {
        server_bin: args.server_bin,
        settings: format!(
            "tickTime=1000\ninitLimit=10\nsyncLimit=5\nsnapCount=20000\n\
             autopurge.snapRetainCount={RETAINED_SNAPSHOTS}\nautopurge.purgeInterval=1\n"
        ),
        duration,
        sample_every: Duration::from_secs(args.sample_every),
        segment_every: Duration::from_secs(args.reconfig_every * 2),
        registers: 16,
        drain_limit: Duration::from_secs(90),
        load: LoadSpec {
            sessions: args.sessions,
            watched: 20,
            pace_ms: (200, 600),
            lifetime_secs: (30, 120),
            expire_every: Duration::from_secs(2),
            expire_timeout: Duration::from_secs(3),
            seed: 16,
        },
        nemesis: NemesisSpec {
            base: 3,
            top: 5,
            reconfig_every: Duration::from_secs(args.reconfig_every),
            kill_every: Duration::from_secs(args.kill_every),
        },
        checker_dir: args.out.join("checker"),
    };
    let outcome = run(&spec).await.context("the soak run")?;
    let summary = summarize(
        &outcome.samples,
        warmup.as_secs_f64(),
        window.as_secs_f64(),
        RETAINED_SNAPSHOTS,
    )
    .context("summarizing the samples")?;
    let files = report::write(&args.out, &spec, &outcome, &summary)?;
    if let Some(docs) = &args.docs {
        report::into_docs(docs, &files, &spec, &outcome, &summary)?;
    }
    println!(
        "{}",
        report::markdown(&spec, &outcome, &summary, "soak.png")
    );
    let unexpected = outcome
        .counters
        .unexpected
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    for error in &unexpected {
        eprintln!("unexpected: {error}");
    }
    if !(summary.met() && report::linearizable(&outcome) && outcome.drained) {
        eprintln!("zk-soak: a goal was not met; see {}", files[2].display());
        std::process::exit(1);
    }
    Ok(())
}
