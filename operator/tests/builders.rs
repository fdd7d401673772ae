//! Small inline `ZkEnsemble` manifests fed through the real validate and build code.

use k8s_openapi::api::core::v1::{Container, Pod};
use zk_operator::ensemble_config::EnsembleConfig;
use zk_operator::images::{DefaultImages, SKIP_CHECK_ANNOTATION, check_image, native_image};
use zk_operator::resources::config_map::{config_map, static_config};
use zk_operator::resources::meta::{
    BOOTSTRAP_SERVERS_ANNOTATION, BOOTSTRAP_VERSION_ANNOTATION, CREDENTIALS_ANNOTATION,
    OBSERVER_LABEL, POD_SPEC_HASH_ANNOTATION, client_service_host, server_line,
};
use zk_operator::resources::pdb::disruption_budget;
use zk_operator::resources::pod::member_pod;
use zk_operator::resources::pvc::volume_claim;
use zk_operator::resources::secret::{
    DIGEST_KEY, credentials_fingerprint, super_digest, super_secret,
};
use zk_operator::resources::service::{client_service, headless_service, observers_service};
use zk_operator::types::{ServerFlavour, ZkEnsemble};
use zk_operator::validate::validate;

const DOMAIN: &str = "cluster.local";

/// Parses a manifest the way the API server hands it over (uid set, so owner references can be built).
fn ensemble(yaml: &str) -> ZkEnsemble {
    let mut zk: ZkEnsemble = serde_yaml::from_str(yaml).expect("manifest parses");
    zk.metadata.uid = Some("0a1b2c3d".into());
    zk
}

/// The ensemble `demo` in namespace `apps` with the given `spec:` block (YAML, indented by two).
fn ensemble_with(spec: &str) -> ZkEnsemble {
    ensemble(&format!(
        "apiVersion: zookeeper.zkops.dev/v1alpha1\nkind: ZkEnsemble\nmetadata: {{ name: demo, namespace: apps }}\nspec:\n{spec}"
    ))
}

/// The ensemble with an empty spec: every field from the schema defaults.
fn minimal() -> ZkEnsemble {
    ensemble_with("  {}\n")
}

/// A committed configuration of members 1..=n of `zk`.
fn committed(zk: &ZkEnsemble, n: u32, version: i64) -> EnsembleConfig {
    let mut config = EnsembleConfig {
        version,
        ..EnsembleConfig::default()
    };
    for id in 1..=n {
        config = config.with_server(server_line(zk, id, DOMAIN));
    }
    config
}

/// Fingerprint of the super credential the test pods start with.
const CREDENTIALS: &str = "0123456789ab";

/// The pod of member `id` of `zk`, running the image the operator would give it by default.
fn built_pod(zk: &ZkEnsemble, id: u32, bootstrap: &EnsembleConfig) -> Pod {
    member_pod(
        zk,
        id,
        &DefaultImages::default().member_image(zk),
        CREDENTIALS,
        bootstrap,
    )
}

fn container(pod: &Pod) -> &Container {
    &pod.spec.as_ref().unwrap().containers[0]
}

fn env(pod: &Pod, name: &str) -> Option<String> {
    container(pod)
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
}

#[test]
fn an_empty_spec_gets_the_schema_defaults_and_is_valid() {
    let zk = minimal();
    assert_eq!(zk.spec.replicas, 3);
    assert_eq!(
        zk.spec.image, None,
        "the image default is the operator's, not the schema's"
    );
    assert_eq!(zk.spec.flavour, ServerFlavour::Native);
    let member = built_pod(&zk, 1, &committed(&zk, 1, 0));
    assert_eq!(container(&member).image, Some(native_image()));
    let apache = ensemble_with("  flavour: Apache\n");
    let member = built_pod(&apache, 1, &committed(&apache, 1, 0));
    assert_eq!(container(&member).image.as_deref(), Some("zookeeper:3.8"));
    assert_eq!(zk.spec.server.tick_time, 2000);
    assert_eq!(zk.spec.storage.size, "1Gi");
    validate(&zk.spec).unwrap();
    let reparsed = serde_json::to_value(&zk.spec).unwrap();
    assert_eq!(
        reparsed["replicas"], 3,
        "defaults are explicit once read, never written back by the operator"
    );
}

