//! End-to-end scenarios on a real cluster: the operator installed by its Helm chart grows and shrinks
//! ensembles by reconfig without restarting a member. Every scenario but i, k, m and v runs with both
//! flavours: Apache ZooKeeper members and this project's zk-server members (`flavour: Native`, the default);
//! i (backup and restore under write load), k (faults inside Kubernetes under a load whose history is checked
//! for linearizability) and v (a member's volume filling up, under k's load) run with Native members; m
//! (migration) moves an Apache ensemble's data to Native members and back, in namespace `e2e-m`. Scenarios a
//! and b run one flavour a test, under client load; d, f, c, e, h, g, j and t run the two flavours side by
//! side, each in a namespace of its own (`e2e-<scenario>` and `e2e-<scenario>-native`), so that their waits
//! overlap.
//!
//! Run with `scripts/e2e.sh` (or `cargo test -p zk-e2e -- --test-threads=1` against a cluster with the images
//! loaded and `KUBECONFIG` set). Test names carry their run order: libtest runs them sorted by name.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::api::ListParams;
use kube::{Client, ResourceExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zk_e2e::command::kubectl;
use zk_e2e::ensemble::{
    Ensemble, VOLUME_SIZE, condition_true, delete_all, fresh_namespace, missing_image,
    retagged_image,
};
use zk_e2e::freeze::signal_member;
use zk_e2e::history::HistoryLoad;
use zk_e2e::load::{self, ClientLoad, LoadReport};
use zk_e2e::partition::{heal_member, isolate_member};
use zk_e2e::pods::{Snapshot, assert_untouched, kept};
use zk_e2e::roll::RollWatch;
use zk_e2e::service::UserService;
use zk_e2e::step_phases::StepWatch;
use zk_e2e::tls::{UserAuthority, first_certificate, served_certificate};
use zk_e2e::volume::SmallVolume;
use zk_e2e::wait::{self, Poll};
use zk_e2e::zookeeper::{connect, create_open, read_config, read_data};
use zk_e2e::{Error, Result, fixture, node, operator, tree};
use zk_operator::planner::Role;
use zk_operator::resources::meta::{
    ADMIN_PORT, CLIENT_PORT, CREDENTIALS_ANNOTATION, selector_string,
};
use zk_operator::resources::tls::{CERT_KEY, NOT_AFTER_ANNOTATION, member_secret_name};
use zk_operator::types::{ConditionStatus, ConditionType, ServerFlavour, ZkEnsembleStatus};
use zk_operator::zk::{Endpoint, TRANSFER_TIMEOUT, Transport, mntr, refuses_writes};

/// Time for a fresh ensemble to become Ready.
const CREATE_TIMEOUT: Duration = Duration::from_secs(300);
/// Time for one scaling target (possibly several one-member steps) to be reached.
const SCALE_TIMEOUT: Duration = Duration::from_secs(300);
/// Writes the client load must have acknowledged before the first scaling step, and again after the last one.
const LOAD_PROGRESS: usize = 25;
/// How long an ensemble with a stopped majority must keep reporting Degraded once the stopped members' pods are
/// NotReady: two reconciles, each of which waits out the `mntr` timeout (5 s) of the stopped members.
const DEGRADED_HOLD: Duration = Duration::from_secs(12);
/// Time for the stopped members' pods to turn NotReady (readiness probe: 3 failures, 5 s apart).
const NOT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long before a member's pod goes scenario h starts looking at write pauses for it: the operator hands a
/// zk-server leader's leadership over a reconcile (a requeue of 2 s) before it deletes the pod.
const HAND_OVER_LEAD_IN: Duration = Duration::from_secs(4);

/// The two flavours, in the order their results are reported.
const FLAVOURS: [ServerFlavour; 2] = [ServerFlavour::Apache, ServerFlavour::Native];

/// Namespace (and ensemble name) of `scenario` with members of `flavour`.
fn namespace(scenario: &str, flavour: ServerFlavour) -> String {
    match flavour {
        ServerFlavour::Apache => format!("e2e-{scenario}"),
        ServerFlavour::Native => format!("e2e-{scenario}-native"),
    }
}

/// Runs `scenario` for both flavours side by side: for each, a new settled 3-member ensemble with the `reclaim`
/// policy in its own namespace is handed to `body`. Then deletes the namespaces of the runs that passed and
/// fails with every flavour's failure ([`each_flavour`]).
async fn both_flavours<F, Fut>(scenario: &str, reclaim: &str, body: F) -> Result<()>
where
    F: Fn(Ensemble) -> Fut,
    Fut: Future<Output = Result<Ensemble>>,
{
    let client = setup().await?;
    each_flavour(scenario, |flavour| {
        let (client, body) = (&client, &body);
        let namespace = namespace(scenario, flavour);
        async move { body(settled(client, &namespace, 3, reclaim, flavour).await?).await }
    })
    .await
}

/// Runs `run` for both flavours side by side and prints the time of each. Then deletes the namespaces of the
/// runs that passed (the ensembles `run` returns) and fails with every flavour's failure.
async fn each_flavour<F, Fut>(scenario: &str, run: F) -> Result<()>
where
    F: Fn(ServerFlavour) -> Fut,
    Fut: Future<Output = Result<Ensemble>>,
{
    let runs = FLAVOURS.map(|flavour| {
        let run = &run;
        async move {
            let start = Instant::now();
            let result = run(flavour).await;
            println!(
                "scenario {scenario} with {flavour:?} members: {} in {:.1?}",
                if result.is_ok() { "passed" } else { "failed" },
                start.elapsed()
            );
            (flavour, result)
        }
    });
    let mut passed = Vec::new();
    let mut failures = Vec::new();
    for (flavour, result) in futures::future::join_all(runs).await {
        match result {
            Ok(ensemble) => passed.push(ensemble),
            Err(error) => failures.push(format!("{flavour:?} members: {error}")),
        }
    }
    delete_all(passed, false).await?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Unexpected(failures.join("\n\n")))
    }
}

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

/// Creates the ensemble `namespace` with `replicas` members of `flavour` and waits until it is Ready.
async fn settled(
    client: &Client,
    namespace: &str,
    replicas: i32,
    reclaim: &str,
    flavour: ServerFlavour,
) -> Result<Ensemble> {
    settled_with(
        client,
        namespace,
        replicas,
        reclaim,
        flavour,
        &serde_json::json!({}),
    )
    .await
}

/// [`settled`], with the entries of `extra` (a JSON object) set in the spec.
async fn settled_with(
    client: &Client,
    namespace: &str,
    replicas: i32,
    reclaim: &str,
    flavour: ServerFlavour,
    extra: &serde_json::Value,
) -> Result<Ensemble> {
    let start = Instant::now();
    let ensemble = Ensemble::create(client, namespace, replicas, reclaim, flavour, extra).await?;
    ensemble.wait_settled(replicas, CREATE_TIMEOUT).await?;
    println!(
        "{namespace}: {replicas}-member {flavour:?} ensemble Ready in {:.1?}",
        start.elapsed()
    );
    Ok(ensemble)
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

/// Scales to `replicas`, waits until settled and returns how long it took; prints when each member that
/// joined or left went through each phase of its step.
async fn scale_to(ensemble: &Ensemble, replicas: i32) -> Result<Duration> {
    let watch = StepWatch::start(
        ensemble.api.clone(),
        ensemble.pods.clone(),
        ensemble.name().to_string(),
    )
    .await?;
    let start = Instant::now();
    ensemble.scale(replicas).await?;
    ensemble.wait_settled(replicas, SCALE_TIMEOUT).await?;
    let took = start.elapsed();
    let phases = watch.stop().await?;
    println!(
        "scale of {} to {replicas}: {took:.1?}\n{phases}",
        ensemble.name()
    );
    Ok(took)
}

/// a and b with Apache ZooKeeper members. a: helm install; a 3-member ensemble becomes Ready with 3 voters;
/// status shows the leader and the config version; `kubectl get zkensembles` prints the columns. b: under
/// continuous client load through the client Service, the same ensemble is scaled 3→5→3→1→3: each target is
/// reached, no other pod restarts or is recreated, no client operation fails beyond retried ConnectionLoss,
/// and every acknowledged write is readable at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_ab_install_create_and_scale_under_client_load_restarts_nobody() -> Result<()> {
    create_and_scale_under_client_load("e2e-ab", ServerFlavour::Apache).await
}

/// a then b with members of `flavour`, in namespace `namespace`: a fresh 3-member ensemble with metrics
/// enabled passes the checks of a new ensemble, each member serves its metrics, then it is scaled under
/// client load.
async fn create_and_scale_under_client_load(namespace: &str, flavour: ServerFlavour) -> Result<()> {
    let client = setup().await?;
    let metrics = serde_json::json!({"metrics": {"enabled": true}});
    let ensemble = settled_with(&client, namespace, 3, "Delete", flavour, &metrics).await?;
    check_three_members(&ensemble).await?;
    members_serve_metrics(&ensemble).await?;
    scale_under_client_load(&ensemble).await?;
    ensemble.delete(false).await
}

/// The checks of a freshly settled 3-member ensemble: `/zookeeper/config` lists voters 1, 2, 3 and no
/// observer; `status.leader` is a member pod and the one member with role `leader`, every member synced and
/// voting; `status.configVersion` is the config's version; `status.connectionString` is the client Service's
/// host and port; `kubectl get zkensembles` prints the columns with
/// those values.
async fn check_three_members(ensemble: &Ensemble) -> Result<()> {
    let status = ensemble.status().await?;

    let config = read_config(&ensemble.client_address().await?).await?;
    ensure(
        ensemble,
        config.voters == [1, 2, 3] && config.observers.is_empty(),
        format!("expected voters 1, 2, 3 in /zookeeper/config, got {config:?}"),
    )
    .await?;
    let leader = status.leader.clone().unwrap_or_default();
    ensure(
        ensemble,
        (1..=3).any(|id| ensemble.pod(id) == leader),
        format!("status.leader {leader:?} is not a member pod"),
    )
    .await?;
    ensure(
        ensemble,
        status.config_version.as_deref() == Some(config.version.as_str()),
        format!(
            "status.configVersion {:?}, /zookeeper/config version {}",
            status.config_version, config.version
        ),
    )
    .await?;
    let connection = format!(
        "{}-client.{}.svc.cluster.local:2181",
        ensemble.name(),
        ensemble.namespace
    );
    ensure(
        ensemble,
        status.connection_string.as_deref() == Some(connection.as_str()),
        format!(
            "status.connectionString {:?}, expected {connection}",
            status.connection_string
        ),
    )
    .await?;
    let leaders = status.members.iter().filter(|m| m.role == "leader").count();
    ensure(
        ensemble,
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
        ensemble,
        header
            == [
                "NAME",
                "REPLICAS",
                "READY",
                "OBSERVERS",
                "LEADER",
                "CONFIG",
                "AGE",
            ],
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
        ensemble,
        row.len() == 7
            && row[1] == "3"
            && row[2] == "3"
            && row[3] == "0"
            && row[4] == leader
            && row[5] == config.version,
        format!("kubectl get zkensembles row: {row:?}"),
    )
    .await?;
    println!("{table}");
    Ok(())
}

