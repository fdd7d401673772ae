//! The pod of one member, managed directly (no StatefulSet) so the operator decides which member goes and when.
//!
//! Built in two parts: [`pod_template`] holds everything whose change needs a restart, and its hash goes into an
//! annotation; [`member_pod`] adds the start-up config, which never causes a restart.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, DownwardAPIVolumeFile,
    DownwardAPIVolumeSource, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PersistentVolumeClaimVolumeSource, Pod, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, Probe, SeccompProfile, SecretKeySelector, SecretVolumeSource,
    SecurityContext, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config_map::{START_SCRIPT_KEY, static_config};
use super::meta::{
    ADMIN_PORT, BOOTSTRAP_SERVERS_ANNOTATION, BOOTSTRAP_VERSION_ANNOTATION, CREDENTIALS_ANNOTATION,
    POD_SPEC_HASH_ANNOTATION, config_map_name, headless_service_name, member_labels, member_ports,
    owned_meta, pod_name, pvc_name, secret_name, selector_labels, short_sha1,
};
use super::restore::{restore_env, restore_mount, restore_volume};
use super::sasl;
use super::secret::DIGEST_KEY;
use super::tls::{TLS_MOUNT, member_secret_name, tls_spec};
use crate::ensemble_config::EnsembleConfig;
use crate::types::{LogFormat, ServerFlavour, ZkEnsemble};

/// User and group the members run as (the official image's `zookeeper` user).
pub const MEMBER_UID: i64 = 1000;