#[test]
fn json_logs_are_asked_of_native_members_and_refused_for_apache() {
    let text = ensemble_with("  {}\n");
    let member = built_pod(&text, 1, &committed(&text, 1, 0));
    assert_eq!(
        env(&member, "LOG_FORMAT"),
        None,
        "text by default, as the server's own default"
    );
    let json = ensemble_with("  log:\n    format: json\n");
    validate(&json.spec).unwrap();
    let member = built_pod(&json, 1, &committed(&json, 1, 0));
    assert_eq!(env(&member, "LOG_FORMAT").as_deref(), Some("json"));
    let apache = ensemble_with("  flavour: Apache\n  log:\n    format: json\n");
    let problems = validate(&apache.spec).unwrap_err().0;
    assert!(problems[0].contains("log.format json"), "{problems:?}");
    assert!(serde_yaml::from_str::<ZkEnsemble>(
        "apiVersion: zookeeper.zkops.dev/v1alpha1\nkind: ZkEnsemble\nmetadata: { name: d }\nspec:\n  log:\n    format: xml\n"
    )
    .is_err());
}

#[test]
fn reserved_and_malformed_settings_are_all_reported() {
    let zk = ensemble_with(
        "  replicas: 0
  server:
    minSessionTimeout: 9000
    maxSessionTimeout: 4000
    extraConfig:
      server.4: 'evil:2888:3888'
      dataDir: /tmp
      skipACL: 'yes'
      autopurge.purgeInterval: '1'
",
    );
    let problems = validate(&zk.spec).unwrap_err().0;
    assert_eq!(problems.len(), 5, "{problems:?}");
    for needle in [
        "replicas",
        "\"server.4\"",
        "\"dataDir\"",
        "\"skipACL\"",
        "minSessionTimeout",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{needle} not in {problems:?}"
        );
    }
}

#[test]
fn static_settings_enable_reconfig_and_never_bypass_acls() {
    let zk = ensemble_with(
        "  server:
    tickTime: 1000
    extraConfig: { autopurge.purgeInterval: '1' }
",
    );
    let text = static_config(&zk);
    for line in [
        "standaloneEnabled=false",
        "reconfigEnabled=true",
        "tickTime=1000",
        "autopurge.purgeInterval=1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    assert!(!text.contains("skipACL"));
    assert!(
        !text.contains("server."),
        "membership never goes into the static settings"
    );
    assert!(config_map(&zk).data.unwrap()["start.sh"].starts_with("#!/bin/sh"));
}

#[test]
fn a_joiner_pod_starts_from_the_committed_config_plus_itself() {
    let zk = minimal();
    let config = committed(&zk, 3, 0x1_0000_0004);
    let pod = built_pod(&zk, 4, &config.with_server(server_line(&zk, 4, DOMAIN)));
    let annotations = pod.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations[BOOTSTRAP_VERSION_ANNOTATION], "100000004");
    let servers: Vec<&str> = annotations[BOOTSTRAP_SERVERS_ANNOTATION].lines().collect();
    assert_eq!(servers.len(), 4);
    assert_eq!(
        servers[3],
        "server.4=demo-4.demo-headless.apps.svc.cluster.local:2888:3888:participant;0.0.0.0:2181"
    );
    assert_eq!(pod.metadata.name.as_deref(), Some("demo-4"));
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("demo-4"));
    assert_eq!(spec.subdomain.as_deref(), Some("demo-headless"));
    assert_eq!(env(&pod, "ZK_MY_ID").as_deref(), Some("4"));
}

#[test]
fn probes_use_the_admin_server_and_nothing_runs_nc() {
    let zk = minimal();
    let pod = built_pod(&zk, 1, &committed(&zk, 1, 0));
    let c = container(&pod);
    for probe in [
        c.readiness_probe.as_ref().unwrap(),
        c.liveness_probe.as_ref().unwrap(),
    ] {
        let http = probe.http_get.as_ref().expect("HTTP probe");
        assert_eq!(http.path.as_deref(), Some("/commands/ruok"));
        assert_eq!(
            http.port,
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8080)
        );
        assert!(probe.exec.is_none());
    }
    assert!(c.lifecycle.is_none(), "no reconfig in preStop hooks");
    let manifest = serde_json::to_string(&pod).unwrap();
    assert!(!manifest.contains(" nc ") && !manifest.contains("\"nc\""));
}

