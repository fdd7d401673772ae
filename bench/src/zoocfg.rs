//! The members of a deployment (on loopback, or one address each) and the `zoo.cfg` each one starts from.
//! Both flavours read the same text: a single member runs standalone (`clientPort` only); an ensemble lists
//! every member as `server.N=host:quorumPort:electionPort;host:clientPort`, an observer with `:observer`
//! after its election port (and `peerType=observer` in its own file, which Apache reads its role from).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use crate::tls::SECURE_PORT_OFFSET;

/// Offset from a member's client port to its quorum port.
const QUORUM_PORT_OFFSET: u16 = 100;
/// Offset from a member's client port to its leader-election port.
const ELECTION_PORT_OFFSET: u16 = 200;

/// The address and ports one member listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberPorts {
    /// The member's address (all its ports are on it).
    pub host: Ipv4Addr,
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
    /// How many of the last members are observers.
    observers: usize,
    settings: String,
    /// Whether each member also serves TLS on `secureClientPort` ([`SECURE_PORT_OFFSET`] above its client
    /// port).
    secure: bool,
}

impl Topology {
    /// `size` members on loopback: member `i` (from 0) gets client port `base_port + i`, quorum port 100
    /// above it and election port 200 above it.
    pub fn loopback(size: usize, base_port: u16) -> Self {
        let members = (0..size as u16)
            .map(|i| MemberPorts {
                host: Ipv4Addr::LOCALHOST,
                client: base_port + i,
                quorum: base_port + QUORUM_PORT_OFFSET + i,
                election: base_port + ELECTION_PORT_OFFSET + i,
            })
            .collect();
        Topology {
            members,
            observers: 0,
            settings: String::new(),
            secure: false,
        }
    }

    /// One member on each of `hosts`, all with Apache's usual ports (client 2181, quorum 2888, election
    /// 3888).
    pub fn on_hosts(hosts: &[Ipv4Addr]) -> Self {
        let members = hosts
            .iter()
            .map(|&host| MemberPorts {
                host,
                client: 2181,
                quorum: 2888,
                election: 3888,
            })
            .collect();
        Topology {
            members,
            observers: 0,
            settings: String::new(),
            secure: false,
        }
    }

    /// The same members, every `zoo.cfg` also carrying `settings` (`key=value` lines).
    pub fn with_settings(mut self, settings: &str) -> Self {
        self.settings = settings.to_owned();
        self
    }

    /// The same members, each also serving TLS on its `secureClientPort`, [`SECURE_PORT_OFFSET`] above its
    /// client port (the TLS settings themselves come through [`Topology::with_settings`]).
    pub fn with_secure_ports(mut self) -> Self {
        self.secure = true;
        self
    }

    /// The same members, the last `observers` of them observers (voters first, then observers, in `myid`
    /// order).
    pub fn with_observers(mut self, observers: usize) -> Self {
        self.observers = observers.min(self.members.len().saturating_sub(1));
        self
    }

    /// Whether member `index` (from 0) is an observer.
    fn is_observer(&self, index: usize) -> bool {
        index >= self.members.len() - self.observers
    }

    /// The client addresses a load's sessions connect to: the observers' when there are any (reads
    /// scaled out), else every member's.
    pub fn load_addrs(&self) -> Vec<SocketAddr> {
        let all = self.client_addrs();
        let first = if self.observers > 0 {
            self.members.len() - self.observers
        } else {
            0
        };
        all[first..].to_vec()
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
            .map(|m| SocketAddr::from((m.host, m.client)))
            .collect()
    }

    /// The `zoo.cfg` of member `index` (from 0), keeping its data and transaction log in `data_dir`.
    /// Defaults that matter for the measurement are left alone (fsync on every write batch); only what the
    /// harness itself needs is set: `ruok` allowed, no AdminServer port, no per-address connection limit.
    pub fn render(&self, index: usize, data_dir: &Path) -> String {
        let mut cfg = if self.is_ensemble() {
            let everyone: Vec<usize> = (0..self.members.len()).collect();
            let mut cfg = self.render_listing(data_dir, &everyone);
            if self.is_observer(index) {
                cfg.push_str("peerType=observer\n");
            }
            cfg
        } else {
            let mut cfg = self.common(data_dir);
            let _ = writeln!(cfg, "clientPort={}", self.members[index].client);
            cfg
        };
        if self.secure {
            let port = self.members[index].client + SECURE_PORT_OFFSET;
            let _ = writeln!(cfg, "secureClientPort={port}");
        }
        cfg
    }

