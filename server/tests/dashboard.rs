//! The chart's Grafana dashboard (`charts/zk-operator/dashboards/zookeeper.json`) against what is really
//! exported: every metric its queries name must be on the `/metrics` of a running ensemble of `zk-server`
//! processes (three voters and an observer, with Apache's Prometheus provider configured) or in the
//! operator's registry, and every `quantile` a query selects must be one that metric shows.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use zookeeper_client::{Acls, Client, CreateMode};

/// The dashboard shipped in the chart.
fn dashboard() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/zk-operator/dashboards/zookeeper.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every panel's PromQL expressions, each with the title of its panel.
fn panel_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap_or_default();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            queries.push((title.to_string(), expr.to_string()));
        }
    }
    queries
}

/// The metric names a query of the variables names (`label_values(<metric>, <label>)`).
fn variable_metrics(dashboard: &Value) -> Vec<String> {
    let mut metrics = Vec::new();
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(definition) = variable["definition"].as_str() {
            let inner = definition
                .strip_prefix("label_values(")
                .and_then(|rest| rest.split_once(','))
                .map(|(metric, _)| metric.trim());
            metrics.push(inner.unwrap_or(definition).to_string());
        }
    }
    metrics
}

/// PromQL keywords followed by a list of label names.
const GROUPING: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
/// Other PromQL keywords.
const KEYWORDS: [&str; 6] = ["and", "or", "unless", "offset", "bool", "atan2"];