#[test]
fn members_run_as_non_root_with_config_on_their_volume() {
    let zk = ensemble_with("  flavour: Apache\n");
    let pod = built_pod(&zk, 2, &committed(&zk, 3, 1));
    let spec = pod.spec.as_ref().unwrap();
    let security = spec.security_context.as_ref().unwrap();
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.run_as_user, Some(1000));
    let c = container(&pod);
    let mounts = c.volume_mounts.as_ref().unwrap();
    let conf = mounts.iter().find(|m| m.mount_path == "/conf").unwrap();
    assert_eq!(
        (conf.name.as_str(), conf.sub_path.as_deref()),
        ("data", Some("conf"))
    );
    let data_volume = spec
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "data")
        .unwrap();
    assert_eq!(
        data_volume
            .persistent_volume_claim
            .as_ref()
            .unwrap()
            .claim_name,
        "data-demo-2"
    );
    let start = vec!["/bin/sh".to_string(), "/config/start.sh".to_string()];
    assert_eq!(
        (c.command.as_ref(), c.args.as_ref()),
        (None, Some(&start)),
        "the image's entrypoint runs the script"
    );
    let anti = spec
        .affinity
        .as_ref()
        .unwrap()
        .pod_anti_affinity
        .as_ref()
        .unwrap();
    assert!(
        anti.preferred_during_scheduling_ignored_during_execution
            .is_some(),
        "default spreads members"
    );
    let digest = c
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == "ZK_SUPER_DIGEST")
        .unwrap();
    assert_eq!(
        digest
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap()
            .key,
        DIGEST_KEY
    );
    assert!(
        env(&pod, "SERVER_JVMFLAGS")
            .unwrap()
            .contains("superDigest=$(ZK_SUPER_DIGEST)")
    );
}

#[test]
fn the_native_flavour_gets_its_digest_through_the_config_file() {
    let zk = ensemble_with("  image: zk-server:dev\n");
    let pod = built_pod(&zk, 1, &committed(&zk, 1, 0));
    assert_eq!(env(&pod, "ZK_FLAVOUR").as_deref(), Some("Native"));
    assert_eq!(env(&pod, "SERVER_JVMFLAGS"), None);
    let start = vec!["/bin/sh".to_string(), "/config/start.sh".to_string()];
    let c = container(&pod);
    assert_eq!((c.command.as_ref(), c.args.as_ref()), (Some(&start), None));
    assert!(
        !static_config(&zk).contains("metricsProvider"),
        "metrics are off by default"
    );
}

#[test]
fn native_members_serve_metrics_through_apaches_provider_settings() {
    let zk =
        ensemble_with("  image: zk-server:dev\n  metrics:\n    enabled: true\n    port: 7001\n");
    let config = static_config(&zk);
    assert!(
        config.contains(
            "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
        ),
        "{config}"
    );
    assert!(
        config.contains("metricsProvider.httpPort=7001\n"),
        "{config}"
    );
}

#[test]
fn the_pod_hash_follows_restart_worthy_changes_only() {
    let hash = |zk: &ZkEnsemble, config: &EnsembleConfig| {
        built_pod(zk, 1, config).metadata.annotations.unwrap()[POD_SPEC_HASH_ANNOTATION].clone()
    };
    let zk = minimal();
    let base = hash(&zk, &committed(&zk, 1, 0));
    assert_eq!(
        base,
        hash(&zk, &committed(&zk, 3, 7)),
        "membership never restarts a member"
    );
    let mut new_image = zk.clone();
    new_image.spec.image = Some("zk-server:0.2".into());
    assert_ne!(base, hash(&new_image, &committed(&zk, 1, 0)));
    let mut new_tick = zk.clone();
    new_tick.spec.server.tick_time = 3000;
    assert_ne!(base, hash(&new_tick, &committed(&zk, 1, 0)));
}

#[test]
fn retained_volumes_outlive_the_ensemble_and_deleted_ones_do_not() {
    let zk = minimal();
    let owned = volume_claim(&zk, 3);
    assert_eq!(owned.metadata.name.as_deref(), Some("data-demo-3"));
    assert_eq!(
        owned.metadata.owner_references.as_ref().unwrap()[0].name,
        "demo"
    );
    let mut retain = zk.clone();
    retain.spec.storage.reclaim_policy = zk_operator::types::PvcReclaimPolicy::Retain;
    assert!(volume_claim(&retain, 3).metadata.owner_references.is_none());
}