/// Every member pod answers `GET /metrics` on the metrics port (7000, the default) with Prometheus text that
/// has the member's znode and watch counts, as Apache's provider names them.
async fn members_serve_metrics(ensemble: &Ensemble) -> Result<()> {
    let pods = ensemble.member_pods().await?;
    for (name, pod) in &pods {
        let ip = pod.ip.clone().unwrap_or_default();
        let url = format!("http://{ip}:7000/metrics");
        let body = zk_e2e::command::run("curl", &["-fsS", "--max-time", "10", &url]).await?;
        let metric = |name: &str| {
            body.lines()
                .any(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        };
        ensure(
            ensemble,
            metric("znode_count") && metric("watch_count"),
            format!(
                "{name}: {url} has no znode_count or watch_count; it answered:\n{}",
                body.lines().take(20).collect::<Vec<_>>().join("\n")
            ),
        )
        .await?;
    }
    println!("{}: {} members serve /metrics", ensemble.name(), pods.len());
    Ok(())
}

/// Scales the settled 3-member `ensemble` 3→5→3→1→3 under continuous client load through its client
/// Service: each target settles, the pods present before and after a step are the same pods, never
/// restarted, `/zookeeper/config` lists exactly the status' voters, the client saw no failure beyond
/// retried `ConnectionLoss`, and every acknowledged write is read back at the end.
async fn scale_under_client_load(ensemble: &Ensemble) -> Result<()> {
    let address = ensemble.client_address().await?;
    let load = ClientLoad::start(&address, "/e2e-load").await?;
    load.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;

    let mut current = 3;
    for target in [5, 3, 1, 3] {
        let before = ensemble.member_pods().await?;
        scale_to(ensemble, target).await?;
        let after = ensemble.member_pods().await?;
        let step = format!("scale {current}→{target}");
        kept_untouched(ensemble, &step, &before, &after, current.min(target)).await?;
        let config = read_config(&address).await?;
        let expected = ensemble.voter_ids().await?;
        ensure(
            ensemble,
            config.voters == expected && expected.len() == target as usize,
            format!(
                "after scaling to {target}: /zookeeper/config voters {:?}, status voters {expected:?}",
                config.voters
            ),
        )
        .await?;
        current = target;
    }

    let report = stop_load(load).await?;
    load_held(ensemble, &address, &report, "scaling").await
}

/// After `step`: `expected` pods of `before` are still there in `after`, the same pods, never restarted.
async fn kept_untouched(
    ensemble: &Ensemble,
    step: &str,
    before: &Snapshot,
    after: &Snapshot,
    expected: i32,
) -> Result<()> {
    let kept = kept(before, after);
    if kept.len() != expected as usize {
        return Err(Error::Unexpected(format!(
            "{step}: only {kept:?} of {:?} kept\n{}",
            before.keys().collect::<Vec<_>>(),
            ensemble.report().await
        )));
    }
    if let Err(e) = assert_untouched(before, after, &kept) {
        return Err(Error::Unexpected(format!(
            "{step}: {e}\n{}",
            ensemble.report().await
        )));
    }
    Ok(())
}

/// Stops `load` once it has made progress again, and prints what it saw.
async fn stop_load(load: ClientLoad) -> Result<LoadReport> {
    load.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;
    let report = load.stop().await?;
    println!(
        "client load: {} writes acknowledged, {} reads, {} ConnectionLoss retried, {} failures",
        report.acknowledged.len(),
        report.reads,
        report.connection_losses,
        report.failures.len()
    );
    Ok(report)
}

/// The client load under `ensemble` (through `address`) held during `what`: no client-visible failure, more
/// than 100 writes acknowledged, and every acknowledged write read back through a new session.
async fn load_held(
    ensemble: &Ensemble,
    address: &str,
    report: &LoadReport,
    what: &str,
) -> Result<()> {
    ensure(
        ensemble,
        report.failures.is_empty(),
        format!(
            "client-visible failures during {what}: {:?}",
            report.failures
        ),
    )
    .await?;
    ensure(
        ensemble,
        report.acknowledged.len() > 100,
        format!(
            "the load made too little progress: {} writes",
            report.acknowledged.len()
        ),
    )
    .await?;
    load::verify(address, "/e2e-load", report).await
}

/// d. A deleted member pod is recreated with its volume and rejoins without a reconfig. Then the super
/// credential is rotated and a scale to 4 asked for at once: the members restart with the new credential, one
/// at a time, before the operator's reconfig adds member 4. For each flavour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_d_deleted_pod_rejoins_and_rotated_credentials_roll_members() -> Result<()> {
    both_flavours("d", "Delete", |ensemble| async {
        let ensemble = deleted_member_pod_rejoins(ensemble).await?;
        rotated_credentials_roll_members(ensemble).await
    })
    .await
}

/// Rotates the super credential of the settled 3-member `ensemble` and scales it to 4 at once: the scale
/// settles, every member pod records the new credential, each of the three original members was restarted
/// exactly once (a new pod, never a container restart), and the committed config lists the four voters, which
/// took a reconfig authenticated with the new credential.
async fn rotated_credentials_roll_members(ensemble: Ensemble) -> Result<Ensemble> {
    let before = ensemble.member_pods().await?;
    let fingerprint = ensemble
        .rotate_credentials(&format!("rotated-{}", ensemble.name()))
        .await?;
    let took = scale_to(&ensemble, 4).await?;
    println!(
        "{}: credential rotated and scaled to 4 in {took:.1?}",
        ensemble.name()
    );
    let after = ensemble.member_pods().await?;
    let restarted_once = before.iter().all(|(name, pod)| {
        after
            .get(name)
            .is_some_and(|p| p.uid != pod.uid && p.restarts == 0)
    });
    ensure(
        &ensemble,
        restarted_once,
        format!(
            "members not restarted exactly once for the new credential: {before:?} -> {after:?}"
        ),
    )
    .await?;
    let pods = ensemble
        .pods
        .list(&ListParams::default().labels(&selector_string(&ensemble.get().await?)))
        .await
        .map_err(zk_e2e::error::kube_err("list pods"))?;
    let stale: Vec<String> = pods
        .items
        .iter()
        .filter(|p| p.annotations().get(CREDENTIALS_ANNOTATION) != Some(&fingerprint))
        .map(|p| p.name_any())
        .collect();
    ensure(
        &ensemble,
        stale.is_empty(),
        format!("pods without the new credential: {stale:?}"),
    )
    .await?;
    let config = read_config(&ensemble.client_address().await?).await?;
    ensure(
        &ensemble,
        config.voters == [1, 2, 3, 4],
        format!(
            "after the rotation and the scale: voters {:?}",
            config.voters
        ),
    )
    .await?;
    Ok(ensemble)
}

async fn deleted_member_pod_rejoins(ensemble: Ensemble) -> Result<Ensemble> {
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
    Ok(ensemble)
}

/// PVC names and UIDs of the ensemble's namespace.
async fn volumes(ensemble: &Ensemble) -> Result<Vec<String>> {
    let out = kubectl(&[
        "get",
        "pvc",
        "-n",
        &ensemble.namespace,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}{\"\\n\"}{end}",
    ])
    .await?;
    Ok(out.lines().map(str::to_string).collect())
}

/// f. With a majority of members stopped, a scale-up is refused with a Degraded condition and a Warning
/// Event and nothing is created or deleted; once the members continue, the scale completes. For each flavour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_f_unhealthy_ensemble_is_not_scaled() -> Result<()> {
    both_flavours("f", "Delete", unhealthy_ensemble_is_not_scaled).await
}

