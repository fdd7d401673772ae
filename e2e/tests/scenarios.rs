//! End-to-end scenarios on a real cluster with the Apache ZooKeeper image: the operator installed by its
//! Helm chart grows and shrinks ensembles by reconfig without restarting a member.
//!
//! Run with `scripts/e2e.sh` (or `cargo test -p zk-e2e -- --test-threads=1` against a cluster with the images
//! loaded and `KUBECONFIG` set). Test names carry their run order: libtest runs them sorted by name.

use std::time::{Duration, Instant};

use kube::Client;
use zk_e2e::command::kubectl;
use zk_e2e::ensemble::Ensemble;
use zk_e2e::load::{self, ClientLoad};
use zk_e2e::pods::{assert_untouched, kept};
use zk_e2e::zookeeper::read_config;
use zk_e2e::{Error, Result, operator};

/// Time for a fresh ensemble to become Ready.
const CREATE_TIMEOUT: Duration = Duration::from_secs(300);
/// Time for one scaling target (possibly several one-member steps) to be reached.
const SCALE_TIMEOUT: Duration = Duration::from_secs(300);

async fn setup() -> Result<Client> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "zk_e2e=info,scenarios=info".into()),
        )
        .with_test_writer()
        .with_ansi(false)
        .try_init();
    operator::ensure_installed().await?;
    Client::try_default()
        .await
        .map_err(zk_e2e::error::kube_err("client from KUBECONFIG"))
}

/// Fails with the ensemble's diagnostics when `check` is false.
async fn ensure(ensemble: &Ensemble, check: bool, message: String) -> Result<()> {
    if check {
        Ok(())
    } else {
        Err(Error::Unexpected(format!(
            "{message}\n{}",
            ensemble.report().await
        )))
    }
}

/// Scales to `replicas`, waits until settled and returns how long it took.
async fn scale_to(ensemble: &Ensemble, replicas: i32) -> Result<Duration> {
    let start = Instant::now();
    ensemble.scale(replicas).await?;
    ensemble.wait_settled(replicas, SCALE_TIMEOUT).await?;
    let took = start.elapsed();
    println!("scale of {} to {replicas}: {took:.1?}", ensemble.name());
    Ok(took)
}

/// a. Helm install; a 3-member ensemble becomes Ready with 3 voters; status shows the leader and the config
/// version; `kubectl get zkensembles` prints the columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_a_install_and_create_three_members() -> Result<()> {
    let client = setup().await?;
    let start = Instant::now();
    let ensemble = Ensemble::create(&client, "e2e-a", 3, "Delete").await?;
    let status = ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    println!("3-member ensemble Ready in {:.1?}", start.elapsed());

    let config = read_config(&ensemble.client_address().await?).await?;
    ensure(
        &ensemble,
        config.voters == [1, 2, 3] && config.observers.is_empty(),
        format!("expected voters 1, 2, 3 in /zookeeper/config, got {config:?}"),
    )
    .await?;
    let leader = status.leader.clone().unwrap_or_default();
    ensure(
        &ensemble,
        (1..=3).any(|id| ensemble.pod(id) == leader),
        format!("status.leader {leader:?} is not a member pod"),
    )
    .await?;
    ensure(
        &ensemble,
        status.config_version.as_deref() == Some(config.version.as_str()),
        format!(
            "status.configVersion {:?}, /zookeeper/config version {}",
            status.config_version, config.version
        ),
    )
    .await?;
    let leaders = status.members.iter().filter(|m| m.role == "leader").count();
    ensure(
        &ensemble,
        leaders == 1 && status.members.iter().all(|m| m.synced && m.voting),
        format!("members in status: {:?}", status.members),
    )
    .await?;

    let table = kubectl(&["get", "zkensembles", "-n", &ensemble.namespace]).await?;
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    ensure(
        &ensemble,
        header == ["NAME", "REPLICAS", "READY", "LEADER", "CONFIG", "AGE"],
        format!("kubectl get zkensembles header: {header:?}"),
    )
    .await?;
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    ensure(
        &ensemble,
        row.len() == 6
            && row[1] == "3"
            && row[2] == "3"
            && row[3] == leader
            && row[4] == config.version,
        format!("kubectl get zkensembles row: {row:?}"),
    )
    .await?;
    println!("{table}");
    ensemble.delete().await
}

