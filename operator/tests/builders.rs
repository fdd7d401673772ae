//! Small inline `ZkEnsemble` manifests fed through the real validate and build code.

use k8s_openapi::api::core::v1::{Container, Pod};
use zk_operator::ensemble_config::EnsembleConfig;
use zk_operator::resources::config_map::{config_map, static_config};
use zk_operator::resources::meta::{
    BOOTSTRAP_SERVERS_ANNOTATION, BOOTSTRAP_VERSION_ANNOTATION, POD_SPEC_HASH_ANNOTATION,
    server_line,
};
use zk_operator::resources::pdb::disruption_budget;
use zk_operator::resources::pod::member_pod;
use zk_operator::resources::pvc::volume_claim;
use zk_operator::resources::secret::{DIGEST_KEY, super_digest, super_secret};
use zk_operator::resources::service::{client_service, headless_service};
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
    assert_eq!(zk.spec.image, "zookeeper:3.8");
    assert_eq!(zk.spec.flavour, ServerFlavour::Apache);
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
    let pod = member_pod(&zk, 4, &config.with_server(server_line(&zk, 4, DOMAIN)));
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
    let pod = member_pod(&zk, 1, &committed(&zk, 1, 0));
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
    let zk = minimal();
    let pod = member_pod(&zk, 2, &committed(&zk, 3, 1));
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
    let zk = ensemble_with("  flavour: Native\n  image: zk-server:dev\n");
    let pod = member_pod(&zk, 1, &committed(&zk, 1, 0));
    assert_eq!(env(&pod, "ZK_FLAVOUR").as_deref(), Some("Native"));
    assert_eq!(env(&pod, "SERVER_JVMFLAGS"), None);
    let start = vec!["/bin/sh".to_string(), "/config/start.sh".to_string()];
    let c = container(&pod);
    assert_eq!((c.command.as_ref(), c.args.as_ref()), (Some(&start), None));
    assert!(
        !static_config(&zk).contains("metricsProvider"),
        "the Java metrics provider is Apache-only"
    );
}

#[test]
fn the_pod_hash_follows_restart_worthy_changes_only() {
    let hash = |zk: &ZkEnsemble, config: &EnsembleConfig| {
        member_pod(zk, 1, config).metadata.annotations.unwrap()[POD_SPEC_HASH_ANNOTATION].clone()
    };
    let zk = minimal();
    let base = hash(&zk, &committed(&zk, 1, 0));
    assert_eq!(
        base,
        hash(&zk, &committed(&zk, 3, 7)),
        "membership never restarts a member"
    );
    let mut new_image = zk.clone();
    new_image.spec.image = "zookeeper:3.9".into();
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
    let client = client_service(&zk).spec.unwrap();
    assert_eq!(client.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(client.ports.unwrap()[0].port, 2181);
    let pdb = disruption_budget(&zk).spec.unwrap();
    assert_eq!(
        pdb.max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1))
    );
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

#[test]
fn the_example_manifest_is_a_valid_three_member_ensemble() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo.yaml"))
        .unwrap();
    let mut zk = ensemble(&text.replace("name: demo\n", "name: demo\n  namespace: apps\n"));
    validate(&zk.spec).unwrap();
    assert_eq!(zk.spec.replicas, 3);
    zk.metadata.namespace = Some("apps".into());
    assert!(static_config(&zk).contains("autopurge.purgeInterval=1\n"));
}