async fn unhealthy_ensemble_is_not_scaled(ensemble: Ensemble) -> Result<Ensemble> {
    let namespace = ensemble.namespace.clone();
    let before = ensemble.member_pods().await?;
    let warnings_before = ensemble.warning_events().await?.len();
    let stopped = [ensemble.pod(2), ensemble.pod(3)];
    for pod in &stopped {
        signal_member(&ensemble.client, &ensemble.namespace, pod, "STOP").await?;
    }
    // Members are continued whatever the checks find, so that a failure leaves a healthy ensemble behind.
    let refused = async {
        ensemble.scale(5).await?;
        let degraded = wait::until(
            "Degraded condition and a Warning Event while a majority is stopped",
            Duration::from_secs(40),
            || async {
                let status = ensemble.status().await?;
                let warnings = ensemble.warning_events().await?;
                Ok(
                    if condition_true(&status, ConditionType::Degraded)
                        && warnings.len() > warnings_before
                    {
                        Poll::Done(warnings[warnings_before..].to_vec())
                    } else {
                        Poll::Pending(format!(
                            "conditions {:?}, warnings {warnings:?}",
                            status.conditions
                        ))
                    },
                )
            },
            || ensemble.report(),
        )
        .await?;
        println!("{namespace}: refused while degraded: {degraded:?}");
        // Once the stopped members' pods are NotReady, a stopped member must stay "down", never become
        // "starting" again: Degraded holds through the reconciles that follow.
        let stopped_names = stopped.clone();
        wait::until(
            "the stopped members' pods to turn NotReady",
            NOT_READY_TIMEOUT,
            || async {
                let pods = ensemble.member_pods().await?;
                let ready: Vec<&String> =
                    stopped_names.iter().filter(|n| pods.get(*n).is_some_and(|p| p.ready)).collect();
                Ok(if ready.is_empty() {
                    Poll::Done(())
                } else {
                    Poll::Pending(format!("still Ready: {ready:?}"))
                })
            },
            || ensemble.report(),
        )
        .await?;
        let hold = Instant::now();
        while hold.elapsed() < DEGRADED_HOLD {
            let status = ensemble.status().await?;
            ensure(
                &ensemble,
                condition_true(&status, ConditionType::Degraded),
                format!(
                    "Degraded went back to False {:.1?} into the hold while a majority is stopped: {:?}",
                    hold.elapsed(),
                    status.conditions
                ),
            )
            .await?;
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let during = ensemble.member_pods().await?;
        let unchanged =
            during.keys().eq(before.keys()) && during.iter().all(|(n, p)| p.uid == before[n].uid);
        ensure(
            &ensemble,
            unchanged,
            format!("pods changed while degraded: {before:?} -> {during:?}"),
        )
        .await
    }
    .await;
    for pod in &stopped {
        signal_member(&ensemble.client, &ensemble.namespace, pod, "CONT").await?;
    }
    refused?;
    let took = scale_settled(&ensemble, 5).await?;
    println!("{namespace}: recovered and scaled to 5 in {took:.1?} after the members continued");
    let after = ensemble.member_pods().await?;
    let same = before
        .iter()
        .all(|(n, p)| after.get(n).is_some_and(|a| a.uid == p.uid));
    ensure(
        &ensemble,
        same,
        format!("a stopped member was recreated: {before:?} -> {after:?}"),
    )
    .await?;
    Ok(ensemble)
}

/// Waits for an already requested scale to `replicas` to settle; returns how long it took.
async fn scale_settled(ensemble: &Ensemble, replicas: i32) -> Result<Duration> {
    let start = Instant::now();
    ensemble.wait_settled(replicas, SCALE_TIMEOUT).await?;
    Ok(start.elapsed())
}

/// A pod to force-delete: its namespace and name.
type Victim = (String, String);

/// The operator's pods, as victims.
async fn operator_victims() -> Result<Vec<Victim>> {
    Ok(operator::pods()
        .await?
        .into_iter()
        .map(|pod| (operator::NAMESPACE.to_string(), pod))
        .collect())
}

/// The pod `status.leader` names, as a victim (none while the status names no leader).
fn leader_victim(ensemble: &Ensemble, status: &ZkEnsembleStatus) -> Vec<Victim> {
    status
        .leader
        .iter()
        .map(|leader| (ensemble.namespace.clone(), leader.clone()))
        .collect()
}

/// Whether the step `status` shows is one of a scale: about the member it adds or removes, not the
/// recovery of a voter (`RecreatePod`, waiting for a voter to start) or a refusal (`Blocked`).
fn scale_step(status: &ZkEnsembleStatus) -> bool {
    let Some(step) = &status.step else {
        return false;
    };
    let voter = |id: u32| status.members.iter().any(|m| m.voting && m.id == id);
    match step.action.as_str() {
        "RecreatePod" | "Blocked" => false,
        "Wait" => !step.member.is_some_and(voter),
        _ => true,
    }
}

/// The leader's pod, as a victim, when `status` shows a step of the scale and every voter's pod is Ready
/// (so that no two voters are ever down at once; a joiner's pod may still be starting); none otherwise.
async fn leader_in_scale_step(
    ensemble: &Ensemble,
    status: &ZkEnsembleStatus,
) -> Result<Vec<Victim>> {
    if !scale_step(status) {
        return Ok(Vec::new());
    }
    let pods = ensemble.member_pods().await?;
    let voters_ready = status
        .members
        .iter()
        .filter(|m| m.voting)
        .all(|m| pods.get(&m.pod).is_some_and(|p| p.ready));
    Ok(if voters_ready {
        leader_victim(ensemble, status)
    } else {
        Vec::new()
    })
}

/// Force-deletes (grace period 0) every pod of `victims` at the same moment.
async fn force_delete(victims: &[Victim]) -> Result<()> {
    let deletions = victims.iter().map(|(namespace, pod)| async move {
        kubectl(&[
            "delete",
            "pod",
            "-n",
            namespace,
            pod,
            "--grace-period=0",
            "--force",
            "--ignore-not-found",
        ])
        .await
    });
    for deleted in futures::future::join_all(deletions).await {
        deleted?;
    }
    Ok(())
}

/// A step of a scale (`status.step`'s action and member), the pods force-deleted in it, and how long after
/// the scale was asked for it was first seen.
#[derive(Debug)]
struct StepKill {
    step: (String, Option<u32>),
    killed: Vec<String>,
    seen_after: Duration,
}

/// Scales to `target` and force-deletes the pods `victims` names, from the status, once during every step
/// the status shows (a step whose victims are none yet is tried again at the next poll); returns the steps
/// and what was killed in each.
async fn scale_killing<F, Fut>(
    ensemble: &Ensemble,
    target: i32,
    victims: F,
) -> Result<Vec<StepKill>>
where
    F: Fn(ZkEnsembleStatus) -> Fut,
    Fut: Future<Output = Result<Vec<Victim>>>,
{
    ensemble.scale(target).await?;
    let generation = ensemble.get().await?.metadata.generation;
    let start = Instant::now();
    let mut steps: Vec<StepKill> = Vec::new();
    loop {
        let status = ensemble.status().await?;
        match &status.step {
            Some(step) => {
                let key = (step.action.clone(), step.member);
                if !steps.iter().any(|s| s.step == key) {
                    let message = step.message.clone();
                    let pods = victims(status.clone()).await?;
                    if !pods.is_empty() {
                        force_delete(&pods).await?;
                        let killed: Vec<String> = pods.into_iter().map(|(_, pod)| pod).collect();
                        println!("killed {killed:?} during {key:?}: {message}");
                        steps.push(StepKill {
                            step: key,
                            killed,
                            seen_after: start.elapsed(),
                        });
                    }
                }
            }
            None if status.observed_generation == generation && status.replicas == target => break,
            None => {}
        }
        if start.elapsed() > SCALE_TIMEOUT {
            return Err(Error::Unexpected(format!(
                "scale to {target} with pods killed in {steps:?} did not finish in {SCALE_TIMEOUT:?}\n{}",
                ensemble.report().await
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ensemble.wait_settled(target, SCALE_TIMEOUT).await?;
    Ok(steps)
}

/// c. The operator pod is killed during each step of a scale-up and of a scale-down: the scale completes,
/// with the committed config listing exactly the members and no other member restarted. For each flavour; the
/// two ensembles share the operator, so each is also scaled through the kills the other's steps cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_c_operator_killed_mid_step_resumes() -> Result<()> {
    both_flavours("c", "Delete", operator_killed_mid_step_resumes).await
}

async fn operator_killed_mid_step_resumes(ensemble: Ensemble) -> Result<Ensemble> {
    let namespace = ensemble.namespace.clone();
    let address = ensemble.client_address().await?;
    for (from, target) in [(3, 5), (5, 3)] {
        let before = ensemble.member_pods().await?;
        let killed: Vec<_> = scale_killing(&ensemble, target, |_| operator_victims())
            .await?
            .into_iter()
            .map(|kill| kill.step)
            .collect();
        ensure(
            &ensemble,
            !killed.is_empty(),
            format!("scale {from}→{target}: no step seen to kill in"),
        )
        .await?;
        let after = ensemble.member_pods().await?;
        let kept = kept(&before, &after);
        ensure(
            &ensemble,
            kept.len() == from.min(target) as usize,
            format!("scale {from}→{target}: kept {kept:?}"),
        )
        .await?;
        assert_untouched(&before, &after, &kept)?;
        let config = read_config(&address).await?;
        let voters = ensemble.voter_ids().await?;
        ensure(
            &ensemble,
            config.voters == voters && voters.len() == target as usize,
            format!(
                "scale {from}→{target}: config voters {:?}, status voters {voters:?}",
                config.voters
            ),
        )
        .await?;
        println!(
            "{namespace}: scale {from}→{target} completed with the operator killed during {killed:?}"
        );
    }
    Ok(ensemble)
}

/// e. With the Retain policy, 3→1 keeps the removed members' volumes; 1→3 brings members back that join
/// cleanly (Ready, never restarted) next to those stale volumes. Then the `ZkEnsemble` is deleted and created
/// again from the same manifest: it comes back on its retained volumes, with its data. For each flavour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_e_retain_policy_members_rejoin_cleanly() -> Result<()> {
    both_flavours("e", "Retain", retain_policy_members_rejoin_cleanly).await
}

/// Fails unless every member pod of `ensemble` serves `path` with `data` (through its own address, after a
/// sync).
async fn every_member_serves(ensemble: &Ensemble, path: &str, data: &[u8]) -> Result<()> {
    for (pod, state) in ensemble.member_pods().await? {
        let address = format!("{}:2181", state.ip.as_deref().unwrap_or_default());
        let got = read_data(&address, path).await?;
        ensure(
            ensemble,
            got == data,
            format!("{pod} ({address}) serves {path} as {got:?}"),
        )
        .await?;
    }
    Ok(())
}

async fn retain_policy_members_rejoin_cleanly(ensemble: Ensemble) -> Result<Ensemble> {
    let namespace = ensemble.namespace.clone();
    let address = ensemble.client_address().await?;
    let writer = zk_e2e::zookeeper::connect(&address).await?;
    let marker = "/e2e-retain";
    create_open(&writer, &address, marker, b"kept").await?;
    drop(writer);
    let volumes_at_3 = volumes(&ensemble).await?;

    scale_to(&ensemble, 1).await?;
    let volumes_at_1 = volumes(&ensemble).await?;
    ensure(
        &ensemble,
        volumes_at_1 == volumes_at_3,
        format!("Retain: volumes changed on 3→1: {volumes_at_3:?} -> {volumes_at_1:?}"),
    )
    .await?;

    let before = ensemble.member_pods().await?;
    scale_to(&ensemble, 3).await?;
    let after = ensemble.member_pods().await?;
    assert_untouched(&before, &after, &kept(&before, &after))?;
    ensure(
        &ensemble,
        after.values().all(|p| p.restarts == 0 && p.ready),
        format!("re-added members not cleanly running: {after:?}"),
    )
    .await?;
    let volumes_at_3_again = volumes(&ensemble).await?;
    ensure(
        &ensemble,
        volumes_at_3.iter().all(|v| volumes_at_3_again.contains(v)),
        format!("retained volumes gone: {volumes_at_3:?} -> {volumes_at_3_again:?}"),
    )
    .await?;
    let config = read_config(&address).await?;
    let voters = ensemble.voter_ids().await?;
    ensure(
        &ensemble,
        config.voters == voters && voters.len() == 3,
        format!(
            "config voters {:?}, status voters {voters:?}",
            config.voters
        ),
    )
    .await?;
    every_member_serves(&ensemble, marker, b"kept").await?;
    println!(
        "{namespace}: volumes at 3 {volumes_at_3:?}, at 1 {volumes_at_1:?}, at 3 again {volumes_at_3_again:?}"
    );

    // Deleted and created again: the members come back on the volumes of the last voters, with the data.
    let start = Instant::now();
    ensemble.recreate().await?;
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    println!(
        "{namespace}: deleted and re-created over its retained volumes, settled in {:.1?}",
        start.elapsed()
    );
    // The client Service went with the deleted object and came back with the new one, at a new address (its
    // DNS name, the status' connection string, stays).
    let address = ensemble.client_address().await?;
    let config_again = read_config(&address).await?;
    ensure(
        &ensemble,
        config_again.voters == voters,
        format!(
            "re-created over retained volumes: voters {:?}, before {voters:?}",
            config_again.voters
        ),
    )
    .await?;
    ensure(
        &ensemble,
        volumes(&ensemble).await? == volumes_at_3_again,
        "the re-created ensemble did not keep to the retained volumes".into(),
    )
    .await?;
    every_member_serves(&ensemble, marker, b"kept").await?;
    Ok(ensemble)
}

/// a and b with zk-server members (`flavour: Native`). It runs before g, which uninstalls the operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_ab_native_create_and_scale_under_client_load_restarts_nobody() -> Result<()> {
    create_and_scale_under_client_load("e2e-native", ServerFlavour::Native).await
}

/// h. An image change rolls every member under the client load of a and b: the member image is set to the same
/// image under a second tag, and each member restarts once, followers first, the leader last (zk-server's leader
/// hands leadership over first; Apache's ensemble elects a new leader). No client operation fails, and the
/// longest pause between acknowledged writes during each member's restart is reported. For each flavour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_h_image_change_rolls_every_member_under_client_load() -> Result<()> {
    both_flavours("h", "Delete", |ensemble| async {
        let ensemble = image_change_rolls_every_member(ensemble).await?;
        a_member_that_does_not_start_stops_the_roll(ensemble).await
    })
    .await
}

/// o. Observers under client load: the settled 3-voter ensemble gets observers 0→1→2, its voters go 3→5→3
/// with the observers kept, then the observers go 2→1→0; a session writes and reads back through the client
/// Service all along, and from the first observer on, a second session reads through the observers' Service
/// (`<name>-observers`) until the last observer is about to go. Each target settles with every member pod
/// Ready, no pod present before and after a step is replaced or restarted, `/zookeeper/config` lists exactly
/// the status' voters and observers (role `observer`, ids from 101), each observer serves a synced read of
/// its own, and neither session saw a failure. For each flavour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_o_observers_scale_under_client_load_restarts_nobody() -> Result<()> {
    both_flavours("o", "Delete", |ensemble| async {
        observers_scale_under_client_load(&ensemble).await?;
        Ok(ensemble)
    })
    .await
}

/// The znode the read load reads through the observers.
const OBSERVED: &str = "/e2e-observed";

/// Scenario o on the settled 3-voter `ensemble`.
async fn observers_scale_under_client_load(ensemble: &Ensemble) -> Result<()> {
    let address = ensemble.client_address().await?;
    let writer = connect(&address).await?;
    create_open(&writer, &address, OBSERVED, b"read through an observer").await?;
    drop(writer);
    let load = ClientLoad::start(&address, "/e2e-load").await?;
    load.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;

    let mut reads: Option<(ClientLoad, String)> = None;
    let (mut voters, mut observers) = (3, 0);
    for (next_voters, next_observers) in [(3, 1), (3, 2), (5, 2), (3, 2), (3, 1), (3, 0)] {
        if next_observers == 0
            && let Some((read_load, observers_address)) = reads.take()
        {
            let report = stop_load(read_load).await?;
            observer_reads_held(ensemble, &report, &observers_address).await?;
        }
        let before = ensemble.member_pods().await?;
        let start = Instant::now();
        if next_voters == voters {
            ensemble.set_observers(next_observers).await?;
        } else {
            ensemble.scale(next_voters).await?;
        }
        let status = ensemble
            .wait_settled_with(next_voters, next_observers, SCALE_TIMEOUT)
            .await?;
        println!(
            "{}: {voters} voters + {observers} observers → {next_voters} + {next_observers} in {:.1?}",
            ensemble.name(),
            start.elapsed()
        );
        let step = format!("{voters}+{observers} → {next_voters}+{next_observers}");
        let after = ensemble.member_pods().await?;
        let expected_kept = voters.min(next_voters) + observers.min(next_observers);
        kept_untouched(ensemble, &step, &before, &after, expected_kept).await?;
        let config = read_config(&address).await?;
        let status_observers: Vec<u32> = status
            .members
            .iter()
            .filter(|m| !m.voting && m.role == "observer")
            .map(|m| m.id)
            .collect();
        let wanted_observers: Vec<u32> = (101..101 + next_observers as u32).collect();
        ensure(
            ensemble,
            config.voters == ensemble.voter_ids().await?
                && config.observers == status_observers
                && status_observers == wanted_observers,
            format!(
                "{step}: /zookeeper/config voters {:?} observers {:?}, status members {:?}",
                config.voters, config.observers, status.members
            ),
        )
        .await?;
        for id in &status_observers {
            let pod = &after[&ensemble.pod(*id)];
            let ip = pod.ip.as_deref().unwrap_or_default();
            let data = read_data(&format!("{ip}:2181"), OBSERVED).await?;
            ensure(
                ensemble,
                data == b"read through an observer",
                format!("observer {id} read {:?}", String::from_utf8_lossy(&data)),
            )
            .await?;
        }
        if reads.is_none() && next_observers > 0 {
            let observers_address = ensemble.observers_address().await?;
            let read_load = ClientLoad::start_reads(&observers_address, OBSERVED).await?;
            read_load.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;
            reads = Some((read_load, observers_address));
        }
        (voters, observers) = (next_voters, next_observers);
    }
    let report = stop_load(load).await?;
    load_held(ensemble, &address, &report, "scaling observers and voters").await
}

/// The read load through the observers' Service (`address`) held: no failure, and it made progress.
async fn observer_reads_held(
    ensemble: &Ensemble,
    report: &LoadReport,
    address: &str,
) -> Result<()> {
    ensure(
        ensemble,
        report.failures.is_empty() && report.reads > 100,
        format!(
            "reads through the observers' Service {address}: {} reads, failures {:?}",
            report.reads, report.failures
        ),
    )
    .await
}

/// Sets an image that is not there on the settled `ensemble`: the first member restarted never starts, and once
/// the start-up bound has passed the ensemble reports Degraded (`MemberNotStarted`) with a Warning Event while
/// the other members keep their pods. Setting the working image back replaces that member, the ensemble
/// settles, and the other members still have the same pods.
async fn a_member_that_does_not_start_stops_the_roll(ensemble: Ensemble) -> Result<Ensemble> {
    let name = ensemble.name().to_string();
    let before = ensemble.member_pods().await?;
    let warnings_before = ensemble.warning_events().await?.len();
    let start = Instant::now();
    ensemble
        .set_image(missing_image(ensemble.flavour()))
        .await?;
    let warnings = wait::until(
        "Degraded (MemberNotStarted) and a Warning Event for a member that does not start",
        operator::MEMBER_START_TIMEOUT + Duration::from_secs(90),
        || async {
            let status = ensemble.status().await?;
            let warnings = ensemble.warning_events().await?;
            let not_started = status.conditions.iter().any(|c| {
                c.type_ == ConditionType::Degraded
                    && c.status == ConditionStatus::True
                    && c.reason == "MemberNotStarted"
            });
            Ok(if not_started && warnings.len() > warnings_before {
                Poll::Done(warnings[warnings_before..].to_vec())
            } else {
                Poll::Pending(format!("conditions {:?}", status.conditions))
            })
        },
        || ensemble.report(),
    )
    .await?;
    println!(
        "{name}: a member that does not start stopped the roll after {:.1?}: {warnings:?}",
        start.elapsed()
    );
    let stopped = ensemble.member_pods().await?;
    let kept: Vec<String> = before
        .iter()
        .filter(|(pod, state)| stopped.get(*pod).is_some_and(|now| now.uid == state.uid))
        .map(|(pod, _)| pod.clone())
        .collect();
    ensure(
        &ensemble,
        kept.len() == 2,
        format!("the roll went past the member that did not start: {before:?} -> {stopped:?}"),
    )
    .await?;
    let start = Instant::now();
    ensemble
        .set_image(retagged_image(ensemble.flavour()))
        .await?;
    ensemble.wait_settled(3, SCALE_TIMEOUT).await?;
    println!(
        "{name}: the working image set back, settled in {:.1?}",
        start.elapsed()
    );
    assert_untouched(&before, &ensemble.member_pods().await?, &kept)?;
    Ok(ensemble)
}

/// Sets the settled 3-member `ensemble`'s image to [`retagged_image`] under client load and waits until it
/// settles: every member pod was replaced exactly once (one new pod, never a container restart) and runs the
/// new image, the leader before the change came back last, a zk-server leader handed leadership over (a
/// `TransferLeadership` Event), and the load held.
async fn image_change_rolls_every_member(ensemble: Ensemble) -> Result<Ensemble> {
    let name = ensemble.name().to_string();
    let image = retagged_image(ensemble.flavour());
    let address = ensemble.client_address().await?;
    let load = ClientLoad::start(&address, "/e2e-load").await?;
    load.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;
    let leader = ensemble.status().await?.leader.unwrap_or_default();
    let selector = selector_string(&ensemble.get().await?);
    let watch = RollWatch::start(ensemble.pods.clone(), selector.clone()).await?;
    let start = Instant::now();
    ensemble.set_image(image).await?;
    let settled = ensemble.wait_settled(3, SCALE_TIMEOUT).await;
    let took = start.elapsed();
    let roll = watch.stop().await?;
    let report = stop_load(load).await?;
    settled?;

    let median = report.median_pause().unwrap_or_default();
    let pauses: Vec<String> = roll
        .restarts(HAND_OVER_LEAD_IN)
        .into_iter()
        .map(|(member, from, to)| {
            let pause = report.longest_pause(from, to).unwrap_or_default();
            format!(
                "{member} {:.0} ms ({} connection losses)",
                pause.as_secs_f64() * 1000.0,
                report.connection_losses_between(from, to)
            )
        })
        .collect();
    let longest = report
        .longest_pause(roll.started, roll.stopped)
        .unwrap_or_default();
    println!(
        "{name}: image set to {image}, every member restarted in {took:.1?}; back in the order {:?} \
         (leader before: {leader}); longest pause between acknowledged writes from {}s before each member's \
         pod went until its new pod was Ready: {}; in the whole roll {:.0} ms (median pause {:.0} ms)",
        roll.order(),
        HAND_OVER_LEAD_IN.as_secs(),
        pauses.join(", "),
        longest.as_secs_f64() * 1000.0,
        median.as_secs_f64() * 1000.0
    );
    let warnings = ensemble.warning_events().await?;
    println!("{name}: Warning Events: {warnings:?}");

    let after = ensemble.member_pods().await?;
    let once = (1..=3).all(|id| {
        let pod = ensemble.pod(id);
        roll.uids.get(&pod).is_some_and(|uids| uids.len() == 2)
            && after.get(&pod).is_some_and(|p| p.restarts == 0 && p.ready)
    });
    ensure(
        &ensemble,
        once && after.len() == 3,
        format!(
            "members not replaced exactly once: pods seen {:?}, now {after:?}",
            roll.uids
        ),
    )
    .await?;
    // The order pods went in: a pod that is Ready only after the ensemble settled is missing from
    // the order they came back in.
    ensure(
        &ensemble,
        roll.gone_order().last() == Some(&leader),
        format!(
            "the leader {leader} did not restart last: went {:?}, came back {:?}",
            roll.gone_order(),
            roll.order()
        ),
    )
    .await?;
    let pods = ensemble
        .pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(zk_e2e::error::kube_err("list pods"))?;
    let stale: Vec<String> = pods
        .items
        .iter()
        .filter(|p| {
            p.spec.as_ref().is_none_or(|spec| {
                spec.containers
                    .iter()
                    .any(|c| c.image.as_deref() != Some(image))
            })
        })
        .map(|p| p.name_any())
        .collect();
    ensure(
        &ensemble,
        stale.is_empty(),
        format!("pods not running {image}: {stale:?}"),
    )
    .await?;
    if ensemble.flavour() == ServerFlavour::Native {
        let hand_overs = ensemble.events("TransferLeadership").await?;
        ensure(
            &ensemble,
            !hand_overs.is_empty(),
            "no TransferLeadership Event: the leader restarted without handing over".to_string(),
        )
        .await?;
    }
    load_held(&ensemble, &address, &report, "the roll").await?;
    Ok(ensemble)
}

/// Time for the first scheduled backup (every minute) to complete and show in the status.
const BACKUP_TIMEOUT: Duration = Duration::from_secs(240);
/// Writes acknowledged before the backup is asked for, at least: each must be served by the restored ensemble.
const BACKED_UP_WRITES: usize = 300;

/// i. Backup and restore of a Native ensemble under write load: `spec.backup` (every minute, to a claim in the
/// namespace) is set while the client load of a and b writes; once `status.lastBackup` names a backup (and the
/// `BackupSucceeded` Event is there), the load stops, the `ZkEnsemble` is deleted with its volumes and created
/// again as a new ensemble with `spec.restoreFrom` naming that backup: it becomes Ready on new volumes and serves
/// every write acknowledged before `spec.backup` was set (so before the backup began), each with its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_i_native_backup_restores_into_a_new_ensemble_under_write_load() -> Result<()> {
    let client = setup().await?;
    let namespace = namespace("i", ServerFlavour::Native);
    let ensemble = settled(&client, &namespace, 3, "Delete", ServerFlavour::Native).await?;
    create_backup_claim(&client, &namespace).await?;

    let address = ensemble.client_address().await?;
    let root = "/e2e-backup";
    let load = ClientLoad::start(&address, root).await?;
    load.progress(BACKED_UP_WRITES, SCALE_TIMEOUT).await?;
    let backup_asked = Instant::now();
    ensemble
        .patch_spec(serde_json::json!({"backup": {
            "schedule": "* * * * *",
            "target": {"claimName": "backups", "subPath": "e2e"},
            "retention": 2
        }}))
        .await?;
    let last = wait::until(
        "status.lastBackup",
        BACKUP_TIMEOUT,
        || async {
            let status = ensemble.status().await?;
            Ok(match status.last_backup {
                Some(last) if last.path.is_some() => Poll::Done(last),
                other => Poll::Pending(format!("lastBackup: {other:?}")),
            })
        },
        || ensemble.report(),
    )
    .await?;
    let report = stop_load(load).await?;
    let before: Vec<u64> = report
        .acknowledged
        .iter()
        .zip(&report.acknowledged_at)
        .filter(|(_, at)| **at <= backup_asked)
        .map(|(i, _)| *i)
        .collect();
    let succeeded = ensemble.events("BackupSucceeded").await?;
    ensure(
        &ensemble,
        !succeeded.is_empty(),
        "no BackupSucceeded Event".into(),
    )
    .await?;
    let directory = last
        .path
        .as_deref()
        .and_then(|p| p.rsplit('/').next())
        .unwrap_or_default()
        .to_string();
    println!(
        "{namespace}: backup {directory} at zxid {:?} by {}; {} writes acknowledged before it was asked for, {} \
         in all",
        last.zxid,
        last.job,
        before.len(),
        report.acknowledged.len()
    );

    let old_volumes = volume_uids(&ensemble).await?;
    let start = Instant::now();
    ensemble
        .recreate_with(serde_json::json!({
            "restoreFrom": {"claimName": "backups", "path": format!("e2e/{directory}")}
        }))
        .await?;
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    println!(
        "{namespace}: restored into a new ensemble, Ready in {:.1?}",
        start.elapsed()
    );
    let new_volumes = volume_uids(&ensemble).await?;
    ensure(
        &ensemble,
        new_volumes.iter().all(|v| !old_volumes.contains(v)),
        format!("the restored ensemble reuses volumes: {old_volumes:?} -> {new_volumes:?}"),
    )
    .await?;
    let address = ensemble.client_address().await?;
    let restored = LoadReport {
        acknowledged: before,
        ..LoadReport::default()
    };
    if let Err(e) = load::verify(&address, root, &restored).await {
        let seeded = format!("{}-1", ensemble.name());
        let log = kubectl(&["logs", &seeded, "-n", &namespace, "--tail", "80"])
            .await
            .unwrap_or_else(|e| format!("({e})"));
        return Err(Error::Unexpected(format!(
            "{e}\n---- {seeded} log (the member that imported the backup)\n{log}\n{}",
            ensemble.report().await
        )));
    }
    delete_all(vec![ensemble], false).await
}