#[test]
fn services_and_budget() {
    let zk = minimal();
    let headless = headless_service(&zk).spec.unwrap();
    assert_eq!(headless.cluster_ip.as_deref(), Some("None"));
    assert_eq!(headless.publish_not_ready_addresses, Some(true));
    let metrics_port = |zk: &ZkEnsemble| {
        let ports = headless_service(zk).spec.unwrap().ports.unwrap();
        ports
            .into_iter()
            .find(|p| p.name.as_deref() == Some("metrics"))
            .map(|p| p.port)
    };
    assert_eq!(metrics_port(&zk), None, "metrics are off by default");
    let metered = ensemble_with("  metrics:\n    enabled: true\n    port: 7070\n");
    assert_eq!(metrics_port(&metered), Some(7070));
    let client = client_service(&zk).spec.unwrap();
    assert_eq!(client.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(client.ports.unwrap()[0].port, 2181);
    let max_unavailable =
        |zk: &ZkEnsemble| match disruption_budget(zk).spec.unwrap().max_unavailable {
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => n,
            other => panic!("maxUnavailable {other:?}"),
        };
    assert_eq!(max_unavailable(&zk), 1, "three members: one may go");
    let with = |spec: i32, committed: i32| {
        let mut zk = ensemble_with(&format!("  replicas: {spec}\n"));
        zk.status = Some(zk_operator::types::ZkEnsembleStatus {
            replicas: committed,
            ..Default::default()
        });
        max_unavailable(&zk)
    };
    assert_eq!(with(1, 0), 0, "a new one-member ensemble: none");
    assert_eq!(
        with(2, 2),
        0,
        "two members: none, a majority of two is both"
    );
    assert_eq!(with(3, 2), 0, "growing 2→3, not there yet: none");
    assert_eq!(with(1, 3), 0, "shrinking 3→1 as asked: none already");
    assert_eq!(with(5, 5), 1);
    assert_eq!(
        disruption_budget(&zk)
            .spec
            .unwrap()
            .unhealthy_pod_eviction_policy
            .as_deref(),
        Some("AlwaysAllow")
    );
}

/// Observers: `:observer` server lines from id 101, a label the observers' Service selects and the budget
/// leaves out, and a spec bound on their number.
#[test]
fn observers_have_their_own_lines_service_and_no_place_in_the_budget() {
    let zk = ensemble_with("  observers: 2\n");
    assert_eq!(zk.spec.observers, 2);
    assert_eq!(minimal().spec.observers, 0);
    validate(&zk.spec).unwrap();
    assert!(validate(&ensemble_with("  observers: 155\n").spec).is_err());
    assert!(validate(&ensemble_with("  observers: -1\n").spec).is_err());

    assert!(
        server_line(&zk, 3, DOMAIN)
            .spec()
            .ends_with(":participant;0.0.0.0:2181")
    );
    let observer = server_line(&zk, 101, DOMAIN);
    assert_eq!(
        observer.line(),
        "server.101=demo-101.demo-headless.apps.svc.cluster.local:2888:3888:observer;0.0.0.0:2181"
    );
    let joiner = built_pod(&zk, 101, &committed(&zk, 3, 7).with_server(observer));
    let labels = joiner.metadata.labels.clone().unwrap();
    assert_eq!(labels.get(OBSERVER_LABEL).map(String::as_str), Some("true"));
    let voter = built_pod(&zk, 3, &committed(&zk, 3, 7));
    assert!(!voter.metadata.labels.unwrap().contains_key(OBSERVER_LABEL));

    let service = observers_service(&zk);
    assert_eq!(service.metadata.name.as_deref(), Some("demo-observers"));
    let selector = service.spec.unwrap().selector.unwrap();
    assert!(
        selector.iter().all(|(k, v)| labels.get(k) == Some(v)),
        "the observers' Service selects the observer: {selector:?}"
    );
    let client = client_service(&zk).spec.unwrap().selector.unwrap();
    assert!(
        !client.contains_key(OBSERVER_LABEL),
        "clients reach every member"
    );

    let budget = disruption_budget(&zk).spec.unwrap().selector.unwrap();
    let excluded = budget.match_expressions.unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0].key, OBSERVER_LABEL);
    assert_eq!(excluded[0].operator, "DoesNotExist");
}

