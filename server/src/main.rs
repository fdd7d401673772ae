//! `zk-server <path/to/zoo.cfg>`: runs the server in the foreground, as `zkServer.sh start-foreground`.
//! Logs go to stderr (see [`zk_server::logging`]: `RUST_LOG`, or Apache's root logger level; text or
//! JSON). Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 2 for an invalid configuration, 1
//! when the server cannot start or fails.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing::error;
use zk_server::config;
use zk_server::logging::{self, LogFormat};
use zk_server::server::Server;

/// A ZooKeeper-compatible server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The zoo.cfg file.
    config: PathBuf,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format);
    let config = match config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            error!("Invalid config, exiting abnormally: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(config))
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