/// The pod of member `id` running `image`, without its start-up config: everything whose change needs a restart.
pub fn pod_template(zk: &ZkEnsemble, id: u32, image: &str) -> Pod {
    let overrides = &zk.spec.pod;
    let mut labels = overrides.labels.clone();
    labels.extend(member_labels(zk, id));
    let mut metadata = owned_meta(zk, pod_name(zk, id), labels);
    if !overrides.annotations.is_empty() {
        metadata.annotations = Some(overrides.annotations.clone());
    }
    Pod {
        metadata,
        spec: Some(PodSpec {
            hostname: Some(pod_name(zk, id)),
            subdomain: Some(headless_service_name(zk)),
            containers: vec![server_container(zk, id, image)],
            volumes: Some(volumes(zk, id)),
            affinity: Some(
                overrides
                    .affinity
                    .clone()
                    .unwrap_or_else(|| spread_over_nodes(zk)),
            ),
            tolerations: (!overrides.tolerations.is_empty()).then(|| overrides.tolerations.clone()),
            node_selector: (!overrides.node_selector.is_empty())
                .then(|| overrides.node_selector.clone()),
            topology_spread_constraints: (!overrides.topology_spread_constraints.is_empty())
                .then(|| overrides.topology_spread_constraints.clone()),
            priority_class_name: overrides.priority_class_name.clone(),
            service_account_name: overrides.service_account_name.clone(),
            // Members never call the Kubernetes API.
            automount_service_account_token: Some(false),
            security_context: Some(overrides.security_context.clone().unwrap_or_else(|| {
                PodSecurityContext {
                    run_as_user: Some(MEMBER_UID),
                    run_as_group: Some(MEMBER_UID),
                    fs_group: Some(MEMBER_UID),
                    run_as_non_root: Some(true),
                    ..PodSecurityContext::default()
                }
            })),
            restart_policy: Some("Always".to_string()),
            termination_grace_period_seconds: Some(30),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// Hash of the template and of the static settings it runs with; a change means the member must restart.
pub fn pod_spec_hash(zk: &ZkEnsemble, template: &Pod) -> String {
    let template = serde_json::to_vec(template).expect("a pod serializes");
    short_sha1([template.as_slice(), static_config(zk).as_bytes()])
}

/// The pod of member `id` running `image`, with its start-up config `bootstrap` (the committed config, plus itself
/// for a joiner) and the fingerprint of the super credential it starts with.
pub fn member_pod(
    zk: &ZkEnsemble,
    id: u32,
    image: &str,
    credentials: &str,
    bootstrap: &EnsembleConfig,
) -> Pod {
    let mut pod = pod_template(zk, id, image);
    let hash = pod_spec_hash(zk, &pod);
    let servers: Vec<String> = bootstrap.servers.values().map(|s| s.line()).collect();
    let annotations = pod.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(POD_SPEC_HASH_ANNOTATION.to_string(), hash);
    annotations.insert(
        BOOTSTRAP_VERSION_ANNOTATION.to_string(),
        bootstrap.version_hex(),
    );
    annotations.insert(BOOTSTRAP_SERVERS_ANNOTATION.to_string(), servers.join("\n"));
    annotations.insert(CREDENTIALS_ANNOTATION.to_string(), credentials.to_string());
    pod
}

fn server_container(zk: &ZkEnsemble, id: u32, image: &str) -> Container {
    let mut env = vec![
        env_value("ZK_MY_ID", &id.to_string()),
        env_value("ZK_FLAVOUR", &format!("{:?}", zk.spec.flavour)),
        env_value("ZOOCFGDIR", "/conf"),
        EnvVar {
            name: "ZK_SUPER_DIGEST".to_string(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret_name(zk),
                    key: DIGEST_KEY.to_string(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
    ];
    if zk.spec.log.format == LogFormat::Json {
        env.push(env_value("LOG_FORMAT", "json"));
    }
    // Java flags, which zk-server reads from the same variable.
    let mut jvm_flags: Vec<String> = Vec::new();
    if zk.spec.flavour == ServerFlavour::Apache {
        jvm_flags.push(
            "-Dzookeeper.DigestAuthenticationProvider.superDigest=$(ZK_SUPER_DIGEST)".to_string(),
        );
    }
    jvm_flags.extend(sasl::jvm_flag(zk));
    if !jvm_flags.is_empty() {
        env.push(env_value("SERVER_JVMFLAGS", &jvm_flags.join(" ")));
    }
    env.extend(restore_env(zk, id));
    let ports = member_ports(zk)
        .into_iter()
        .map(|(name, number)| container_port(name, number))
        .collect();
    let start = vec!["/bin/sh".to_string(), format!("/config/{START_SCRIPT_KEY}")];
    Container {
        name: "zookeeper".to_string(),
        image: Some(image.to_string()),
        image_pull_policy: zk.spec.image_pull_policy.clone(),
        // The Apache image's entrypoint prepares its layout (log config, directories) and then runs its
        // arguments, so the script goes there; the native image's entrypoint is the server, so it is replaced.
        command: (zk.spec.flavour == ServerFlavour::Native).then(|| start.clone()),
        args: (zk.spec.flavour == ServerFlavour::Apache).then_some(start),
        env: Some(env),
        ports: Some(ports),
        resources: zk.spec.resources.clone(),
        // Probed every second from the first: a native member serves within milliseconds of its start, and
        // its pod turning Ready is the event that lets the operator add it (an Apache member's JVM needs a
        // few seconds; the probes that fail before it listens only delay readiness). Five failures in a row
        // (five seconds) take a member out of the client Service.
        readiness_probe: Some(ruok_probe(0, 1, 5)),
        liveness_probe: Some(ruok_probe(30, 10, 6)),
        volume_mounts: Some(
            [
                mount("data", "/data", Some("data")),
                mount("data", "/datalog", Some("datalog")),
                mount("data", "/conf", Some("conf")),
                mount("config", "/config", None),
                mount("bootstrap", "/bootstrap", None),
                mount("tmp", "/tmp", None),
                mount("logs", "/logs", None),
            ]
            .into_iter()
            .chain(restore_mount(zk, id))
            // The whole Secret, never a subPath: the kubelet updates it in place, and the server reloads it.
            .chain(tls_spec(zk).map(|_| VolumeMount {
                read_only: Some(true),
                ..mount(TLS_VOLUME, TLS_MOUNT, None)
            }))
            .chain(sasl::volume_mount(zk))
            .collect(),
        ),
        // The root file system stays read-only: the server writes only to its volume, and the JVM and Apache's
        // scripts to /tmp and /logs (empty directories).
        security_context: Some(restricted_container()),
        ..Container::default()
    }
}

/// The security context of every container the operator runs: read-only root file system, seccomp
/// `RuntimeDefault`, no capabilities, no privilege escalation.
pub fn restricted_container() -> SecurityContext {
    SecurityContext {
        read_only_root_filesystem: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            ..SeccompProfile::default()
        }),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

/// AdminServer `ruok`; answers as soon as the process serves, so it never restarts a member that is syncing.
fn ruok_probe(initial_delay: i32, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/commands/ruok".to_string()),
            port: IntOrString::Int(ADMIN_PORT),
            ..HTTPGetAction::default()
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

/// The volume of the members' TLS Secret, with `spec.tls`.
const TLS_VOLUME: &str = "tls";

fn volumes(zk: &ZkEnsemble, id: u32) -> Vec<Volume> {
    let annotation_file = |path: &str, annotation: &str| DownwardAPIVolumeFile {
        path: path.to_string(),
        field_ref: Some(ObjectFieldSelector {
            field_path: format!("metadata.annotations['{annotation}']"),
            ..ObjectFieldSelector::default()
        }),
        ..DownwardAPIVolumeFile::default()
    };
    let mut volumes = vec![
        Volume {
            name: "data".to_string(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: pvc_name(zk, id),
                read_only: Some(false),
            }),
            ..Volume::default()
        },
        Volume {
            name: "config".to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_map_name(zk),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        scratch("tmp"),
        scratch("logs"),
        Volume {
            name: "bootstrap".to_string(),
            downward_api: Some(DownwardAPIVolumeSource {
                items: Some(vec![
                    annotation_file("version", BOOTSTRAP_VERSION_ANNOTATION),
                    annotation_file("servers", BOOTSTRAP_SERVERS_ANNOTATION),
                ]),
                ..DownwardAPIVolumeSource::default()
            }),
            ..Volume::default()
        },
    ];
    volumes.extend(restore_volume(zk, id));
    volumes.extend(tls_spec(zk).map(|_| Volume {
        name: TLS_VOLUME.to_string(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(member_secret_name(zk)),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }));
    volumes.extend(sasl::volume(zk));
    volumes
}

/// An empty directory that lives as long as the pod.
fn scratch(name: &str) -> Volume {
    Volume {
        name: name.to_string(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

/// Default affinity: prefer one member per node (preferred, so a single-node cluster still runs an ensemble).
fn spread_over_nodes(zk: &ZkEnsemble) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector_labels(zk)),
                            ..LabelSelector::default()
                        }),
                        topology_key: "kubernetes.io/hostname".to_string(),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

fn env_value(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        ..EnvVar::default()
    }
}

fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        container_port: port,
        ..ContainerPort::default()
    }
}

fn mount(volume: &str, path: &str, sub_path: Option<&str>) -> VolumeMount {
    VolumeMount {
        name: volume.to_string(),
        mount_path: path.to_string(),
        sub_path: sub_path.map(str::to_string),
        ..VolumeMount::default()
    }
}
