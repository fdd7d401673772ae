//! `zk-server <path/to/zoo.cfg>`: runs the server in the foreground, as `zkServer.sh start-foreground`.
//! Logs go to stderr (see [`zk_server::logging`]: `RUST_LOG`, or Apache's root logger level; text or
//! JSON). Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 2 for an invalid configuration
//! (including a `dataDir` holding only Apache ZooKeeper's data), 1 when the server cannot start or
//! fails.
//!
//! `zk-server import ...` and `zk-server export ...` move data from and to Apache ZooKeeper's
//! format (see [`zk_server::apache_data`]); `zk-server backup ...` keeps a running member's
//! snapshot (see [`zk_server::backup`]). They exit 0 on success and 1 on failure.

mod allocator;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing::error;
use zk_server::apache_data::{self, ImportPlan};
use zk_server::backup::{self, BackupPlan};
use zk_server::config;
use zk_server::consensus::Member;
use zk_server::logging::{self, LogFormat};
use zk_server::server::{Server, initial_members, standalone_member, state_settings};
use zk_server::state::Settings;

/// A ZooKeeper-compatible server.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Args {
    /// A data tool instead of the server.
    #[command(subcommand)]
    tool: Option<Tool>,
    /// The zoo.cfg file: runs the server.
    #[arg(required = true)]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
}

