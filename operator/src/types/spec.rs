//! `ZkEnsembleSpec`: the desired ensemble, with its schema defaults and validation rules.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, PodSecurityContext, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AuthSpec, BackupSpec, RestoreSpec, TlsSpec, ZkEnsembleStatus};

/// An elastic ZooKeeper ensemble whose membership is changed by dynamic reconfiguration, one member at a time.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "zookeeper.zkops.dev",
    version = "v1alpha1",
    kind = "ZkEnsemble",
    plural = "zkensembles",
    shortname = "zke",
    namespaced,
    status = "ZkEnsembleStatus",
    derive = "PartialEq",
    doc = "An elastic ZooKeeper ensemble scaled by dynamic reconfiguration.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".status.replicas","description":"Voting members in the committed configuration"}"#,
    printcolumn = r#"{"name":"Ready","type":"integer","jsonPath":".status.readyReplicas","description":"Members serving and in sync with the leader"}"#,
    printcolumn = r#"{"name":"Observers","type":"integer","jsonPath":".status.observers","description":"Observers (non-voting members) in the committed configuration"}"#,
    printcolumn = r#"{"name":"Leader","type":"string","jsonPath":".status.leader","description":"Pod of the current leader"}"#,
    printcolumn = r#"{"name":"Config","type":"string","jsonPath":".status.configVersion","description":"Committed dynamic configuration version"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.restoreFrom) || has(oldSelf.restoreFrom)").message(
    "restoreFrom can only be set when the ensemble is created: create a new ensemble to restore"
))]
#[x_kube(validation = Rule::new(
    "(has(self.tls) && self.tls.quorum) == (has(oldSelf.tls) && oldSelf.tls.quorum)"
).message("tls.quorum can only be chosen when the ensemble is created: create a new ensemble instead"))]
#[x_kube(validation = Rule::new(
    "(has(self.tls) && !self.tls.plainClientPort) == (has(oldSelf.tls) && !oldSelf.tls.plainClientPort)"
).message("tls.plainClientPort can only be chosen when the ensemble is created: create a new ensemble instead"))]
#[x_kube(validation = Rule::new(
    "(has(self.auth) && self.auth.quorum) == (has(oldSelf.auth) && oldSelf.auth.quorum)"
).message("auth.quorum can only be set when the ensemble is created: members that require quorum SASL and members without it cannot reach each other"))]
pub struct ZkEnsembleSpec {
    /// Number of voting members.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1))]
    pub replicas: i32,

    /// Number of observers: members that follow the leader and serve clients without voting, so reads scale
    /// without slowing writes. They get server ids from 101 up, their own client Service `<name>-observers`,
    /// and never count towards the quorum or the PodDisruptionBudget. Scaled independently of `replicas`.
    #[serde(default)]
    #[schemars(range(min = 0, max = 154))]
    pub observers: i32,

    /// Container image of the members. When absent, the operator's default for the flavour: for Native, this
    /// project's server image at the operator's version; for Apache, `zookeeper:3.8`. An image whose repository
    /// name shows the other flavour's server is refused (see the `ImageMismatch` condition reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,

    /// Image pull policy of the members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = "self in ['Always', 'IfNotPresent', 'Never']")]
    pub image_pull_policy: Option<String>,

    /// Which server runs in the image: this project's server (the default), or Apache ZooKeeper in the official
    /// image's layout. Immutable: members of the two servers cannot form one ensemble.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message(
        "flavour is immutable: members of the two servers cannot form one ensemble; create a new ensemble instead"
    ))]
    pub flavour: ServerFlavour,

    /// zoo.cfg settings that are not membership.
    #[serde(default)]
    pub server: ServerSettings,

    /// Resources of the ZooKeeper container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Per-member persistent volume.
    #[serde(default)]
    pub storage: StorageSpec,

    /// Additions to every member pod.
    #[serde(default)]
    pub pod: PodOverrides,

    /// The client Service.
    #[serde(default)]
    pub client_service: ClientServiceSpec,

    /// Prometheus metrics of the members.
    #[serde(default)]
    pub metrics: MetricsSpec,

    /// The members' log output.
    #[serde(default)]
    pub log: LogSpec,

    /// Super-user credentials.
    #[serde(default)]
    pub credentials: CredentialsSpec,

    /// TLS for clients and between members; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
    /// SASL authentication (clients, and members between themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,

    /// Scheduled backups to a volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,

    /// The data a new ensemble starts with (a backup or an Apache data directory). Set only at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message(
        "restoreFrom is immutable: it seeds a new ensemble; create a new ensemble to restore"
    ))]
    pub restore_from: Option<RestoreSpec>,
}

/// The server program in the member image.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ServerFlavour {
    /// Apache ZooKeeper 3.8+ in the official image's layout (`zkServer.sh start-foreground`).
    Apache,
    /// This project's server (`zk-server /conf/zoo.cfg`).
    #[default]
    Native,
}