/// t. TLS for each flavour side by side, with no plain client port: a 3-member ensemble with `spec.tls {client:
/// true, quorum: true, plainClientPort: false}` (`clientAuth` left at `need`) — Apache members with certificates
/// from a Secret of the user's (cert-manager's layout, from an authority the test makes), zk-server members with
/// certificates the operator issues — becomes Ready: the operator reaches the members over TLS presenting a
/// certificate, the members replicate over mutual TLS. A session through the client Service's TLS port reads
/// voters 1, 2, 3 and writes; a member's plain client port refuses connections; `mntr` through the Service's TLS
/// port answers. Then, under a client load over TLS through the client Service's TLS port, 3→5 and 5→3 reach
/// each target (voters read over TLS, no kept member restarted), and the certificate is renewed: the user's
/// Secret replaced by a new certificate of the same authority (Apache), the operator's certificate made due for
/// renewal (Native). Every member then serves the new certificate: zk-server members reload it with no
/// restart, Apache members are restarted once each, one at a time. The load sees no failure beyond retried
/// `ConnectionLoss`, and every acknowledged write is read back over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_t_tls_scales_and_renews_under_tls_client_load() -> Result<()> {
    let client = setup().await?;
    each_flavour("t", |flavour| {
        let client = &client;
        async move { tls_scales_and_renews_under_load(client, flavour).await }
    })
    .await
}

/// The Secret of the user's certificate in scenario t (Apache members).
const USER_TLS_SECRET: &str = "user-tls";
/// Time for every member to serve a renewed certificate: the kubelet brings a changed Secret into the pods
/// that mount it at its next sync of each pod (a minute apart), and Apache members are restarted one by one.
const RENEWAL_TIMEOUT: Duration = Duration::from_secs(240);

/// Scenario t with members of `flavour`.
async fn tls_scales_and_renews_under_load(
    client: &Client,
    flavour: ServerFlavour,
) -> Result<Ensemble> {
    let namespace = namespace("t", flavour);
    let mut tls = serde_json::json!({"client": true, "quorum": true, "plainClientPort": false});
    let users = flavour == ServerFlavour::Apache;
    if users {
        tls["secretName"] = USER_TLS_SECRET.into();
    }
    let start = Instant::now();
    let spec = serde_json::json!({ "tls": tls });
    let ensemble = Ensemble::create(client, &namespace, 3, "Delete", flavour, &spec).await?;
    // Until the user's Secret exists the operator reports the error and tries again.
    let authority = match users {
        true => {
            let authority = UserAuthority::new(&ensemble).await?;
            authority.issue_into(&ensemble, USER_TLS_SECRET).await?;
            Some(authority)
        }
        false => None,
    };
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    println!(
        "{namespace}: 3-member {flavour:?} ensemble over TLS Ready in {:.1?}",
        start.elapsed()
    );
    voters_over_tls(&ensemble, &[1, 2, 3]).await?;
    only_the_tls_port_serves(&ensemble).await?;

    let (address, _tunnel) = zk_e2e::tls::client_tunnel(&ensemble).await?;
    let load = ClientLoad::start(&address, "/e2e-load").await?;
    load.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;
    let mut current = 3;
    let mut took = Vec::new();
    for target in [5, 3] {
        let before = ensemble.member_pods().await?;
        took.push(scale_to(&ensemble, target).await?);
        let after = ensemble.member_pods().await?;
        let step = format!("scale {current}→{target} over TLS");
        kept_untouched(&ensemble, &step, &before, &after, current.min(target)).await?;
        let voters: Vec<u32> = (1..=target as u32).collect();
        voters_over_tls(&ensemble, &voters).await?;
        current = target;
    }
    let renewal = renew_under_load(&ensemble, authority.as_ref()).await?;
    let report = stop_load(load).await?;
    load_held(&ensemble, &address, &report, "scaling and renewal over TLS").await?;
    println!(
        "{namespace}: under a client load over TLS, 3→5 in {:.1?}, 5→3 in {:.1?}; {renewal}",
        took[0], took[1]
    );
    Ok(ensemble)
}

