//! What the fuzz targets share: a fresh state machine configured as a member of an ensemble
//! (so reconfig and `/zookeeper/config` are reachable), with ACLs checked and TTL nodes allowed.

use zk_server::acl::{AclPolicy, SaslScheme};
use zk_server::state::{Settings, ZkState};

/// A fresh state machine.
pub fn state() -> ZkState {
    ZkState::new(Settings {
        acl: AclPolicy {
            skip_acl: false,
            sasl: Some(SaslScheme::default()),
        },
        extended_types: true,
        reconfig_enabled: true,
        distributed: true,
    })
}
