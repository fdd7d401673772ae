//! The members of a benchmark deployment on loopback and the `zoo.cfg` each one starts from. Both flavours
//! read the same text: a single member runs standalone (`clientPort` only); an ensemble lists every member
//! as `server.N=host:quorumPort:electionPort;host:clientPort`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

/// Offset from a member's client port to its quorum port.
const QUORUM_PORT_OFFSET: u16 = 100;
/// Offset from a member's client port to its leader-election port.
const ELECTION_PORT_OFFSET: u16 = 200;

/// The ports one member listens on, all on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberPorts {
    /// Client connections and four-letter words.
    pub client: u16,
    /// Followers to the leader.
    pub quorum: u16,
    /// Leader election.
    pub election: u16,
}

/// The members of one deployment, numbered from 1 (their `myid`) in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    members: Vec<MemberPorts>,
}

impl Topology {
    /// `size` members on loopback: member `i` (from 0) gets client port `base_port + i`, quorum port 100
    /// above it and election port 200 above it.
    pub fn loopback(size: usize, base_port: u16) -> Self {
        let members = (0..size as u16)
            .map(|i| MemberPorts {
                client: base_port + i,
                quorum: base_port + QUORUM_PORT_OFFSET + i,
                election: base_port + ELECTION_PORT_OFFSET + i,
            })
            .collect();
        Topology { members }
    }

    /// The members, in `myid` order.
    pub fn members(&self) -> &[MemberPorts] {
        &self.members
    }

    /// More than one member: each needs a `myid` and the `server.N` lines.
    pub fn is_ensemble(&self) -> bool {
        self.members.len() > 1
    }

    /// The client address of every member.
    pub fn client_addrs(&self) -> Vec<SocketAddr> {
        self.members
            .iter()
            .map(|m| SocketAddr::from((Ipv4Addr::LOCALHOST, m.client)))
            .collect()
    }

    /// The `zoo.cfg` of member `index` (from 0), keeping its data and transaction log in `data_dir`.
    /// Defaults that matter for the measurement are left alone (fsync on every write batch); only what the
    /// harness itself needs is set: `ruok` allowed, no AdminServer port, no per-address connection limit.
    pub fn render(&self, index: usize, data_dir: &Path) -> String {
        let mut cfg = format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nmaxClientCnxns=0\n\
             admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,mntr\n",
            data_dir.display()
        );
        if self.is_ensemble() {
            for (i, m) in self.members.iter().enumerate() {
                let _ = writeln!(
                    cfg,
                    "server.{}=127.0.0.1:{}:{};127.0.0.1:{}",
                    i + 1,
                    m.quorum,
                    m.election,
                    m.client
                );
            }
        } else {
            let _ = writeln!(cfg, "clientPort={}", self.members[index].client);
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_member_is_standalone() {
        let t = Topology::loopback(1, 22181);
        assert!(!t.is_ensemble());
        assert_eq!(
            t.render(0, Path::new("/tmp/d")),
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/d\nmaxClientCnxns=0\n\
             admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,mntr\nclientPort=22181\n"
        );
    }

    #[test]
    fn ensemble_lists_every_member_with_its_client_address() {
        let t = Topology::loopback(3, 22181);
        assert!(t.is_ensemble());
        let cfg = t.render(1, Path::new("/d2"));
        assert!(cfg.contains("dataDir=/d2\n"));
        assert!(!cfg.contains("clientPort="));
        assert!(cfg.ends_with(
            "server.1=127.0.0.1:22281:22381;127.0.0.1:22181\n\
             server.2=127.0.0.1:22282:22382;127.0.0.1:22182\n\
             server.3=127.0.0.1:22283:22383;127.0.0.1:22183\n"
        ));
        assert_eq!(t.client_addrs()[2].to_string(), "127.0.0.1:22183");
    }
}