/// A session over TLS through the client Service reads exactly `expected` as the voters of the committed
/// configuration, and writes.
async fn voters_over_tls(ensemble: &Ensemble, expected: &[u32]) -> Result<()> {
    let session = zk_e2e::tls::session(ensemble).await?;
    let config = session
        .committed_config()
        .await
        .map_err(|e| Error::Unexpected(format!("getConfig over TLS: {e}")))?;
    let voters: Vec<u32> = config.servers.keys().copied().collect();
    ensure(
        ensemble,
        voters == expected,
        format!("voters over TLS: {voters:?}, not {expected:?}"),
    )
    .await?;
    session
        .confirm_quorum_write("written over TLS")
        .await
        .map_err(|e| Error::Unexpected(format!("a write over TLS: {e}")))
}

/// Member 1's TLS port accepts connections and its plain client port refuses them; `mntr` through the client
/// Service's TLS port answers.
async fn only_the_tls_port_serves(ensemble: &Ensemble) -> Result<()> {
    let pod = ensemble
        .pods
        .get(&ensemble.pod(1))
        .await
        .map_err(zk_e2e::error::kube_err("get member 1's pod"))?;
    let ip = pod
        .status
        .and_then(|s| s.pod_ip)
        .ok_or_else(|| Error::Unexpected("member 1 has no pod IP".into()))?;
    let accepts = |port: u16| {
        let address = format!("{ip}:{port}");
        async move {
            let connect = tokio::net::TcpStream::connect(address);
            matches!(
                tokio::time::timeout(Duration::from_secs(5), connect).await,
                Ok(Ok(_))
            )
        }
    };
    // The TLS port answering shows the pod is reachable, so the plain port's refusal is the member's.
    ensure(
        ensemble,
        accepts(2281).await && !accepts(2181).await,
        format!("member 1 at {ip}: the TLS port should accept and the plain client port refuse"),
    )
    .await?;
    let tls_endpoint = zk_e2e::tls::client_endpoint(ensemble).await?;
    let state = zk_operator::zk::mntr(
        &tls_endpoint,
        &zk_e2e::tls::transport(ensemble).await?,
        Duration::from_secs(5),
    )
    .await
    .map_err(|e| Error::Unexpected(format!("mntr over TLS: {e}")))?;
    println!(
        "{}: mntr over TLS through the client Service: {state:?}",
        ensemble.namespace
    );
    Ok(())
}

/// Renews the members' certificate while the load runs and waits until every member serves the new one: with
/// the user's `authority`, a new certificate of it replaces the user's Secret, as cert-manager's renewal does;
/// without, the operator's certificate is marked due (its `not-after` annotation set to now). zk-server
/// members must reload it with no restart; Apache members must be restarted once each, one at a time. Returns
/// what was seen, for the scenario's summary.
async fn renew_under_load(
    ensemble: &Ensemble,
    authority: Option<&UserAuthority>,
) -> Result<String> {
    let zk = ensemble.get().await?;
    let secret = member_secret_name(&zk);
    let old = first_certificate(&ensemble.secret_text(&secret, CERT_KEY).await?);
    let before = ensemble.member_pods().await?;
    let watch = RollWatch::start(ensemble.pods.clone(), selector_string(&zk)).await?;
    let start = Instant::now();
    let now = jiff::Timestamp::now().to_string();
    match authority {
        Some(authority) => {
            authority.issue_into(ensemble, USER_TLS_SECRET).await?;
        }
        None => {
            let due = format!("{NOT_AFTER_ANNOTATION}={now}");
            let namespace = &ensemble.namespace;
            kubectl(&[
                "annotate",
                "secret",
                "-n",
                namespace,
                &secret,
                &due,
                "--overwrite",
            ])
            .await?;
        }
    }
    // The operator reads the Secrets at every reconcile, at least once a minute; a change of the ensemble's
    // annotations brings the next one at once.
    let nudge = format!("e2e.zkops.dev/renewed={now}");
    let (namespace, name) = (&ensemble.namespace, ensemble.name());
    kubectl(&[
        "annotate",
        "zkensemble",
        "-n",
        namespace,
        name,
        &nudge,
        "--overwrite",
    ])
    .await?;
    let renewed = wait::until(
        "the members' Secret to hold a new certificate",
        SCALE_TIMEOUT,
        || async {
            let now = first_certificate(&ensemble.secret_text(&secret, CERT_KEY).await?);
            Ok(match now {
                Some(cert) if Some(&cert) != old.as_ref() => Poll::Done(cert),
                _ => Poll::Pending("the certificate before the renewal".to_string()),
            })
        },
        || ensemble.report(),
    )
    .await?;
    let issued = start.elapsed();
    wait::until(
        "every member to serve the renewed certificate",
        RENEWAL_TIMEOUT,
        || async {
            let served = served_certificates(ensemble).await?;
            let stale: Vec<&String> = served
                .iter()
                .filter(|(_, cert)| cert.as_ref() != Some(&renewed))
                .map(|(pod, _)| pod)
                .collect();
            if stale.is_empty() && served.len() == 3 {
                return Ok(Poll::Done(()));
            }
            // Each look is a TLS handshake with every member: look every few seconds.
            tokio::time::sleep(Duration::from_secs(2)).await;
            Ok(Poll::Pending(format!(
                "members not serving it yet: {stale:?}"
            )))
        },
        || ensemble.report(),
    )
    .await?;
    let served = start.elapsed();
    let settled = ensemble.wait_settled(3, SCALE_TIMEOUT).await;
    let roll = watch.stop().await?;
    settled?;
    let after = ensemble.member_pods().await?;
    match ensemble.flavour() {
        ServerFlavour::Native => {
            kept_untouched(ensemble, "the certificate renewal", &before, &after, 3).await?
        }
        ServerFlavour::Apache => {
            let once = before
                .keys()
                .all(|pod| roll.uids.get(pod).is_some_and(|uids| uids.len() == 2));
            let restarts = roll.restarts(Duration::ZERO);
            // Each member's pod went only once the one restarted before it was Ready again.
            let one_at_a_time = restarts.windows(2).all(|pair| pair[1].1 >= pair[0].2);
            ensure(
                ensemble,
                once && one_at_a_time && restarts.len() == 3 && after.len() == 3,
                format!(
                    "Apache members not restarted once each, one at a time: pods seen {:?}, went {:?}, \
                     back {:?}",
                    roll.uids,
                    roll.gone_order(),
                    roll.order()
                ),
            )
            .await?
        }
    }
    Ok(format!(
        "certificate renewed: in the members' Secret after {issued:.1?}, served by every member after \
         {served:.1?}; members restarted, in order: {:?}",
        roll.gone_order()
    ))
}

/// The certificate each member pod serves on its TLS port (none while it has no address or does not answer).
async fn served_certificates(ensemble: &Ensemble) -> Result<BTreeMap<String, Option<String>>> {
    let mut served = BTreeMap::new();
    for (pod, state) in ensemble.member_pods().await? {
        let cert = match &state.ip {
            Some(ip) => served_certificate(ensemble, ip).await.ok(),
            None => None,
        };
        served.insert(pod, cert);
    }
    Ok(served)
}

/// Creates the claim `backups` (ReadWriteOnce, 256 MiB) in `namespace`.
async fn create_backup_claim(client: &Client, namespace: &str) -> Result<()> {
    let claim: k8s_openapi::api::core::v1::PersistentVolumeClaim =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "backups", "namespace": namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "256Mi"}}
            }
        }))
        .map_err(|e| Error::Unexpected(format!("claim manifest: {e}")))?;
    kube::Api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>::namespaced(
        client.clone(),
        namespace,
    )
    .create(&Default::default(), &claim)
    .await
    .map_err(zk_e2e::error::kube_err("create the backup claim"))?;
    Ok(())
}

/// The uids of the ensemble's member volumes: new volumes have new uids.
async fn volume_uids(ensemble: &Ensemble) -> Result<Vec<String>> {
    let claims = kube::Api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>::namespaced(
        ensemble.client.clone(),
        &ensemble.namespace,
    )
    .list(&ListParams::default().labels(&selector_string(&ensemble.get().await?)))
    .await
    .map_err(zk_e2e::error::kube_err("list member volumes"))?;
    Ok(claims.items.iter().filter_map(|c| c.uid()).collect())
}

/// Where scenario k's linearizability checker is built and keeps the history of a failed check.
fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("linearizability-checker")
}

/// Register writes the history load must have acknowledged before a part's faults, and again after them.
const HISTORY_PROGRESS: usize = 20;

/// k. Faults inside Kubernetes under a load whose history is checked, with zk-server members: several sessions
/// read (`sync` + `getData`), write and compare-and-set a few registers through the client Service (the
/// robustness suite's load, `zk_e2e::history`). (a) During 3→5 and then 5→3 the pod `status.leader` names is
/// force-deleted (grace period 0) once in every step of the scale, whenever every voter's pod is Ready; (b)
/// during 3→4 the operator's pod and the leader's pod are force-deleted at the same moment, once in every step
/// of the scale; (c) during 4→3 the leader is cut off from its peers (its quorum and election packets dropped,
/// its clients still reaching it) for 20 s, then reconnected. Each scale settles with the committed config
/// listing exactly the status' voters; after each part its history is checked: no client error beyond a lost
/// connection, no session expired, every acknowledged create on every member, every member reading the same
/// registers, and the history, those final reads included, linearizable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_k_native_faults_during_scaling_keep_histories_linearizable() -> Result<()> {
    let client = setup().await?;
    let namespace = namespace("k", ServerFlavour::Native);
    let settled = settled(&client, &namespace, 3, "Delete", ServerFlavour::Native).await?;
    let ensemble = &settled;
    let address = ensemble.client_address().await?;

    let load = HistoryLoad::start(&address, "/history-a", 1).await?;
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    for (from, target) in [(3, 5), (5, 3)] {
        let start = Instant::now();
        let steps = scale_killing(ensemble, target, |status| async move {
            leader_in_scale_step(ensemble, &status).await
        })
        .await?;
        scale_held(
            ensemble,
            &address,
            from,
            target,
            start.elapsed(),
            &kills(&steps),
        )
        .await?;
    }
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    let summary = load.check(ensemble, &checker_dir()).await?;
    println!("{namespace}: (a) the leader killed in every step of 3→5→3: {summary}");

    let load = HistoryLoad::start(&address, "/history-b", 2).await?;
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    let start = Instant::now();
    let steps = scale_killing(ensemble, 4, |status| async move {
        let leader = leader_in_scale_step(ensemble, &status).await?;
        if leader.is_empty() {
            return Ok(leader);
        }
        let mut victims = operator_victims().await?;
        victims.extend(leader);
        Ok(victims)
    })
    .await?;
    scale_held(ensemble, &address, 3, 4, start.elapsed(), &kills(&steps)).await?;
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    let summary = load.check(ensemble, &checker_dir()).await?;
    println!("{namespace}: (b) the operator and the leader killed at once during 3→4: {summary}");

    let load = HistoryLoad::start(&address, "/history-c", 3).await?;
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    let start = Instant::now();
    let isolated = scale_isolating_leader(ensemble, 3).await?;
    scale_held(ensemble, &address, 4, 3, start.elapsed(), &isolated).await?;
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    let summary = load.check(ensemble, &checker_dir()).await?;
    println!("{namespace}: (c) the leader cut off from its peers during 4→3: {summary}");
    settled.delete(false).await
}

/// How long scenario k cuts the leader off from its peers.
const ISOLATION: Duration = Duration::from_secs(20);

/// The kills of `steps`, described; empty when there was none.
fn kills(steps: &[StepKill]) -> String {
    let kills: Vec<String> = steps
        .iter()
        .map(|s| format!("{:?} {:?} at {:.1?}", s.step, s.killed, s.seen_after))
        .collect();
    kills.join(", ")
}

