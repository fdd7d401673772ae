//! `ZkEnsembleStatus`: what the operator observed and the step it is carrying out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Observed state of a `ZkEnsemble`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ZkEnsembleStatus {
    /// Voting members in the committed configuration.
    #[serde(default)]
    pub replicas: i32,
    /// Voting members serving and in sync with the leader.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Observers in the committed configuration.
    #[serde(default)]
    pub observers: i32,
    /// Observers serving and in sync with the leader.
    #[serde(default)]
    pub ready_observers: i32,
    /// Label selector of the member pods, for the scale subresource and autoscalers.
    #[serde(default)]
    pub selector: String,
    /// Every member pod the operator manages.
    #[serde(default)]
    pub members: Vec<MemberStatus>,
    /// Pod of the current leader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// Where clients connect: the client Service's `host:port` (its TLS port when the plain one is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<String>,
    /// Committed dynamic configuration version (hexadecimal, as in `/zookeeper/config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_version: Option<String>,
    /// Generation of the spec this status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing and Degraded.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The step in progress; absent when the ensemble matches its spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepStatus>,
    /// The last backup seen complete (`spec.backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<super::BackupStatus>,
}

/// One member as last observed.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// Server id (`myid`).
    pub id: u32,
    /// Pod name.
    pub pod: String,
    /// Role reported by the server (leader, follower, observer), or `unknown`.
    pub role: String,
    /// Whether the member is connected to the leader and caught up.
    pub synced: bool,
    /// Whether the member votes in the committed configuration.
    pub voting: bool,
}

/// The step the operator is carrying out, recorded so that a restarted operator reports and resumes it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// Kind of step, e.g. `AddMember`.
    pub action: String,
    /// Server id the step is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<u32>,
    /// Human-readable detail.
    pub message: String,
    /// When the step started (RFC 3339).
    pub started_at: String,
}

/// Kind of a status condition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionType {
    /// Every member votes, is synced, and the count matches the spec.
    Ready,
    /// A step is under way.
    Progressing,
    /// Something prevents progress; the reason says what.
    Degraded,
}

/// Truth value of a condition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known.
    Unknown,
}

/// A status condition in the usual Kubernetes shape.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Ready, Progressing or Degraded.
    #[serde(rename = "type")]
    pub type_: ConditionType,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// Machine-readable reason in PascalCase.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: String,
    /// Generation the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
