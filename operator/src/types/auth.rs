//! `spec.auth`: SASL authentication of clients and, optionally, of members between themselves.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// SASL DIGEST-MD5 for clients (the `sasl` ACL scheme) and, with `quorum`, between members.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Secret in the ensemble's namespace whose keys are user names and values their passwords: the users of
    /// the members' JAAS `Server` section. A change to it restarts the members one at a time.
    #[schemars(length(min = 1))]
    pub sasl_users_secret: String,

    /// Members authenticate to each other with SASL DIGEST-MD5 (quorum SASL, required both ways), with a
    /// credential the operator generates in the Secret `<name>-quorum-sasl`. Set only at creation: members that
    /// require it and members without it cannot reach each other.
    #[serde(default)]
    pub quorum: bool,
}