/// Scales to `target` and, in the first step of the scale the status shows with a leader, cuts the leader
/// off from its peers for [`ISOLATION`], then reconnects it and waits until the scale settles. Returns what
/// was done and what the status showed at the end of the cut.
async fn scale_isolating_leader(ensemble: &Ensemble, target: i32) -> Result<String> {
    ensemble.scale(target).await?;
    let start = Instant::now();
    let (leader, step) = wait::until(
        "a step of the scale with a leader in the status",
        SCALE_TIMEOUT,
        || async {
            let status = ensemble.status().await?;
            Ok(match (&status.step, &status.leader) {
                (Some(step), Some(leader)) if scale_step(&status) => {
                    Poll::Done((leader.clone(), step.message.clone()))
                }
                _ => Poll::Pending(format!("step {:?}", status.step)),
            })
        },
        || ensemble.report(),
    )
    .await?;
    let cut_at = start.elapsed();
    isolate_member(&ensemble.client, &ensemble.namespace, &leader).await?;
    tokio::time::sleep(ISOLATION).await;
    // The member is reconnected whatever the status read finds.
    let during = ensemble.status().await;
    heal_member(&ensemble.client, &ensemble.namespace, &leader).await?;
    let during = during?;
    ensemble.wait_settled(target, SCALE_TIMEOUT).await?;
    Ok(format!(
        "the leader {leader} cut off at {cut_at:.1?} during \"{step}\" for {ISOLATION:?}; at the end of the cut \
         the status showed leader {:?}, step {:?}, conditions {:?}",
        during.leader,
        during.step.map(|s| s.message),
        during
            .conditions
            .iter()
            .map(|c| format!("{:?}={:?} ({})", c.type_, c.status, c.reason))
            .collect::<Vec<_>>()
    ))
}

/// After a scale `from`→`target` that took `took` with `faults` (described; empty when none was injected):
/// some fault was injected, and the committed config lists exactly the status' voters, `target` of them.
async fn scale_held(
    ensemble: &Ensemble,
    address: &str,
    from: i32,
    target: i32,
    took: Duration,
    faults: &str,
) -> Result<()> {
    ensure(
        ensemble,
        !faults.is_empty(),
        format!("scale {from}→{target}: no step seen to inject a fault in"),
    )
    .await?;
    let config = read_config(address).await?;
    let voters = ensemble.voter_ids().await?;
    ensure(
        ensemble,
        config.voters == voters && voters.len() == target as usize,
        format!(
            "scale {from}→{target}: config voters {:?}, status voters {voters:?}",
            config.voters
        ),
    )
    .await?;
    println!(
        "{}: scale {from}→{target} settled in {took:.1?} with faults: {faults}",
        ensemble.name()
    );
    Ok(())
}

/// The member whose volume scenario v fills (the last of the first three the operator creates).
const FULL_MEMBER: u32 = 3;
/// Size of the file system scenario v gives [`FULL_MEMBER`]: room for its data and log with space to spare.
const SMALL_VOLUME_MIB: u64 = 48;
/// Data of each large write that uses up the log space a member wrote ahead of its records (1 MiB at most)
/// once its volume is otherwise full.
const LARGE_WRITE: usize = 512 << 10;
/// Large writes scenario v makes at most before the member must refuse writes.
const LARGE_WRITES: usize = 40;
/// How long scenario v watches the operator leave a scale-up alone while a voter refuses writes.
const BLOCKED_HOLD: Duration = Duration::from_secs(10);
/// Bound on each four-letter word scenario v asks a member.
const FOUR_LETTER_TIMEOUT: Duration = Duration::from_secs(5);

/// v. A member's volume fills up, with zk-server members, under scenario k's load through the client Service.
/// Member 3's claim is bound in advance to a 48 MiB ext4 file system of its own on a loop device on a node
/// (`zk_e2e::volume`); the others get the provisioner's directories. Twice, with member 3 (a) a follower, then
/// (b) the leader (`leader_transfer?to=3` first): a file written from the node fills the file system and large
/// writes through another member use up the log space member 3 wrote ahead, until it answers `isro` with
/// `ro`. While it is full: a write of a session on member 3 is refused with NotReadOnly and its reads are served;
/// the load's writes are still acknowledged (the other two members are a quorum; in (b) member 3 keeps leading
/// and commits through its followers); a scale to 4 is not started (`Degraded`, reason `MemberReadOnly`, and a
/// Warning Event of that reason; no pod for member 4 for [`BLOCKED_HOLD`]) and is taken back. Once the file is
/// removed: member 3 takes writes again, holds a write acknowledged while it was full, and the ensemble settles,
/// with no pod restarted or recreated and the committed config unchanged (no reconfig). Last, the history is
/// checked as in k, writes refused with NotReadOnly counted rather than failed. The file system, its loop device
/// and the PersistentVolume go whatever happened. The small file system is made on this machine, the local
/// backend's only node, or inside a kind worker's container (`docker exec`), where member 3 then runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_v_native_full_member_volume_refuses_writes_then_catches_up() -> Result<()> {
    let client = setup().await?;
    let namespace = namespace("v", ServerFlavour::Native);
    fresh_namespace(&client, &namespace).await?;
    let claim = format!("data-{namespace}-{FULL_MEMBER}");
    let volume =
        SmallVolume::create(&client, &namespace, &claim, VOLUME_SIZE, SMALL_VOLUME_MIB).await?;
    let start = Instant::now();
    match full_member_volume(&client, &namespace, &claim, &volume).await {
        Ok(ensemble) => {
            println!("{namespace}: scenario v passed in {:.1?}", start.elapsed());
            ensemble.delete(false).await?;
            volume.remove().await
        }
        Err(error) => {
            let _ = volume.remove().await;
            Err(error)
        }
    }
}

/// Scenario v on the small `volume` reserved for `claim` in `namespace`; returns the ensemble.
async fn full_member_volume(
    client: &Client,
    namespace: &str,
    claim: &str,
    volume: &SmallVolume,
) -> Result<Ensemble> {
    let start = Instant::now();
    let flavour = ServerFlavour::Native;
    let ensemble = Ensemble::create_in(
        client,
        namespace,
        namespace,
        3,
        "Delete",
        flavour,
        &serde_json::json!({}),
    )
    .await?;
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    println!(
        "{namespace}: 3-member {flavour:?} ensemble Ready in {:.1?}",
        start.elapsed()
    );
    let claims = kube::Api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>::namespaced(
        client.clone(),
        namespace,
    );
    let bound = claims
        .get(claim)
        .await
        .map_err(zk_e2e::error::kube_err("get the small volume's claim"))?
        .spec
        .and_then(|s| s.volume_name);
    ensure(
        &ensemble,
        bound.as_deref() == Some(volume.name()),
        format!(
            "claim {claim} is bound to {bound:?}, not to {}",
            volume.name()
        ),
    )
    .await?;

    let address = ensemble.client_address().await?;
    let before = ensemble.member_pods().await?;
    let config = read_config(&address).await?;
    let load = HistoryLoad::start(&address, "/history", 4).await?;
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    for (part, leads) in [("a", false), ("b", true)] {
        make_full_member_lead(&ensemble, leads).await?;
        let seen = fill_and_free(&ensemble, &load, volume, part, leads).await?;
        println!("{namespace}: ({part}) {seen}");
    }
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;

    let after = ensemble.member_pods().await?;
    let same = kept(&before, &after);
    ensure(
        &ensemble,
        same.len() == 3,
        format!("member pods before {before:?}, after {after:?}"),
    )
    .await?;
    assert_untouched(&before, &after, &same)?;
    let config_after = read_config(&address).await?;
    ensure(
        &ensemble,
        config_after == config,
        format!("the committed config changed from {config:?} to {config_after:?}"),
    )
    .await?;
    let summary = load
        .check_with_refused_writes(&ensemble, &checker_dir())
        .await?;
    println!("{namespace}: history of both parts: {summary}");
    Ok(ensemble)
}