/// zoo.cfg settings the user may change; a change rolls the members one at a time.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServerSettings {
    /// Basic time unit in milliseconds.
    #[serde(default = "default_tick_time")]
    #[schemars(range(min = 1))]
    pub tick_time: i32,

    /// Ticks a follower may take to connect and sync to the leader.
    #[serde(default = "default_init_limit")]
    #[schemars(range(min = 1))]
    pub init_limit: i32,

    /// Ticks a follower may lag behind the leader.
    #[serde(default = "default_sync_limit")]
    #[schemars(range(min = 1))]
    pub sync_limit: i32,

    /// Smallest session timeout granted to clients, in milliseconds (server default: 2 ticks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_session_timeout: Option<i32>,

    /// Largest session timeout granted to clients, in milliseconds (server default: 20 ticks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_session_timeout: Option<i32>,

    /// Further zoo.cfg keys. Keys the operator manages (membership, ports, paths, reconfig, ACL bypass) are
    /// rejected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new(
        "self.all(k, !k.startsWith('server.') && !k.startsWith('group.') && !k.startsWith('weight.') && \
         !(k in ['dataDir', 'dataLogDir', 'dynamicConfigFile', 'clientPort', 'clientPortAddress', \
         'secureClientPort', 'standaloneEnabled', 'reconfigEnabled', 'skipACL', 'tickTime', 'initLimit', \
         'syncLimit', 'minSessionTimeout', 'maxSessionTimeout', 'admin.serverPort', 'admin.enableServer', \
         '4lw.commands.whitelist', 'quorumListenOnAllIPs', 'metricsProvider.className', \
         'metricsProvider.httpPort']))"
    ).message("extraConfig may not set keys the operator manages"))]
    #[schemars(extend("maxProperties" = 64))]
    pub extra_config: BTreeMap<String, String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            tick_time: default_tick_time(),
            init_limit: default_init_limit(),
            sync_limit: default_sync_limit(),
            min_session_timeout: None,
            max_session_timeout: None,
            extra_config: BTreeMap::new(),
        }
    }
}

/// What happens to the volume of a member that was removed from the ensemble.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PvcReclaimPolicy {
    /// Delete the volume with the member.
    #[default]
    Delete,
    /// Keep the volume; it is never reused by a later member with the same id.
    Retain,
}

/// The persistent volume of each member; it holds the data, the transaction log and the config files.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Requested size, as a Kubernetes quantity.
    #[serde(default = "default_storage_size")]
    pub size: String,

    /// Storage class; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,

    /// What happens to a removed member's volume.
    #[serde(default)]
    pub reclaim_policy: PvcReclaimPolicy,
}

impl Default for StorageSpec {
    fn default() -> Self {
        Self {
            size: default_storage_size(),
            storage_class_name: None,
            reclaim_policy: PvcReclaimPolicy::default(),
        }
    }
}

/// Additions to the member pods.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodOverrides {
    /// Extra labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Affinity; replaces the default anti-affinity that spreads members over nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Topology spread constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// Priority class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Pod security context; replaces the default (non-root, uid/gid 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    /// Service account of the member pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

/// The Service clients connect through.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClientServiceSpec {
    /// Service type.
    #[serde(default = "default_service_type", rename = "type")]
    #[x_kube(validation = "self in ['ClusterIP', 'NodePort', 'LoadBalancer']")]
    pub type_: String,
    /// Service annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Default for ClientServiceSpec {
    fn default() -> Self {
        Self {
            type_: default_service_type(),
            annotations: BTreeMap::new(),
        }
    }
}

/// Prometheus metrics served by each member.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSpec {
    /// Serve metrics (`/metrics` in Prometheus' text format). zk-server serves them itself; Apache ZooKeeper
    /// needs the Prometheus metrics provider in the image (the official image has it, Debian's package does
    /// not, and ZooKeeper refuses to start without it), so it is off by default.
    #[serde(default)]
    pub enabled: bool,
    /// Port of the metrics endpoint.
    #[serde(default = "default_metrics_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        Self {
            enabled: false,
            port: default_metrics_port(),
        }
    }
}

/// How the members write their log (standard error, read with `kubectl logs`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogSpec {
    /// `text` (a line per event) or `json` (one JSON object a line, for log collectors); `json` needs
    /// zk-server members (`flavour: Native`). A change rolls the members one at a time.
    #[serde(default)]
    pub format: LogFormat,
}

/// The format of a member's log lines.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the super-user password comes from.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSpec {
    /// Secret with keys `password` and `digest`; `<name>-super` when absent. The operator generates it when it
    /// does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

fn default_replicas() -> i32 {
    3
}
fn default_tick_time() -> i32 {
    2000
}
fn default_init_limit() -> i32 {
    10
}
fn default_sync_limit() -> i32 {
    5
}
fn default_storage_size() -> String {
    "1Gi".to_string()
}
fn default_service_type() -> String {
    "ClusterIP".to_string()
}
fn default_metrics_port() -> i32 {
    7000
}