/// The data tools.
#[derive(Debug, Subcommand)]
enum Tool {
    /// Imports Apache ZooKeeper's data (its newest snapshot and the transaction logs after it)
    /// into a new zk-server data directory.
    Import {
        /// Apache's dataDir (holding version-2/snapshot.*).
        #[arg(long)]
        apache_data_dir: PathBuf,
        /// Apache's dataLogDir (holding version-2/log.*), when not the dataDir.
        #[arg(long)]
        apache_log_dir: Option<PathBuf>,
        /// The zk-server data directory to create (new, empty, or holding only myid).
        #[arg(long)]
        data_dir: PathBuf,
        /// The zoo.cfg of the server that will start on it (its id, ensemble and settings);
        /// without it, a standalone server.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Exports the data of a stopped zk-server member as an Apache ZooKeeper data directory.
    Export {
        /// The member's dataDir.
        #[arg(long)]
        data_dir: PathBuf,
        /// The member's dataLogDir, when not the dataDir.
        #[arg(long)]
        data_log_dir: Option<PathBuf>,
        /// The Apache dataDir to create (new or empty).
        #[arg(long)]
        apache_data_dir: PathBuf,
        /// The member's zoo.cfg (its settings); without it, a standalone server's.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Fetches a running member's snapshot through its AdminServer (`snapshot`) into a new
    /// backup directory, an Apache data directory, and removes the oldest beyond `--keep`.
    Backup {
        /// A member's AdminServer: [http://]host:port[/commandURL]; repeated, each is tried in
        /// turn until one answers with a snapshot.
        #[arg(long, required = true)]
        from: Vec<String>,
        /// The directory holding the backups.
        #[arg(long)]
        out: PathBuf,
        /// How many backups to keep, the new one included (0: every one).
        #[arg(long, default_value_t = 0)]
        keep: usize,
        /// The Authorization header: `ip`, or `digest user:password` (identities with every
        /// permission on `/`).
        #[arg(long, env = "ZK_BACKUP_AUTH", default_value = "ip")]
        auth: String,
        /// Seconds the member has to send the snapshot.
        #[arg(long, default_value_t = 600)]
        timeout_seconds: u64,
        /// A file to write the report (JSON) to as well, e.g. /dev/termination-log.
        #[arg(long)]
        report_file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format);
    if let Some(tool) = args.tool {
        return match run_tool(tool) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                error!("{e:#}");
                ExitCode::from(1)
            }
        };
    }
    let path = args
        .config
        .expect("clap requires the config without a tool");
    let config = match config::load(&path) {
        Ok(config) => config,
        Err(e) => {
            error!("Invalid config, exiting abnormally: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = apache_data::refuse_apache_data(&config.data_dir, &config.data_log_dir) {
        error!("Invalid config, exiting abnormally: {e}");
        return ExitCode::from(2);
    }
    if let Some(krb5_conf) = &config.sasl.krb5_conf
        && std::env::var_os("KRB5_CONFIG").is_none()
    {
        // SAFETY: no other thread exists yet (the runtime starts below), so nothing reads the
        // environment concurrently. The GSS-API library reads its configuration from here.
        unsafe { std::env::set_var("KRB5_CONFIG", krb5_conf) };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(config))
}

/// The settings, id and ensemble of the server a tool works for.
fn target(config: Option<&Path>) -> anyhow::Result<(Settings, u64, Vec<Member>)> {
    Ok(match config {
        Some(path) => {
            let config = config::load(path).context("invalid config")?;
            let members = initial_members(&config);
            (state_settings(&config), config.server_id(), members)
        }
        None => (Settings::default(), 0, vec![standalone_member(0)]),
    })
}

fn run_tool(tool: Tool) -> anyhow::Result<()> {
    match tool {
        Tool::Import {
            apache_data_dir,
            apache_log_dir,
            data_dir,
            config,
        } => {
            let (settings, my_id, members) = target(config.as_deref())?;
            let started = std::time::Instant::now();
            let report = apache_data::import(&ImportPlan {
                apache_data_dir,
                apache_log_dir,
                data_dir: data_dir.clone(),
                settings,
                my_id,
                members,
            })?;
            for skipped in &report.skipped_snapshots {
                println!("skipped unreadable snapshot: {skipped}");
            }
            for (path, offset) in &report.torn {
                println!(
                    "{}: torn tail at offset {offset}, read up to it",
                    path.display()
                );
            }
            let snapshot = report
                .snapshot
                .as_ref()
                .map_or("none".to_string(), |p| p.display().to_string());
            println!(
                "imported zxid 0x{:x}: {} znodes, {} sessions (snapshot {snapshot}, {} \
                 transactions from {} log files) into {} in {:.3} s",
                report.zxid,
                report.znodes,
                report.sessions,
                report.txns,
                report.log_files,
                data_dir.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Tool::Export {
            data_dir,
            data_log_dir,
            apache_data_dir,
            config,
        } => {
            let (settings, _, _) = target(config.as_deref())?;
            let log_dir = data_log_dir.unwrap_or_else(|| data_dir.clone());
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(apache_data::export(
                &data_dir,
                &log_dir,
                settings,
                &apache_data_dir,
            ))?;
            if report.uncommitted > 0 {
                println!(
                    "left out {} log entries not known to be committed",
                    report.uncommitted
                );
            }
            println!(
                "exported zxid 0x{:x}: {} znodes to {}",
                report.zxid,
                report.znodes,
                report.snapshot.display()
            );
        }
        Tool::Backup {
            from,
            out,
            keep,
            auth,
            timeout_seconds,
            report_file,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            let mut outcome = Err(anyhow::anyhow!("no member to back up"));
            for source in from {
                let plan = BackupPlan {
                    from: source,
                    authorization: auth.clone(),
                    out: out.clone(),
                    keep,
                    timeout: std::time::Duration::from_secs(timeout_seconds),
                };
                outcome = runtime.block_on(backup::backup(&plan)).map_err(Into::into);
                match &outcome {
                    Ok(_) => break,
                    Err(e) => error!("{e:#}"),
                }
            }
            let report = outcome?;
            let json = serde_json::json!({
                "dir": report.dir,
                "snapshot": report.snapshot,
                "zxid": format!("0x{:x}", report.zxid),
                "bytes": report.bytes,
                "znodes": report.znodes,
                "pruned": report.pruned,
            })
            .to_string();
            println!("{json}");
            if let Some(path) = report_file {
                std::fs::write(&path, &json)
                    .with_context(|| format!("cannot write the report to {}", path.display()))?;
            }
        }
    }
    Ok(())
}

async fn run(config: config::ServerConfig) -> ExitCode {
    let server = match Server::start(config).await {
        Ok(server) => server,
        Err(e) => {
            error!("Unable to start the server: {e}");
            return ExitCode::from(1);
        }
    };
    wait_for_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGINT or SIGTERM.
async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