#[test]
fn the_super_digest_is_zookeepers() {
    // base64(sha1("super:secret")), computed independently.
    assert_eq!(super_digest("secret"), "super:lK75jTNcA+U9vtVEw5vB51mj/w4=");
    let secret = super_secret(&minimal(), "secret");
    assert_eq!(secret.metadata.name.as_deref(), Some("demo-super"));
    assert_eq!(
        secret.string_data.unwrap()[DIGEST_KEY],
        "super:lK75jTNcA+U9vtVEw5vB51mj/w4="
    );
}

/// An example manifest as `kubectl apply -n apps` would send it.
fn example(file: &str) -> ZkEnsemble {
    let path = format!("{}/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut zk = ensemble(&text);
    zk.metadata.namespace = Some("apps".into());
    zk
}

#[test]
fn the_default_example_runs_zk_server_members_of_the_operator_version() {
    let zk = example("demo.yaml");
    validate(&zk.spec).unwrap();
    assert_eq!(zk.spec.replicas, 3);
    assert_eq!(
        (zk.spec.flavour, zk.spec.image.as_deref()),
        (ServerFlavour::Native, None)
    );
    let image = DefaultImages::default().member_image(&zk);
    assert_eq!(image, native_image());
    check_image(&zk, &image).unwrap();
    let member = built_pod(&zk, 1, &committed(&zk, 1, 0));
    assert_eq!(env(&member, "ZK_FLAVOUR").as_deref(), Some("Native"));
}

#[test]
fn the_apache_example_runs_apache_members() {
    let zk = example("apache.yaml");
    validate(&zk.spec).unwrap();
    assert_eq!(zk.spec.flavour, ServerFlavour::Apache);
    let image = DefaultImages::default().member_image(&zk);
    check_image(&zk, &image).unwrap();
    assert!(static_config(&zk).contains("autopurge.purgeInterval=1\n"));
    let member = built_pod(&zk, 1, &committed(&zk, 1, 0));
    assert_eq!(container(&member).image.as_deref(), Some("zookeeper:3.8"));
}

#[test]
fn an_image_of_the_other_flavour_is_refused_unless_the_check_is_off() {
    let native_on_apache = ensemble_with("  image: zookeeper:3.8\n");
    let refused = check_image(&native_on_apache, "zookeeper:3.8").unwrap_err();
    let message = refused.to_string();
    for needle in [
        "zookeeper:3.8",
        "Apache ZooKeeper",
        "flavour is Native",
        SKIP_CHECK_ANNOTATION,
    ] {
        assert!(message.contains(needle), "{needle} not in {message}");
    }
    let apache_on_native = ensemble_with("  flavour: Apache\n  image: registry/zk-server:1\n");
    let refused = check_image(&apache_on_native, "registry/zk-server:1").unwrap_err();
    assert_eq!(refused.found_flavour, ServerFlavour::Native);
    let mut skipped = native_on_apache.clone();
    skipped.metadata.annotations =
        Some([(SKIP_CHECK_ANNOTATION.to_string(), "true".to_string())].into());
    check_image(&skipped, "zookeeper:3.8").unwrap();
    let unknown = ensemble_with("  image: registry/kv:1\n");
    check_image(&unknown, "registry/kv:1").unwrap();
}

#[test]
fn members_run_with_a_read_only_root_no_token_and_the_default_seccomp_profile() {
    for zk in [minimal(), ensemble_with("  flavour: Apache\n")] {
        let pod = built_pod(&zk, 1, &committed(&zk, 1, 0));
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.automount_service_account_token, Some(false));
        let security = container(&pod).security_context.as_ref().unwrap();
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(
            security.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            Some("RuntimeDefault")
        );
        // What the servers and their scripts write goes to the volume or to empty directories.
        let mounts: Vec<&str> = container(&pod)
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.mount_path.as_str())
            .collect();
        for path in ["/data", "/datalog", "/conf", "/tmp", "/logs"] {
            assert!(mounts.contains(&path), "{path} not writable: {mounts:?}");
        }
    }
    // A user's pod security context replaces the default one, but not the container's.
    let custom = ensemble_with("  pod:\n    securityContext: { runAsUser: 2000 }\n");
    let pod = built_pod(&custom, 1, &committed(&custom, 1, 0));
    let security = container(&pod).security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
}

