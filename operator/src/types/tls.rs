//! `spec.tls`: TLS for clients on the secure client port and mutual TLS between members.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// TLS of the members. The certificates come from `secretName` (keys `tls.crt`, `tls.key`, `ca.crt`, the layout
/// cert-manager writes), or, without it, from the operator's own authority: it keeps a CA in the Secret
/// `<name>-ca` and issues the members' certificate into `<name>-tls`, renewed when a third of its lifetime is
/// left. zk-server members reload renewed files without a restart; Apache members (Apache ZooKeeper 3.8.0 reads
/// its client stores once) are restarted one at a time.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.client || self.plainClientPort").message(
    "tls.plainClientPort false turns the only client port off: it needs tls.client true"
))]
pub struct TlsSpec {
    /// Serve clients over TLS on the secure client port (2281).
    #[serde(default)]
    pub client: bool,

    /// Keep the plain client port (2181). `false` leaves clients the TLS port only, and needs `client`; it can
    /// only be chosen when the ensemble is created (the members' client addresses are part of the membership).
    #[serde(default = "default_plain_client_port")]
    pub plain_client_port: bool,

    /// Members talk to each other over mutual TLS (`sslQuorum`). Chosen when the ensemble is created: a member
    /// over TLS and one in plain text cannot reach each other.
    #[serde(default)]
    pub quorum: bool,

    /// Whether clients on the TLS port must present a certificate the CA vouches for: `need` (Apache
    /// ZooKeeper's default), `want` (checked when offered) or `none`.
    #[serde(default)]
    pub client_auth: ClientAuth,

    /// A Secret of the user with `tls.crt`, `tls.key` and `ca.crt`; its certificate must name every member
    /// (`*.<name>-headless.<namespace>.svc.<cluster domain>`) for both server and client use. When absent, the
    /// operator issues one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

impl Default for TlsSpec {
    fn default() -> Self {
        Self {
            client: false,
            plain_client_port: default_plain_client_port(),
            quorum: false,
            client_auth: ClientAuth::default(),
            secret_name: None,
        }
    }
}

/// Whether a client on the TLS port must present a certificate (Apache's `ssl.clientAuth`).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// No certificate is asked for.
    None,
    /// A certificate is checked when the client presents one.
    Want,
    /// Every client presents a certificate the CA vouches for.
    #[default]
    Need,
}

impl ClientAuth {
    /// The value of Apache's `ssl.clientAuth`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Want => "want",
            ClientAuth::Need => "need",
        }
    }
}

fn default_plain_client_port() -> bool {
    true
}
