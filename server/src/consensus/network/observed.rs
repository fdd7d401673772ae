//! What this member observed of its peers: where their join requests came from (`JoinedFrom`),
//! and whether its latest attempt to reach each failed (`Reach`).
//!
//! A join request's source is the address a member is dialed at while the host of its server spec
//! does not resolve.
//!
//! On Kubernetes a member is named by its pod's record in a headless Service, which DNS publishes a
//! moment after the pod starts; a lookup made before that is answered "no such name", and the
//! cluster's DNS cache keeps that answer for seconds. A leader dials a joiner as soon as it adds it
//! as a learner, often within that moment, and the joiner would then wait out the cached answer
//! before anything is replicated to it. The joiner's join request arrives from its own address, so
//! the member that received it dials the joiner there until its host resolves. The host in the spec
//! stays the member's identity: the config lists it, and a TLS handshake checks the joiner's
//! certificate against it, whichever address the connection went to.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

/// Members whose latest connection attempt failed (refused, timed out, not resolved, or refused at
/// the TLS or SASL handshake), by id. A leader asked for a reconfig does not wait for such a member
/// to answer: it is not connected, as Apache's leader sees a server without a learner handler.
#[derive(Default)]
pub(crate) struct Reach {
    failed: Mutex<HashSet<u64>>,
}

impl Reach {
    /// Records the outcome of an attempt to connect to member `id`.
    pub(crate) fn note(&self, id: u64, connected: bool) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        match connected {
            true => failed.remove(&id),
            false => failed.insert(id),
        };
    }

    /// Whether the latest attempt to connect to member `id` failed.
    pub(crate) fn failed(&self, id: u64) -> bool {
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed.contains(&id)
    }
}

/// The address each member's latest join request came from, by member id.
#[derive(Default)]
pub(crate) struct JoinedFrom {
    by_id: Mutex<HashMap<u64, IpAddr>>,
}

impl JoinedFrom {
    /// Records that member `id` asked to join from `ip`.
    pub(crate) fn note(&self, id: u64, ip: IpAddr) {
        self.lock().insert(id, ip);
    }

    /// Where to dial member `id` instead of `addr` (`host:port`, whose host did not resolve): the
    /// port of `addr` at the address its join request came from, if one did.
    pub(crate) fn fallback(&self, id: u64, addr: &str) -> Option<SocketAddr> {
        let port = addr.rsplit_once(':')?.1.parse().ok()?;
        let ip = *self.lock().get(&id)?;
        Some(SocketAddr::new(ip, port))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, IpAddr>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::{JoinedFrom, Reach};

    #[test]
    fn the_latest_attempt_to_reach_a_member_decides() {
        let reach = Reach::default();
        assert!(!reach.failed(5));
        reach.note(5, false);
        assert!(reach.failed(5));
        assert!(!reach.failed(6));
        reach.note(5, true);
        assert!(!reach.failed(5));
    }

    #[test]
    fn a_member_is_dialed_on_its_configured_port_at_the_address_it_joined_from() {
        let joined = JoinedFrom::default();
        assert_eq!(joined.fallback(4, "zk-4.zk.invalid:2888"), None);
        joined.note(4, "10.1.2.3".parse().unwrap());
        assert_eq!(
            joined.fallback(4, "zk-4.zk.invalid:2888"),
            Some("10.1.2.3:2888".parse().unwrap())
        );
        assert_eq!(joined.fallback(5, "zk-5.zk.invalid:2888"), None);
        assert_eq!(joined.fallback(4, "no-port"), None);
        joined.note(4, "10.1.2.4".parse().unwrap());
        assert_eq!(
            joined.fallback(4, "zk-4.zk.invalid:2889"),
            Some("10.1.2.4:2889".parse().unwrap())
        );
    }
}