#[test]
fn a_pod_records_the_credential_it_starts_with() {
    let zk = minimal();
    let pod = built_pod(&zk, 1, &committed(&zk, 1, 0));
    assert_eq!(
        pod.metadata.annotations.unwrap()[CREDENTIALS_ANNOTATION],
        CREDENTIALS
    );
    let before = credentials_fingerprint(&super_digest("old"));
    assert_ne!(before, credentials_fingerprint(&super_digest("new")));
    assert_eq!(before, credentials_fingerprint(&super_digest("old")));
}

#[test]
fn the_connection_string_names_the_client_service() {
    assert_eq!(
        client_service_host(&minimal(), DOMAIN),
        "demo-client.apps.svc.cluster.local"
    );
}

/// `spec.tls` with client TLS, mutual TLS between members and no plain client port.
fn tls_only() -> ZkEnsemble {
    ensemble_with("  tls:\n    client: true\n    quorum: true\n    plainClientPort: false\n")
}

fn port_names(ports: impl IntoIterator<Item = (Option<String>, i32)>) -> Vec<(String, i32)> {
    ports
        .into_iter()
        .map(|(name, port)| (name.unwrap_or_default(), port))
        .collect()
}

#[test]
fn tls_settings_point_the_servers_at_the_mounted_secret() {
    let zk = tls_only();
    validate(&zk.spec).unwrap();
    let text = static_config(&zk);
    let lines: Vec<&str> = text.lines().collect();
    for line in [
        "secureClientPort=2281",
        "ssl.keyStore.location=/tls/keystore.pem",
        "ssl.keyStore.type=PEM",
        "ssl.trustStore.location=/tls/ca.crt",
        "ssl.trustStore.type=PEM",
        "ssl.clientAuth=need",
        "sslQuorum=true",
        "ssl.quorum.keyStore.location=/tls/keystore.pem",
        "ssl.quorum.trustStore.location=/tls/ca.crt",
        "sslQuorumReloadCertFiles=true",
    ] {
        assert!(lines.contains(&line), "{line} missing from\n{text}");
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("clientPort=")),
        "no plain client port:\n{text}"
    );
    assert_eq!(
        server_line(&zk, 1, DOMAIN).line(),
        "server.1=demo-1.demo-headless.apps.svc.cluster.local:2888:3888:participant",
        "no plain client address in the membership"
    );

    let pod = built_pod(&zk, 1, &committed(&zk, 1, 0));
    let spec = pod.spec.as_ref().unwrap();
    let volume = spec
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "tls")
        .expect("a TLS volume");
    assert_eq!(
        volume.secret.as_ref().unwrap().secret_name.as_deref(),
        Some("demo-tls")
    );
    let tls_mount = container(&pod)
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.name == "tls")
        .expect("a TLS mount");
    assert_eq!(tls_mount.mount_path, "/tls");
    assert_eq!(
        tls_mount.sub_path, None,
        "a subPath mount would never see a renewal"
    );
    let pod_ports = port_names(
        container(&pod)
            .ports
            .clone()
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.container_port)),
    );
    assert!(pod_ports.contains(&("tls-client".into(), 2281)));
    assert!(!pod_ports.iter().any(|(_, port)| *port == 2181));

    let service_ports = |service: k8s_openapi::api::core::v1::Service| {
        port_names(
            service
                .spec
                .unwrap()
                .ports
                .unwrap()
                .into_iter()
                .map(|p| (p.name, p.port)),
        )
    };
    assert_eq!(
        service_ports(client_service(&zk)),
        [("tls-client".to_string(), 2281)]
    );
    let headless = service_ports(headless_service(&zk));
    assert!(headless.contains(&("tls-client".into(), 2281)));
    assert!(!headless.iter().any(|(_, port)| *port == 2181));
}

