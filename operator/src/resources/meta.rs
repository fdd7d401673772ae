//! Names, labels, annotations and ports shared by every object of an ensemble.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};
use sha1::{Digest, Sha1};

use crate::ensemble_config::{ServerLine, ServerRole};
use crate::member_ids::is_observer_id;
use crate::types::{ServerFlavour, ZkEnsemble};

/// ZooKeeper client port.
pub const CLIENT_PORT: i32 = 2181;
/// Client port over TLS (`secureClientPort`), with `spec.tls.client`.
pub const SECURE_CLIENT_PORT: i32 = 2281;
/// Follower-to-leader port.
pub const QUORUM_PORT: i32 = 2888;
/// Leader-election port.
pub const ELECTION_PORT: i32 = 3888;
/// AdminServer HTTP port (probes use `/commands/ruok`).
pub const ADMIN_PORT: i32 = 8080;

/// Whether members serve the plain client port: unless `spec.tls.plainClientPort` is false.
pub fn plain_client_port(zk: &ZkEnsemble) -> bool {
    zk.spec.tls.as_ref().is_none_or(|tls| tls.plain_client_port)
}

/// The client ports a member serves: `client` (plain) unless `spec.tls.plainClientPort` is false, `tls-client`
/// with `spec.tls.client`.
pub fn client_ports(zk: &ZkEnsemble) -> Vec<(&'static str, i32)> {
    let mut ports = Vec::new();
    if plain_client_port(zk) {
        ports.push(("client", CLIENT_PORT));
    }
    if zk.spec.tls.as_ref().is_some_and(|tls| tls.client) {
        ports.push(("tls-client", SECURE_CLIENT_PORT));
    }
    ports
}

/// The named ports a member listens on, `metrics` among them when `spec.metrics.enabled`: the pod declares
/// them and the headless Service names them.
pub fn member_ports(zk: &ZkEnsemble) -> Vec<(&'static str, i32)> {
    let mut ports = client_ports(zk);
    ports.extend([
        ("quorum", QUORUM_PORT),
        ("election", ELECTION_PORT),
        ("admin", ADMIN_PORT),
    ]);
    if zk.spec.metrics.enabled {
        ports.push(("metrics", zk.spec.metrics.port));
    }
    ports
}

/// Label holding the member's server id.
pub const MEMBER_ID_LABEL: &str = "zookeeper.zkops.dev/member-id";
/// Label set (to `"true"`) on an observer's pod and volume; voters do not carry it.
pub const OBSERVER_LABEL: &str = "zookeeper.zkops.dev/observer";
/// Label set on a retained volume of a removed member; such a volume is never reused.
pub const RELEASED_LABEL: &str = "zookeeper.zkops.dev/released";
/// Annotation: hexadecimal version of the committed config the pod's start-up config comes from.
pub const BOOTSTRAP_VERSION_ANNOTATION: &str = "zookeeper.zkops.dev/bootstrap-version";
/// Annotation: the server lines of the pod's start-up config.
pub const BOOTSTRAP_SERVERS_ANNOTATION: &str = "zookeeper.zkops.dev/bootstrap-servers";
/// Annotation: fingerprint of the super digest the member started with.
pub const CREDENTIALS_ANNOTATION: &str = "zookeeper.zkops.dev/credentials";
/// Annotation: hash of everything in the pod that needs a restart to change.
pub const POD_SPEC_HASH_ANNOTATION: &str = "zookeeper.zkops.dev/pod-spec-hash";

/// The first eight bytes, in hexadecimal, of the SHA-1 of `parts` in turn: a short fingerprint recorded in
/// annotations.
pub fn short_sha1<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Name of the pod of member `id`.
pub fn pod_name(zk: &ZkEnsemble, id: u32) -> String {
    format!("{}-{id}", zk.name_any())
}

/// Name of the volume claim of member `id`.
pub fn pvc_name(zk: &ZkEnsemble, id: u32) -> String {
    format!("data-{}-{id}", zk.name_any())
}

/// Name of the headless Service that gives members stable DNS names.
pub fn headless_service_name(zk: &ZkEnsemble) -> String {
    format!("{}-headless", zk.name_any())
}