/// The metric names in the PromQL expression `expr`: identifiers outside label matchers (`{...}`),
/// ranges (`[...]`), strings and grouping lists (`by (...)`), that are neither a function or aggregation
/// (followed by `(`), a keyword, a number or duration (`0.95`, `5m`), nor a Grafana variable (`$name`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    // Whether the next parenthesised list holds label names (after by, without, on, ...).
    let mut label_list = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' | '[' | '"' | '\'' => {
                let close = match c {
                    '{' => '}',
                    '[' => ']',
                    quote => quote,
                };
                i += 1;
                while i < chars.len() && chars[i] != close {
                    i += 1;
                }
                i += 1;
            }
            '$' | '0'..='9' => {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
            }
            '(' if label_list => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                label_list = false;
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let rest: String = chars[i..].iter().collect();
                let rest = rest.trim_start();
                // A function or an aggregation: `rate(...)`, `sum (...)`, `sum by (l) (...)`.
                let applied = rest.starts_with('(')
                    || ["by", "without"].iter().any(|grouping| {
                        rest.strip_prefix(grouping)
                            .is_some_and(|after| after.trim_start().starts_with('('))
                    });
                label_list = GROUPING.contains(&word.as_str());
                if !label_list && !KEYWORDS.contains(&word.as_str()) && !applied {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The metric names of a Prometheus text exposition's samples.
fn exposed_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            line.split(['{', ' '])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The `(metric, quantile)` pairs the expression `expr` selects (`name{..., quantile="0.99"}`).
fn quantile_selectors(expr: &str) -> BTreeSet<(String, String)> {
    let mut selected = BTreeSet::new();
    for (open, _) in expr.match_indices('{') {
        let name: String = expr[..open]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let matchers = &expr[open + 1..];
        let matchers = &matchers[..matchers.find('}').unwrap_or(matchers.len())];
        for matcher in matchers.split(',') {
            if let Some(value) = matcher.trim().strip_prefix("quantile=") {
                selected.insert((name.clone(), value.trim_matches('"').to_string()));
            }
        }
    }
    selected
}

/// The `(metric, quantile)` pairs of a Prometheus text exposition's samples.
fn exposed_quantiles(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (name, labels) = line.split_once('{')?;
            let value = labels.split_once("quantile=\"")?.1.split_once('"')?.0;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

/// The names the operator exports, every metric of its registry given a value once.
fn operator_names() -> BTreeSet<String> {
    let metrics = zk_operator::metrics::Metrics::default();
    metrics.reconciled(Duration::from_millis(40));
    metrics.reconcile_failed("kube");
    metrics.step_taken("AddMember", Duration::from_millis(300));
    metrics.set_leader(true);
    exposed_names(&metrics.encode())
}

/// One `zk-server` process of the test ensemble, killed on drop.
struct Member {
    child: Child,
    client: u16,
    metrics: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts three voters and an observer, each serving `/metrics` through Apache's provider settings.
fn start_ensemble() -> Vec<Member> {
    let ports: Vec<[u16; 4]> = (0..4)
        .map(|_| [(); 4].map(|_| common::free_port()))
        .collect();
    let servers: String = ports
        .iter()
        .enumerate()
        .map(|(index, [client, quorum, election, _])| {
            let role = if index == 3 {
                "observer"
            } else {
                "participant"
            };
            format!(
                "server.{}=127.0.0.1:{quorum}:{election}:{role};127.0.0.1:{client}\n",
                index + 1
            )
        })
        .collect();
    ports
        .iter()
        .enumerate()
        .map(|(index, &[client, _, _, metrics])| {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("myid"), format!("{}", index + 1)).unwrap();
            let cfg: PathBuf = dir.path().join("zoo.cfg");
            std::fs::write(
                &cfg,
                format!(
                    "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nadmin.enableServer=false\n\
                     4lw.commands.whitelist=*\n\
                     metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
                     metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort={metrics}\n{servers}",
                    data.display()
                ),
            )
            .unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_zk-server"))
                .arg(&cfg)
                .env("RUST_LOG", "warn")
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            Member {
                child,
                client,
                metrics,
                _dir: dir,
            }
        })
        .collect()
}

/// `srvr`'s mode line of the member on `port`, if it answers.
fn mode(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"srvr").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .lines()
        .find_map(|line| line.strip_prefix("Mode: "))
        .map(str::to_string)
}

/// Waits until one member leads and the others follow or observe.
async fn wait_for_roles(members: &[Member]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ports: Vec<u16> = members.iter().map(|member| member.client).collect();
        let modes =
            tokio::task::spawn_blocking(move || ports.into_iter().map(mode).collect::<Vec<_>>())
                .await
                .unwrap();
        let count = |role: &str| modes.iter().filter(|m| m.as_deref() == Some(role)).count();
        if count("leader") == 1 && count("follower") == 2 && count("observer") == 1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no leader and followers: {modes:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Some requests through every member: znodes, an ephemeral, watches, a session each.
async fn make_requests(members: &[Member]) -> Vec<Client> {
    let mut clients = Vec::new();
    for (index, member) in members.iter().enumerate() {
        let client = Client::connect(&format!("127.0.0.1:{}", member.client))
            .await
            .unwrap();
        let path = format!("/dashboard-{index}");
        let persistent = CreateMode::Persistent.with_acls(Acls::anyone_all());
        client.create(&path, b"v", &persistent).await.unwrap();
        let ephemeral = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
        client
            .create(&format!("{path}/e"), b"", &ephemeral)
            .await
            .unwrap();
        client.set_data(&path, b"w", None).await.unwrap();
        let (_, _, _watch) = client.get_and_watch_data(&path).await.unwrap();
        clients.push(client);
    }
    clients
}

#[test]
fn metric_names_are_read_outside_matchers_ranges_groupings_and_functions() {
    let names = metric_names(
        "histogram_quantile(0.95, sum by (step, le) (rate(a_bucket{x=~\"$v\", y=\"b c\"}[$__rate_interval]))) \
         / on (job) group_left (pod) b_total offset 5m > bool 1e3 or c:recorded + count without (x) (d) \
         - max(e) * sum(f) by (g)",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["a_bucket", "b_total", "c:recorded", "d", "e", "f"]
    );
}

#[test]
fn quantile_selectors_pair_each_metric_with_the_quantile_it_selects() {
    assert_eq!(
        quantile_selectors(
            "a{x=~\"$v\", quantile=\"0.99\"} / rate(b_sum{x=\"y\"}[5m]) + c{quantile=\"0.5\"}"
        )
        .into_iter()
        .collect::<Vec<_>>(),
        [
            ("a".to_string(), "0.99".to_string()),
            ("c".to_string(), "0.5".to_string())
        ]
    );
    assert_eq!(
        exposed_quantiles("# TYPE a summary\na{quantile=\"0.99\",} NaN\na_count 0.0\n")
            .into_iter()
            .collect::<Vec<_>>(),
        [("a".to_string(), "0.99".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_names_metrics_a_running_ensemble_or_the_operator_exports() {
    let dashboard = dashboard();
    let queries = panel_queries(&dashboard);
    assert!(queries.len() >= 12, "{queries:?}");

    let members = start_ensemble();
    wait_for_roles(&members).await;
    let _clients = make_requests(&members).await;
    let mut exported = BTreeSet::new();
    let mut quantiles = BTreeSet::new();
    for member in &members {
        let address = SocketAddr::from(([127, 0, 0, 1], member.metrics));
        let (status, body) = common::http_get(address, "/metrics").await;
        assert!(status.contains("200"), "{status}");
        exported.extend(exposed_names(&body));
        quantiles.extend(exposed_quantiles(&body));
    }
    let server = exported.clone();
    exported.extend(operator_names());

    let mut unknown = Vec::new();
    let mut used = BTreeSet::new();
    for (title, expr) in &queries {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{title}: no metric in {expr}");
        for name in names {
            if !exported.contains(&name) {
                unknown.push(format!("{title}: {name}"));
            }
            used.insert(name);
        }
        for (name, quantile) in quantile_selectors(expr) {
            if !quantiles.contains(&(name.clone(), quantile.clone())) {
                unknown.push(format!("{title}: {name} has no quantile {quantile}"));
            }
        }
    }
    for name in variable_metrics(&dashboard) {
        if !server.contains(&name) {
            unknown.push(format!("variable: {name}"));
        }
    }
    assert!(
        unknown.is_empty(),
        "metrics nobody exports: {unknown:?}\nexported: {exported:?}"
    );
    // The panels the dashboard promises read what they say.
    for name in [
        "leader_uptime",
        "synced_followers",
        "synced_observers",
        "looking_count",
        "avg_latency",
        "max_latency",
        "readlatency",
        "updatelatency",
        "outstanding_requests",
        "znode_count",
        "watch_count",
        "num_alive_connections",
        "fsynctime_sum",
        "sync_processor_batch_size_count",
        "zk_operator_steps_total",
        "zk_operator_step_duration_seconds_bucket",
    ] {
        assert!(used.contains(name), "no panel reads {name}");
    }
}