#[test]
fn client_tls_beside_the_plain_port_keeps_both_and_quorum_alone_opens_no_port() {
    let both = ensemble_with("  tls:\n    client: true\n    clientAuth: want\n");
    let text = static_config(&both);
    assert!(text.contains("clientPort=2181\n") && text.contains("secureClientPort=2281\n"));
    assert!(text.contains("ssl.clientAuth=want\n"));
    assert!(!text.contains("sslQuorum"));
    let ports: Vec<i32> = client_service(&both)
        .spec
        .unwrap()
        .ports
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, [2181, 2281]);
    assert!(
        server_line(&both, 1, DOMAIN)
            .line()
            .ends_with(";0.0.0.0:2181")
    );

    let quorum = ensemble_with("  tls:\n    quorum: true\n");
    let text = static_config(&quorum);
    assert!(text.contains("sslQuorum=true\n") && !text.contains("secureClientPort"));
    let pod = built_pod(&quorum, 1, &committed(&quorum, 1, 0));
    assert!(
        pod.spec
            .unwrap()
            .volumes
            .unwrap()
            .iter()
            .any(|v| v.name == "tls"),
        "members of a quorum over TLS mount the certificate"
    );

    let nothing = ensemble_with("  tls: {}\n");
    assert_eq!(static_config(&nothing), static_config(&minimal()));
}

#[test]
fn tls_without_a_client_port_is_refused() {
    let closed = ensemble_with("  tls:\n    plainClientPort: false\n");
    let problems = validate(&closed.spec).unwrap_err().0;
    assert!(
        problems.iter().any(|p| p.contains("tls.client")),
        "{problems:?}"
    );
}

#[test]
fn apache_members_serve_tls_through_netty_plain_text_on_loopback_only_and_skip_the_reverse_dns_check()
 {
    let apache = ensemble_with(
        "  flavour: Apache\n  tls:\n    client: true\n    quorum: true\n    plainClientPort: false\n",
    );
    validate(&apache.spec).unwrap();
    let text = static_config(&apache);
    let lines: Vec<&str> = text.lines().collect();
    for line in [
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
        "secureClientPort=2281",
        "ssl.keyStore.location=/tls/keystore.pem",
        "ssl.keyStore.type=PEM",
        "ssl.trustStore.location=/tls/ca.crt",
        "ssl.clientAuth=need",
        "sslQuorum=true",
        "ssl.quorum.keyStore.location=/tls/keystore.pem",
        "ssl.quorum.trustStore.type=PEM",
        "ssl.quorum.hostnameVerification=false",
    ] {
        assert!(lines.contains(&line), "{line} missing from\n{text}");
    }
    assert!(!lines.iter().any(|l| l.starts_with("clientPort=")));
    // Apache's reconfig needs a client address in each server line: the pod's loopback, plain text to no one
    // outside it. zk-server members have none.
    let client_address = |zk: &ZkEnsemble| server_line(zk, 1, DOMAIN).client_address;
    assert_eq!(client_address(&apache).as_deref(), Some("127.0.0.1:2181"));
    assert_eq!(client_address(&tls_only()), None);
    let pod = built_pod(&apache, 1, &committed(&apache, 1, 0));
    assert!(
        container(&pod)
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .any(|m| m.name == "tls" && m.mount_path == "/tls" && m.sub_path.is_none())
    );

    // Quorum TLS alone needs no Netty; zk-server members keep checking member host names.
    let quorum = ensemble_with("  flavour: Apache\n  tls:\n    quorum: true\n");
    let text = static_config(&quorum);
    assert!(text.contains("ssl.quorum.hostnameVerification=false\n"));
    assert!(!text.contains("serverCnxnFactory") && !text.contains("secureClientPort"));
    let native = static_config(&tls_only());
    assert!(!native.contains("hostnameVerification") && !native.contains("serverCnxnFactory"));
}

#[test]
fn a_tls_change_rolls_the_members() {
    let hash = |zk: &ZkEnsemble| {
        built_pod(zk, 1, &committed(zk, 1, 0))
            .metadata
            .annotations
            .unwrap()[POD_SPEC_HASH_ANNOTATION]
            .clone()
    };
    let plain = minimal();
    let client = ensemble_with("  tls:\n    client: true\n");
    let want = ensemble_with("  tls:\n    client: true\n    clientAuth: want\n");
    assert_ne!(hash(&plain), hash(&client));
    assert_ne!(hash(&client), hash(&want));
}