/// Name of the client Service.
pub fn client_service_name(zk: &ZkEnsemble) -> String {
    format!("{}-client", zk.name_any())
}

/// Name of the client Service that routes to the observers only.
pub fn observers_service_name(zk: &ZkEnsemble) -> String {
    format!("{}-observers", zk.name_any())
}

/// DNS name of the client Service.
pub fn client_service_host(zk: &ZkEnsemble, cluster_domain: &str) -> String {
    format!(
        "{}.{}.svc.{cluster_domain}",
        client_service_name(zk),
        zk.namespace().unwrap_or_default()
    )
}

/// Name of the ConfigMap with the static settings and the start script.
pub fn config_map_name(zk: &ZkEnsemble) -> String {
    format!("{}-config", zk.name_any())
}

/// Name of the Secret with the super-user password and digest.
pub fn secret_name(zk: &ZkEnsemble) -> String {
    zk.spec
        .credentials
        .secret_name
        .clone()
        .unwrap_or_else(|| format!("{}-super", zk.name_any()))
}

/// Labels that select every member pod of the ensemble.
pub fn selector_labels(zk: &ZkEnsemble) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "zookeeper".to_string(),
        ),
        ("app.kubernetes.io/instance".to_string(), zk.name_any()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            "zk-operator".to_string(),
        ),
    ])
}

/// The selector labels as a label-selector string (`status.selector`, list calls).
pub fn selector_string(zk: &ZkEnsemble) -> String {
    selector_labels(zk)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Labels of the pod and volume of member `id`; an observer's carry [`OBSERVER_LABEL`] too.
pub fn member_labels(zk: &ZkEnsemble, id: u32) -> BTreeMap<String, String> {
    let mut labels = selector_labels(zk);
    labels.insert(MEMBER_ID_LABEL.to_string(), id.to_string());
    if is_observer_id(id) {
        labels.extend(observer_labels());
    }
    labels
}

/// The label that marks observers.
pub fn observer_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(OBSERVER_LABEL.to_string(), "true".to_string())])
}

/// Metadata of an object owned by the ensemble (garbage-collected with it).
pub fn owned_meta(zk: &ZkEnsemble, name: String, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: zk.namespace(),
        labels: Some(labels),
        owner_references: zk.controller_owner_ref(&()).map(|r| vec![r]),
        ..ObjectMeta::default()
    }
}

/// Stable DNS name of member `id` through the headless Service.
pub fn member_host(zk: &ZkEnsemble, id: u32, cluster_domain: &str) -> String {
    format!(
        "{}.{}.{}.svc.{cluster_domain}",
        pod_name(zk, id),
        headless_service_name(zk),
        zk.namespace().unwrap_or_default()
    )
}

/// The `server.N=` line of member `id`: an observer for an id of the observers' range, otherwise a voting
/// participant; its client address is [`line_client_address`].
pub fn server_line(zk: &ZkEnsemble, id: u32, cluster_domain: &str) -> ServerLine {
    ServerLine {
        id,
        host: member_host(zk, id, cluster_domain),
        quorum_port: QUORUM_PORT as u16,
        election_port: ELECTION_PORT as u16,
        role: if is_observer_id(id) {
            ServerRole::Observer
        } else {
            ServerRole::Participant
        },
        client_address: line_client_address(zk),
    }
}

/// The client address of a member's `server.N` line: the plain port on every interface; with the plain port
/// off, none for zk-server members and the pod's loopback interface for Apache members. Apache's reconfig
/// refuses a joining server line without a client address ("each server should have 3 ports specified"), and
/// a server line's client address is a port Apache serves in plain text, so there it serves no one outside the
/// member's own pod.
pub fn line_client_address(zk: &ZkEnsemble) -> Option<String> {
    match (plain_client_port(zk), zk.spec.flavour) {
        (true, _) => Some(format!("0.0.0.0:{CLIENT_PORT}")),
        (false, ServerFlavour::Apache) => Some(format!("127.0.0.1:{CLIENT_PORT}")),
        (false, ServerFlavour::Native) => None,
    }
}
