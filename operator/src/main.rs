//! `zk-operator`: reconciles `ZkEnsemble` objects, serving `/metrics`, `/healthz` and `/readyz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use kube::api::ListParams;
use kube::{Api, Client};
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

use zk_operator::controller::{self, Context, Settings};
use zk_operator::http::{self, Health};
use zk_operator::images::DefaultImages;
use zk_operator::leader_election::LeaseLock;
use zk_operator::metrics::Metrics;
use zk_operator::types::ZkEnsemble;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Kubernetes operator for elastic ZooKeeper ensembles.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Namespaces to watch, comma-separated; all namespaces when empty.
    #[arg(
        long,
        env = "WATCH_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    namespaces: Vec<String>,
    /// Log filter, e.g. `info` or `zk_operator=debug,kube=info`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Address of the metrics and health endpoints.
    #[arg(long, env = "LISTEN_ADDRESS", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// DNS suffix of the cluster.
    #[arg(long, env = "CLUSTER_DOMAIN", default_value = "cluster.local")]
    cluster_domain: String,
    /// Bound, in seconds, on every call to a ZooKeeper member.
    #[arg(long, env = "ZK_TIMEOUT_SECONDS", default_value_t = 5)]
    zk_timeout_seconds: u64,
    /// Time, in seconds, a (re)started member has to be Ready and in sync with the leader; past it the
    /// member blocks every change (a rolling restart stops there) with a Degraded condition.
    #[arg(long, env = "MEMBER_START_TIMEOUT_SECONDS", default_value_t = 180)]
    member_start_timeout_seconds: u64,
    /// Image of Native members whose spec names none; this project's server at the operator's version when
    /// unset.
    #[arg(long, env = "NATIVE_IMAGE")]
    native_image: Option<String>,
    /// Image of Apache members whose spec names none; `zookeeper:3.8` when unset.
    #[arg(long, env = "APACHE_IMAGE")]
    apache_image: Option<String>,
    /// Compete for a Lease before reconciling, so several replicas are safe.
    #[arg(long, env = "LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Namespace of the leader Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// Name of the leader Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "zk-operator-leader")]
    lease_name: String,
    /// Identity in the Lease and in Events (the pod name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
}

fn init_logging(args: &Args) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_level).context("parsing the log level")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// Fails with install instructions when the ZkEnsemble CRD is not served. Lists in the first watched namespace
/// when there is one, so namespaced RBAC suffices.
async fn check_crd(client: &Client, namespaces: &[String]) -> anyhow::Result<()> {
    let api = match namespaces.first() {
        Some(namespace) => Api::<ZkEnsemble>::namespaced(client.clone(), namespace),
        None => Api::<ZkEnsemble>::all(client.clone()),
    };
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => bail!(
            "the ZkEnsemble CRD is not installed: run `kubectl apply -f crds/zkensemble.yaml` \
             (or install the Helm chart charts/zk-operator, which ships it)"
        ),
        Err(error) => Err(error).context("checking the ZkEnsemble CRD"),
    }
}

/// The default member images, each from its flag when given and not empty.
fn default_images(args: &Args) -> DefaultImages {
    let given = |flag: &Option<String>| flag.clone().filter(|image| !image.trim().is_empty());
    let builtin = DefaultImages::default();
    DefaultImages {
        native: given(&args.native_image).unwrap_or(builtin.native),
        apache: given(&args.apache_image).unwrap_or(builtin.apache),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    args.namespaces.retain(|ns| !ns.trim().is_empty());
    init_logging(&args)?;
    let client = Client::try_default()
        .await
        .context("connecting to Kubernetes")?;
    check_crd(&client, &args.namespaces).await?;

    let metrics = Arc::new(Metrics::default());
    let health = Health::new(metrics.clone());
    let server = tokio::spawn(http::serve(args.listen, health.clone()));
    health.set_ready();

    let identity = args
        .identity
        .clone()
        .unwrap_or_else(|| format!("zk-operator-{}", std::process::id()));
    let settings = Settings {
        cluster_domain: args.cluster_domain.clone(),
        zk_timeout: Duration::from_secs(args.zk_timeout_seconds),
        member_start_timeout: Duration::from_secs(args.member_start_timeout_seconds),
        images: default_images(&args),
    };
    info!(native = %settings.images.native, apache = %settings.images.apache, "default member images");
    let ctx = Arc::new(Context::new(
        client.clone(),
        metrics.clone(),
        settings,
        Some(identity.clone()),
    ));

    if !args.leader_elect {
        metrics.set_leader(true);
        controller::run(ctx, args.namespaces).await;
        return Ok(());
    }
    let lock = LeaseLock::new(
        client,
        &args.lease_namespace,
        &args.lease_name,
        &identity,
        Duration::from_secs(15),
    );
    lock.acquire().await;
    metrics.set_leader(true);
    tokio::select! {
        () = controller::run(ctx, args.namespaces) => info!("controller stopped"),
        () = lock.keep() => {
            metrics.set_leader(false);
            error!("lost the leader lease; exiting so another replica takes over");
            server.abort();
            std::process::exit(1);
        }
    }
    Ok(())
}