/// b. Under continuous client load through the client Service, scale 3→5→3→1→3: each target is reached, no
/// other pod restarts or is recreated, no client operation fails beyond retried ConnectionLoss, and every
/// acknowledged write is readable at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_b_scale_under_client_load_restarts_nobody() -> Result<()> {
    let client = setup().await?;
    let ensemble = Ensemble::create(&client, "e2e-b", 3, "Delete").await?;
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    let address = ensemble.client_address().await?;
    let load = ClientLoad::start(&address, "/e2e-load").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut current = 3;
    for target in [5, 3, 1, 3] {
        let before = ensemble.member_pods().await?;
        scale_to(&ensemble, target).await?;
        let after = ensemble.member_pods().await?;
        let kept = kept(&before, &after);
        if kept.len() != current.min(target) as usize {
            return Err(Error::Unexpected(format!(
                "scale {current}→{target}: only {kept:?} of {:?} kept\n{}",
                before.keys().collect::<Vec<_>>(),
                ensemble.report().await
            )));
        }
        if let Err(e) = assert_untouched(&before, &after, &kept) {
            return Err(Error::Unexpected(format!(
                "scale {current}→{target}: {e}\n{}",
                ensemble.report().await
            )));
        }
        let config = read_config(&address).await?;
        let expected = ensemble.voter_ids().await?;
        ensure(
            &ensemble,
            config.voters == expected && expected.len() == target as usize,
            format!(
                "after scaling to {target}: /zookeeper/config voters {:?}, status voters {expected:?}",
                config.voters
            ),
        )
        .await?;
        current = target;
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.stop().await?;
    println!(
        "client load: {} writes acknowledged, {} reads, {} ConnectionLoss retried, {} failures",
        report.acknowledged.len(),
        report.reads,
        report.connection_losses,
        report.failures.len()
    );
    ensure(
        &ensemble,
        report.failures.is_empty(),
        format!(
            "client-visible failures during scaling: {:?}",
            report.failures
        ),
    )
    .await?;
    ensure(
        &ensemble,
        report.acknowledged.len() > 100,
        format!(
            "the load made too little progress: {} writes",
            report.acknowledged.len()
        ),
    )
    .await?;
    load::verify(&address, "/e2e-load", &report).await?;
    ensemble.delete().await
}

/// d. A deleted member pod is recreated with its volume and rejoins without a reconfig.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_d_deleted_member_pod_rejoins_without_reconfig() -> Result<()> {
    let client = setup().await?;
    let ensemble = Ensemble::create(&client, "e2e-d", 3, "Delete").await?;
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    let address = ensemble.client_address().await?;
    let config_before = read_config(&address).await?;
    let pvc_before = kubectl(&[
        "get",
        "pvc",
        "-n",
        &ensemble.namespace,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}",
    ])
    .await?;
    let before = ensemble.member_pods().await?;

    let victim = ensemble.pod(2);
    kubectl(&[
        "delete",
        "pod",
        &victim,
        "-n",
        &ensemble.namespace,
        "--wait=true",
    ])
    .await?;
    let start = Instant::now();
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    println!("{victim} recreated and rejoined in {:.1?}", start.elapsed());

    let after = ensemble.member_pods().await?;
    ensure(
        &ensemble,
        before[&victim].uid != after[&victim].uid,
        format!("{victim} was not recreated"),
    )
    .await?;
    assert_untouched(&before, &after, &[ensemble.pod(1), ensemble.pod(3)])?;
    let pvc_after = kubectl(&[
        "get",
        "pvc",
        "-n",
        &ensemble.namespace,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}",
    ])
    .await?;
    ensure(
        &ensemble,
        pvc_before == pvc_after,
        format!("volumes changed: {pvc_before} -> {pvc_after}"),
    )
    .await?;
    let config_after = read_config(&address).await?;
    ensure(
        &ensemble,
        config_after == config_before,
        format!("config changed: {config_before:?} -> {config_after:?}"),
    )
    .await?;
    ensemble.delete().await
}