/// Hands leadership to [`FULL_MEMBER`] (`lead`) or away from it, unless it is so already: `leader_transfer` on
/// the leader's AdminServer, then waits until the member's `mntr` shows its role.
async fn make_full_member_lead(ensemble: &Ensemble, lead: bool) -> Result<()> {
    let pods = ensemble.member_pods().await?;
    let mut leader = None;
    for (name, pod) in &pods {
        let state = mntr(
            &member_endpoint(&pods, name)?,
            &Transport::Plain,
            FOUR_LETTER_TIMEOUT,
        )
        .await
        .map_err(|e| Error::Unexpected(format!("mntr of {name}: {e}")))?;
        if state.role == Role::Leader {
            leader = pod.ip.clone();
        }
        if *name == ensemble.pod(FULL_MEMBER) && (state.role == Role::Leader) == lead {
            return Ok(());
        }
    }
    let leader = leader.ok_or_else(|| Error::Unexpected("no member leads".into()))?;
    let to = if lead { FULL_MEMBER } else { 1 };
    let admin = format!("{leader}:{ADMIN_PORT}");
    let request = format!(
        "POST /commands/leader_transfer?to={to} HTTP/1.1\r\nHost: {admin}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    let answer = async {
        let mut stream = tokio::net::TcpStream::connect(&admin).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(TRANSFER_TIMEOUT, answer)
        .await
        .map_err(|_| Error::Unexpected("leader_transfer did not answer".into()))?
        .map_err(|e| Error::Unexpected(format!("leader_transfer at {admin}: {e}")))?;
    ensure(
        ensemble,
        answer.starts_with("HTTP/1.1 200"),
        format!("leader_transfer?to={to} at {admin}: {answer}"),
    )
    .await?;
    let endpoint = member_endpoint(&pods, &ensemble.pod(FULL_MEMBER))?;
    wait::until(
        &format!("member {FULL_MEMBER} leading: {lead}"),
        SCALE_TIMEOUT,
        || async {
            let role = mntr(&endpoint, &Transport::Plain, FOUR_LETTER_TIMEOUT)
                .await
                .map(|s| s.role);
            Ok(match role {
                Ok(role) if (role == Role::Leader) == lead => Poll::Done(()),
                seen => Poll::Pending(format!("{seen:?}")),
            })
        },
        || ensemble.report(),
    )
    .await
}

/// The client port of member pod `name` of `pods`.
fn member_endpoint(pods: &Snapshot, name: &str) -> Result<Endpoint> {
    let ip = pods
        .get(name)
        .and_then(|p| p.ip.clone())
        .ok_or_else(|| Error::Unexpected(format!("{name} has no IP")))?;
    Ok(Endpoint {
        address: format!("{ip}:{CLIENT_PORT}"),
        host: name.to_string(),
    })
}

/// One part of scenario v: fills `volume` (of [`FULL_MEMBER`], which leads if `leads`) under `load`, checks what
/// the ensemble and the operator do while it is full, frees it and checks that the member catches up. Returns
/// what was seen, timed.
async fn fill_and_free(
    ensemble: &Ensemble,
    load: &HistoryLoad,
    volume: &SmallVolume,
    part: &str,
    leads: bool,
) -> Result<String> {
    let pods = ensemble.member_pods().await?;
    let full_pod = ensemble.pod(FULL_MEMBER);
    let full = member_endpoint(&pods, &full_pod)?;
    let other_pod = pods
        .keys()
        .find(|name| **name != full_pod)
        .ok_or_else(|| Error::Unexpected("no other member".into()))?;
    let other = member_endpoint(&pods, other_pod)?.address;
    let refuses = || async {
        refuses_writes(&full, &Transport::Plain, FOUR_LETTER_TIMEOUT)
            .await
            .map_err(|e| Error::Unexpected(format!("isro of {full_pod}: {e}")))
    };
    // Sessions are opened first: opening one is a write, which a full member holds until space returns.
    let on_full = connect(&full.address).await?;
    let writer = connect(&other).await?;

    let start = Instant::now();
    let filler = volume.fill().await?;
    let data = vec![0x5a; LARGE_WRITE];
    let mut large = 0;
    while !refuses().await? {
        ensure(
            ensemble,
            large < LARGE_WRITES,
            format!("{full_pod} still takes writes after {large} large writes"),
        )
        .await?;
        let path = format!("/large-{part}-{large}");
        create_open(&writer, &other, &path, &data).await?;
        large += 1;
    }
    let full_after = start.elapsed();

    let refused = on_full
        .create(
            &format!("/refused-{part}"),
            b"",
            &zookeeper_client::CreateMode::Persistent
                .with_acls(zookeeper_client::Acls::anyone_all()),
        )
        .await;
    ensure(
        ensemble,
        matches!(refused, Err(zookeeper_client::Error::NotReadOnly)),
        format!("a write through {full_pod} while its volume is full answered {refused:?}"),
    )
    .await?;
    let read = on_full.get_data("/history").await;
    ensure(
        ensemble,
        read.is_ok(),
        format!("a read through {full_pod} while its volume is full answered {read:?}"),
    )
    .await?;
    let role = mntr(&full, &Transport::Plain, FOUR_LETTER_TIMEOUT)
        .await
        .map_err(|e| Error::Unexpected(format!("mntr of {full_pod}: {e}")))?
        .role;
    ensure(
        ensemble,
        (role == Role::Leader) == leads,
        format!("{full_pod} is {role:?} while its volume is full"),
    )
    .await?;
    let marker = format!("/while-full-{part}");
    create_open(&writer, &other, &marker, b"").await?;
    load.progress(HISTORY_PROGRESS, SCALE_TIMEOUT).await?;
    let blocked = scale_up_blocked(ensemble).await?;

    let freed = Instant::now();
    volume.free().await?;
    wait::until(
        &format!("{full_pod} taking writes again"),
        SCALE_TIMEOUT,
        || async {
            Ok(if refuses().await? {
                Poll::Pending("isro ro".into())
            } else {
                Poll::Done(())
            })
        },
        || ensemble.report(),
    )
    .await?;
    let writes_again = freed.elapsed();
    read_data(&full.address, &marker).await?;
    let caught_up = freed.elapsed();
    ensemble.wait_settled(3, SCALE_TIMEOUT).await?;
    Ok(format!(
        "{full_pod} {role:?}: a {} MiB file filled its volume, {large} large writes later it refused writes \
         ({full_after:.1?}); meanwhile the load's writes were acknowledged and {blocked}; once the file was \
         removed it took writes after {writes_again:.1?}, held a write acknowledged while it was full after \
         {caught_up:.1?}, and the ensemble settled after {:.1?}",
        filler >> 20,
        freed.elapsed()
    ))
}

/// Asks for a fourth member while a voter refuses writes: waits until the status shows `Degraded` for it and
/// there is a Warning Event of its reason, checks for [`BLOCKED_HOLD`] that no pod of member 4 appears, and asks
/// for 3 again. Returns what the status said.
async fn scale_up_blocked(ensemble: &Ensemble) -> Result<String> {
    ensemble.scale(4).await?;
    let generation = ensemble.get().await?.metadata.generation;
    let condition = wait::until(
        "Degraded with reason MemberReadOnly",
        SCALE_TIMEOUT,
        || async {
            let status = ensemble.status().await?;
            let degraded = status
                .conditions
                .iter()
                .find(|c| c.type_ == ConditionType::Degraded)
                .cloned();
            Ok(match degraded {
                Some(c)
                    if status.observed_generation == generation
                        && c.status == ConditionStatus::True
                        && c.reason == "MemberReadOnly" =>
                {
                    Poll::Done(c.message)
                }
                seen => Poll::Pending(format!("{seen:?}")),
            })
        },
        || ensemble.report(),
    )
    .await?;
    let events = ensemble.events("MemberReadOnly").await?;
    ensure(
        ensemble,
        !events.is_empty(),
        "no Event with reason MemberReadOnly".into(),
    )
    .await?;
    let fourth = ensemble.pod(4);
    let hold = Instant::now();
    while hold.elapsed() < BLOCKED_HOLD {
        let pods = ensemble.member_pods().await?;
        ensure(
            ensemble,
            !pods.contains_key(&fourth),
            format!("{fourth} was created while a voter refuses writes"),
        )
        .await?;
        tokio::time::sleep(wait::POLL).await;
    }
    ensemble.scale(3).await?;
    Ok(format!(
        "the scale to 4 stood still for {BLOCKED_HOLD:?} (Degraded: \"{condition}\")"
    ))
}

/// Session timeout of the session that holds ephemerals across a migration, and the ensembles' maximum: the
/// session must come back to the new ensemble within it, counted from the new ensemble's first start.
const LIVE_SESSION_TIMEOUT: Duration = Duration::from_secs(120);
/// Writes of the client load acknowledged by the ensemble being migrated away from, at least.
const MIGRATED_WRITES: usize = 400;

/// m. Migration of a running Apache ZooKeeper ensemble to zk-server members and back, as `docs/operator.md`
/// ("Migrating from Apache ZooKeeper") tells it: clients reach `old` (Apache, 3 members, volumes retained)
/// through a Service of their own, `zk`. Under it: digest ACLs (set again on some), data set again, sequential
/// znodes, two ephemerals of a session that stays open, and several hundred creates of the client load. Writers
/// pause (a read load goes on reading `old`); `new` (Native) is created with `spec.restoreFrom` naming the data
/// and log directories on the claim of `old`'s leader, which is still running; once `new` has settled, `zk`'s
/// selector moves to `new`, `old` is deleted and writes resume. `new` serves every znode with the data, ACL and
/// stat `old` served, every acknowledged write, and the open session keeps its ephemerals. The way back: writers
/// pause again, a Job from `new`'s backup CronJob takes a backup, `back` (Apache) is created from it, `zk` moves
/// to it, `new` is deleted: `back` serves both ensembles' data the same way. Each write downtime (the last write
/// acknowledged by one ensemble to the first by the next) is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_m_apache_ensemble_migrates_to_native_and_back() -> Result<()> {
    let client = setup().await?;
    let namespace = "e2e-m";
    let start = Instant::now();
    fresh_namespace(&client, namespace).await?;
    let timeout = LIVE_SESSION_TIMEOUT.as_millis();
    let sessions = serde_json::json!({"server": {"maxSessionTimeout": timeout}});
    let old = Ensemble::create_in(
        &client,
        namespace,
        "old",
        3,
        "Retain",
        ServerFlavour::Apache,
        &sessions,
    )
    .await?;
    old.wait_settled(3, CREATE_TIMEOUT).await?;
    println!("{namespace}: old (Apache) Ready in {:.1?}", start.elapsed());
    create_backup_claim(&client, namespace).await?;
    let service = UserService::create(&old, "zk").await?;
    let address = service.address().await?;

    let root = "/e2e-migrate";
    let setup_client = connect(&address).await?;
    create_open(&setup_client, &address, root, b"migrated").await?;
    drop(setup_client);
    let live = fixture::write(&address, root, LIVE_SESSION_TIMEOUT).await?;
    let readers = ClientLoad::start_reads(&address, root).await?;
    let load_root = format!("{root}/load");
    let load = ClientLoad::start(&address, &load_root).await?;
    load.progress(MIGRATED_WRITES, SCALE_TIMEOUT).await?;
    // Writers pause: the read-only window starts.
    let written = load.stop().await?;
    let last_on_old = *written
        .acknowledged_at
        .last()
        .ok_or_else(|| Error::Unexpected("no write acknowledged by old".into()))?;
    ensure(
        &old,
        written.failures.is_empty(),
        format!("client load failures on old: {:?}", written.failures),
    )
    .await?;
    let leader = old
        .status()
        .await?
        .leader
        .ok_or_else(|| Error::Unexpected("old has no leader in its status".into()))?;
    let mut spec = sessions.clone();
    spec["restoreFrom"] = serde_json::json!(
        {"claimName": format!("data-{leader}"), "path": "data", "logPath": "datalog"}
    );
    spec["backup"] = serde_json::json!({
        "schedule": "@daily", "suspend": true,
        "target": {"claimName": "backups", "subPath": "new"}
    });
    let new = Ensemble::create_in(
        &client,
        namespace,
        "new",
        3,
        "Retain",
        ServerFlavour::Native,
        &spec,
    )
    .await?;
    let asked = Instant::now();
    let auth: [(&str, &[u8]); 1] = [("digest", fixture::CREDENTIAL)];
    let expected = tree::read(&address, root, &auth).await?;
    readers.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;
    new.wait_settled(3, CREATE_TIMEOUT).await?;
    let settled_in = asked.elapsed();
    print_restore_log(namespace, &new.pod(1)).await?;
    let reads = readers.stop().await?;
    ensure(
        &new,
        reads.failures.is_empty(),
        format!(
            "reads of old failed in the read-only window: {:?}",
            reads.failures
        ),
    )
    .await?;
    service.point_at(&new).await?;
    old.delete_object().await?;
    let first_on_new = first_write(&address, "/e2e-after").await?;
    println!(
        "{namespace}: old -> new: {} writes and {} znodes (from {leader}'s claim); new settled {settled_in:.1?} \
         after it was created; write downtime {:.1?} (last write on old to first on new); {} reads of old in \
         the read-only window",
        written.acknowledged.len(),
        expected.len(),
        first_on_new - last_on_old,
        reads.reads
    );
    check_migrated(
        &new,
        &address,
        &[(root, &expected)],
        &[(&load_root, &written)],
    )
    .await?;
    live.check(LIVE_SESSION_TIMEOUT).await?;

    // The way back.
    let after_root = "/e2e-after/load";
    let load = ClientLoad::start(&address, after_root).await?;
    load.progress(LOAD_PROGRESS * 4, SCALE_TIMEOUT).await?;
    let written_on_new = load.stop().await?;
    let last_on_new = *written_on_new
        .acknowledged_at
        .last()
        .ok_or_else(|| Error::Unexpected("no write acknowledged by new".into()))?;
    let backup = backup_now(namespace, "new-backup", "new-backup-migrate").await?;
    let expected_after = tree::read(&address, "/e2e-after", &auth).await?;
    let expected = tree::read(&address, root, &auth).await?;
    let mut spec = sessions.clone();
    spec["restoreFrom"] =
        serde_json::json!({"claimName": "backups", "path": format!("new/{backup}")});
    let back = Ensemble::create_in(
        &client,
        namespace,
        "back",
        3,
        "Delete",
        ServerFlavour::Apache,
        &spec,
    )
    .await?;
    back.wait_settled(3, CREATE_TIMEOUT).await?;
    print_restore_log(namespace, &back.pod(1)).await?;
    service.point_at(&back).await?;
    new.delete_object().await?;
    let first_on_back = first_write(&address, "/e2e-back").await?;
    println!(
        "{namespace}: new -> back: backup {backup}; write downtime {:.1?} (last write on new to first on back)",
        first_on_back - last_on_new
    );
    check_migrated(
        &back,
        &address,
        &[(root, &expected), ("/e2e-after", &expected_after)],
        &[(&load_root, &written), (after_root, &written_on_new)],
    )
    .await?;
    live.check(LIVE_SESSION_TIMEOUT).await?;
    println!("scenario m: {:.1?}", start.elapsed());
    delete_all(vec![back], false).await
}

/// Prints what the start of `pod` (member 1 of an ensemble with `spec.restoreFrom`) said up to its server's
/// start: where it restored from and, for zk-server, the import's report.
async fn print_restore_log(namespace: &str, pod: &str) -> Result<()> {
    let log = kubectl(&["logs", pod, "-n", namespace, "--tail=-1"]).await?;
    let lines: Vec<&str> = log.lines().take(20).collect();
    println!("{namespace}/{pod} started:\n{}", lines.join("\n"));
    Ok(())
}