    /// A `zoo.cfg` keeping its data in `data_dir` that lists only the members `listed` (indices, from 0)
    /// as `server.N` lines: for an ensemble whose membership changes by reconfig, where a member starts
    /// from the servers it is told about.
    pub fn render_listing(&self, data_dir: &Path, listed: &[usize]) -> String {
        let mut cfg = self.common(data_dir);
        for &i in listed {
            let _ = writeln!(cfg, "{}", self.server_line(i));
        }
        cfg
    }

    /// Member `index`'s `server.N=host:quorumPort:electionPort;host:clientPort` line.
    pub fn server_line(&self, index: usize) -> String {
        let m = &self.members[index];
        let role = if self.is_observer(index) {
            ":observer"
        } else {
            ""
        };
        format!(
            "server.{}={host}:{}:{}{role};{host}:{}",
            index + 1,
            m.quorum,
            m.election,
            m.client,
            host = m.host,
        )
    }

    /// The settings every member has.
    fn common(&self, data_dir: &Path) -> String {
        let mut cfg = format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nmaxClientCnxns=0\n\
             admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,mntr\n",
            data_dir.display()
        );
        cfg.push_str(&self.settings);
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

    #[test]
    fn observers_are_the_last_members_and_the_loads_only_addresses() {
        let t = Topology::loopback(5, 22181).with_observers(2);
        let voter = t.render(0, Path::new("/d1"));
        let observer = t.render(4, Path::new("/d5"));
        for cfg in [&voter, &observer] {
            assert!(cfg.contains(
                "server.3=127.0.0.1:22283:22383;127.0.0.1:22183\n\
                 server.4=127.0.0.1:22284:22384:observer;127.0.0.1:22184\n\
                 server.5=127.0.0.1:22285:22385:observer;127.0.0.1:22185\n"
            ));
        }
        assert!(!voter.contains("peerType"));
        assert!(observer.ends_with("peerType=observer\n"));
        let load: Vec<String> = t.load_addrs().iter().map(ToString::to_string).collect();
        assert_eq!(load, ["127.0.0.1:22184", "127.0.0.1:22185"]);
        assert_eq!(Topology::loopback(3, 22181).load_addrs().len(), 3);
    }

    #[test]
    fn secure_ports_are_each_members_own() {
        let t = Topology::loopback(3, 22181).with_secure_ports();
        assert!(
            t.render(1, Path::new("/d2"))
                .ends_with("secureClientPort=22482\n")
        );
        let single = Topology::loopback(1, 22181).with_secure_ports();
        assert!(
            single
                .render(0, Path::new("/d1"))
                .ends_with("clientPort=22181\nsecureClientPort=22481\n")
        );
        assert!(
            !Topology::loopback(1, 22181)
                .render(0, Path::new("/d1"))
                .contains("secure")
        );
    }

    #[test]
    fn members_on_their_own_hosts_share_the_usual_ports() {
        let hosts = [Ipv4Addr::new(10, 1, 0, 11), Ipv4Addr::new(10, 1, 0, 12)];
        let t = Topology::on_hosts(&hosts).with_settings("syncLimit=2\n");
        let cfg = t.render(0, Path::new("/d1"));
        assert!(cfg.contains("dataDir=/d1\n"));
        assert!(cfg.ends_with(
            "syncLimit=2\n\
             server.1=10.1.0.11:2888:3888;10.1.0.11:2181\n\
             server.2=10.1.0.12:2888:3888;10.1.0.12:2181\n"
        ));
        assert_eq!(t.client_addrs()[1].to_string(), "10.1.0.12:2181");
    }
}