/// Checks that `ensemble`, through `address`, serves each subtree of `trees` as it was read before, and every
/// acknowledged write of each load of `loads` (by its root).
async fn check_migrated(
    ensemble: &Ensemble,
    address: &str,
    trees: &[(&str, &tree::Tree)],
    loads: &[(&str, &LoadReport)],
) -> Result<()> {
    let auth: [(&str, &[u8]); 1] = [("digest", fixture::CREDENTIAL)];
    for (root, expected) in trees {
        let found = match tree::read(address, root, &auth).await {
            Ok(found) => found,
            Err(e) => {
                return Err(Error::Unexpected(format!(
                    "{e}\n{}",
                    ensemble.report().await
                )));
            }
        };
        let differences = tree::differences(expected, &found);
        ensure(
            ensemble,
            differences.is_empty(),
            format!(
                "{} of {} znodes under {root} differ on {}: {}",
                differences.len(),
                expected.len(),
                ensemble.name(),
                differences
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        )
        .await?;
    }
    for (root, report) in loads {
        load::verify(address, root, report).await?;
    }
    Ok(())
}

/// Creates `path` through a new session at `address`, retrying while the Service has no member to reach (its
/// selector has just moved), and returns when it was acknowledged: a writer resuming.
async fn first_write(address: &str, path: &str) -> Result<Instant> {
    wait::until(
        &format!("the first write ({path}) through {address}"),
        SCALE_TIMEOUT,
        || async {
            let attempt = async {
                let client = connect(address).await?;
                create_open(&client, address, path, b"").await
            };
            Ok(match attempt.await {
                Ok(()) => Poll::Done(Instant::now()),
                Err(e) => Poll::Pending(e.to_string()),
            })
        },
        || async { String::new() },
    )
    .await
}

/// Runs Job `job` from the backup CronJob `cron_job` in `namespace`, as `kubectl create job --from` does, waits
/// for it and returns the backup directory its report names.
async fn backup_now(namespace: &str, cron_job: &str, job: &str) -> Result<String> {
    let from = format!("--from=cronjob/{cron_job}");
    kubectl(&["create", "job", job, &from, "-n", namespace]).await?;
    let name = format!("job/{job}");
    kubectl(&[
        "wait",
        "--for=condition=complete",
        &name,
        "-n",
        namespace,
        "--timeout=240s",
    ])
    .await?;
    let selector = format!("job-name={job}");
    let report = kubectl(&[
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        &selector,
        "-o",
        "jsonpath={.items[0].status.containerStatuses[0].state.terminated.message}",
    ])
    .await?;
    let report: serde_json::Value = serde_json::from_str(report.trim())
        .map_err(|e| Error::Unexpected(format!("backup report {report:?}: {e}")))?;
    report["dir"]
        .as_str()
        .and_then(|dir| dir.rsplit('/').next())
        .filter(|dir| dir.starts_with("backup-"))
        .map(str::to_string)
        .ok_or_else(|| Error::Unexpected(format!("backup report without a directory: {report}")))
}

/// How long scenario n keeps a member's node paused.
const NODE_PAUSE: Duration = Duration::from_secs(60);

/// n (kind only). A worker node holding one voter of three, a follower, is paused (`docker pause`: every process
/// on it stops, its kubelet's too) for 60 s under the client load of a and b. Meanwhile writes go on, the
/// operator reports the member down (Degraded, reason `MemberDown`, the blocked step naming it) and refuses a
/// scale to 5 asked for then (no new member, `status.replicas` stays 3; the request is withdrawn before the node
/// comes back). Once the node is unpaused the member rejoins as it was, with no reconfig: the same pods, never
/// restarted, and the same committed configuration version. The members must sit on three different nodes (the
/// operator's anti-affinity), none of them the operator's. Native members. On a cluster whose nodes are not kind
/// containers it has no node to pause and says it is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_n_native_member_on_a_paused_node_rejoins_without_reconfig() -> Result<()> {
    let client = setup().await?;
    if !node::cluster_is_kind(&client).await? {
        println!(
            "scenario n skipped: the cluster's nodes are not kind containers, there is no node to pause"
        );
        return Ok(());
    }
    let start = Instant::now();
    let namespace = namespace("n", ServerFlavour::Native);
    let ensemble = settled(&client, &namespace, 3, "Delete", ServerFlavour::Native).await?;
    let result = member_on_a_paused_node_rejoins(&ensemble).await;
    println!(
        "scenario n with Native members: {} in {:.1?}",
        if result.is_ok() { "passed" } else { "failed" },
        start.elapsed()
    );
    result?;
    delete_all(vec![ensemble], false).await
}

async fn member_on_a_paused_node_rejoins(ensemble: &Ensemble) -> Result<()> {
    let namespace = &ensemble.namespace;
    let status = ensemble.status().await?;
    let mut nodes = BTreeMap::new();
    for member in status.members.iter().filter(|m| m.voting) {
        let node = node::pod_node(&ensemble.client, namespace, &member.pod).await?;
        nodes.insert(member.pod.clone(), node.name_any());
    }
    let distinct: BTreeSet<&String> = nodes.values().collect();
    ensure(
        ensemble,
        distinct.len() == 3,
        format!("the three voters are not on three nodes: {nodes:?}"),
    )
    .await?;
    let mut operator_nodes = BTreeSet::new();
    for pod in operator::pods().await? {
        let node = node::pod_node(&ensemble.client, operator::NAMESPACE, &pod).await?;
        operator_nodes.insert(node.name_any());
    }
    let victim = status
        .members
        .iter()
        .find(|m| m.voting && m.role == "follower" && !operator_nodes.contains(&nodes[&m.pod]))
        .ok_or_else(|| {
            Error::Unexpected(format!(
                "no follower on a node without the operator: members {:?}, operator on {operator_nodes:?}",
                status.members
            ))
        })?;
    let (id, node) = (victim.id, nodes[&victim.pod].clone());

    let address = ensemble.client_address().await?;
    let config = read_config(&address).await?;
    let before = ensemble.member_pods().await?;
    let load = ClientLoad::start(&address, "/e2e-load").await?;
    load.progress(LOAD_PROGRESS, SCALE_TIMEOUT).await?;
    println!(
        "{namespace}: pausing node {node} (member {id}, {}) for {NODE_PAUSE:?}",
        victim.pod
    );
    node::set_paused(&node, true).await?;
    let paused_at = Instant::now();
    let while_paused = member_down_blocks_scaling(ensemble, &load, id, paused_at).await;
    // The node comes back whatever the checks found, so that a failure leaves a whole cluster behind.
    if while_paused.is_ok() {
        tokio::time::sleep(NODE_PAUSE.saturating_sub(paused_at.elapsed())).await;
    }
    node::set_paused(&node, false).await?;
    println!(
        "{namespace}: node {node} unpaused after {:.1?}",
        paused_at.elapsed()
    );
    while_paused?;

    let took = scale_settled(ensemble, 3).await?;
    println!("{namespace}: member {id} back, ensemble Ready {took:.1?} after the unpause");
    let after = ensemble.member_pods().await?;
    kept_untouched(ensemble, "the node's pause", &before, &after, 3).await?;
    let config_after = read_config(&address).await?;
    ensure(
        ensemble,
        config_after == config,
        format!("the configuration changed across the pause: {config:?} -> {config_after:?}"),
    )
    .await?;
    let report = stop_load(load).await?;
    load_held(ensemble, &address, &report, "the node's pause").await
}

/// While member `id`'s node is paused (since `paused_at`): the operator reports the member down, the load keeps
/// writing, and a scale to 5 is refused for as long as the pause lasts (then withdrawn).
async fn member_down_blocks_scaling(
    ensemble: &Ensemble,
    load: &ClientLoad,
    id: u32,
    paused_at: Instant,
) -> Result<()> {
    let namespace = &ensemble.namespace;
    let message = wait::until(
        "the operator to report the paused member down",
        NODE_PAUSE,
        || async {
            let status = ensemble.status().await?;
            let blocked = status
                .step
                .as_ref()
                .filter(|step| step.action == "Blocked" && step.member == Some(id));
            let degraded = status.conditions.iter().any(|c| {
                c.type_ == ConditionType::Degraded
                    && c.status == ConditionStatus::True
                    && c.reason == "MemberDown"
            });
            Ok(match blocked {
                Some(step) if degraded => Poll::Done(step.message.clone()),
                _ => Poll::Pending(format!(
                    "step {:?}, conditions {:?}",
                    status.step, status.conditions
                )),
            })
        },
        || ensemble.report(),
    )
    .await?;
    println!(
        "{namespace}: member {id} reported down {:.1?} into the pause: {message}",
        paused_at.elapsed()
    );
    load.progress(LOAD_PROGRESS, NODE_PAUSE).await?;
    println!(
        "{namespace}: writes go on {:.1?} into the pause",
        paused_at.elapsed()
    );
    let before = ensemble.member_pods().await?;
    ensemble.scale(5).await?;
    let refused = async {
        let hold = Instant::now();
        while hold.elapsed() < DEGRADED_HOLD || paused_at.elapsed() < NODE_PAUSE - DEGRADED_HOLD {
            let status = ensemble.status().await?;
            let pods = ensemble.member_pods().await?;
            ensure(
                ensemble,
                status.replicas == 3 && pods.keys().eq(before.keys()),
                format!(
                    "scaled while member {id} is down: status.replicas {}, pods {:?}",
                    status.replicas,
                    pods.keys().collect::<Vec<_>>()
                ),
            )
            .await?;
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        Ok(())
    }
    .await;
    ensemble.scale(3).await?;
    refused?;
    println!(
        "{namespace}: a scale to 5 refused until {:.1?} into the pause, then withdrawn",
        paused_at.elapsed()
    );
    Ok(())
}

/// g. `helm upgrade` rolls the operator without touching running ensembles; `helm uninstall` removes every
/// object of the release (the CRD stays, as Helm keeps `crds/`), and the ensembles keep serving. One ensemble of
/// each flavour. It runs last: the scenarios before it share the installed operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_g_helm_upgrade_and_uninstall_leave_no_orphans() -> Result<()> {
    let client = setup().await?;
    let start = Instant::now();
    let created = futures::future::join_all(
        FLAVOURS.map(|flavour| settled_owned(&client, namespace("g", flavour), flavour)),
    )
    .await;
    let ensembles = created.into_iter().collect::<Result<Vec<_>>>()?;
    let mut before = Vec::new();
    for ensemble in &ensembles {
        before.push(ensemble.member_pods().await?);
    }
    let operator_before = operator::pods().await?;
    operator::helm_apply(true, &["--set", "podAnnotations.e2e/upgraded=yes"]).await?;
    let operator_after = operator::pods().await?;
    ensure(
        &ensembles[0],
        operator_after.iter().any(|p| !operator_before.contains(p)),
        format!("operator pods after upgrade: {operator_before:?} -> {operator_after:?}"),
    )
    .await?;
    // The new operator reconciles every ensemble once it holds the Lease: give it the time of a few
    // reconciles to touch something it should not.
    tokio::time::sleep(Duration::from_secs(10)).await;
    for (ensemble, before) in ensembles.iter().zip(&before) {
        ensemble.wait_settled(3, SCALE_TIMEOUT).await?;
        let after = ensemble.member_pods().await?;
        assert_untouched(before, &after, &before.keys().cloned().collect::<Vec<_>>())?;
    }

    operator::uninstall().await?;
    let selector = format!("app.kubernetes.io/instance={}", operator::RELEASE);
    let leftovers = wait::until(
        "the release's objects to be gone after helm uninstall",
        Duration::from_secs(120),
        || async {
            let left = kubectl(&["get",
                "deployments,replicasets,pods,services,serviceaccounts,configmaps,secrets,roles,rolebindings,\
                 clusterroles,clusterrolebindings,leases",
                "-A", "-l", &selector, "-o", "name"]).await?;
            Ok(if left.trim().is_empty() { Poll::Done(()) } else { Poll::Pending(left) })
        },
        || ensembles[0].report(),
    )
    .await;
    leftovers?;
    let leases = kubectl(&["get", "leases", "-n", operator::NAMESPACE, "-o", "name"]).await?;
    ensure(
        &ensembles[0],
        leases.trim().is_empty(),
        format!("leases left in {}: {leases}", operator::NAMESPACE),
    )
    .await?;
    for (ensemble, before) in ensembles.iter().zip(&before) {
        let still = ensemble.member_pods().await?;
        assert_untouched(before, &still, &before.keys().cloned().collect::<Vec<_>>())?;
    }
    println!("scenario g with both flavours: {:.1?}", start.elapsed());
    delete_all(ensembles, true).await
}

/// [`settled`] with an owned namespace name, for runs side by side.
async fn settled_owned(
    client: &Client,
    namespace: String,
    flavour: ServerFlavour,
) -> Result<Ensemble> {
    settled(client, &namespace, 3, "Delete", flavour).await
}

/// j, both flavours side by side: an ensemble created with `spec.auth` (users from a Secret, quorum SASL
/// required both ways with the operator's generated credential) becomes Ready with 3 voters, which took every
/// member authenticating to the others; the operator generated the quorum Secret, and the members' logs show
/// quorum SASL on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_j_sasl_users_and_quorum_sasl() -> Result<()> {
    let client = setup().await?;
    each_flavour("j", |flavour| {
        let client = &client;
        async move { sasl_ensemble_settles(client, &namespace("j", flavour), flavour).await }
    })
    .await
}

async fn sasl_ensemble_settles(
    client: &Client,
    namespace: &str,
    flavour: ServerFlavour,
) -> Result<Ensemble> {
    let auth = serde_json::json!({"auth": {"saslUsersSecret": "users", "quorum": true}});
    let ensemble = Ensemble::create(client, namespace, 3, "Delete", flavour, &auth).await?;
    // Until the users Secret exists the operator reports the error and tries again.
    kubectl(&[
        "create",
        "secret",
        "generic",
        "users",
        "-n",
        namespace,
        "--from-literal=alice=alice-secret",
    ])
    .await?;
    ensemble.wait_settled(3, CREATE_TIMEOUT).await?;
    let quorum_secret = format!("{}-quorum-sasl", ensemble.name());
    kubectl(&["get", "secret", "-n", namespace, &quorum_secret]).await?;
    let logs = kubectl(&["logs", "-n", namespace, &ensemble.pod(1)]).await?;
    let sign = match flavour {
        ServerFlavour::Apache => "Successfully completed the authentication using SASL",
        ServerFlavour::Native => "quorum SASL (DIGEST-MD5) on",
    };
    ensure(
        &ensemble,
        logs.contains(sign),
        format!("member 1's log lacks {sign:?}"),
    )
    .await?;
    Ok(ensemble)
}
