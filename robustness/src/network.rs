//! A private network for the members of one ensemble, made of Linux network namespaces, so that a test can
//! cut a member off from its peers the way a real network fault does — while the test's clients still
//! reach every member.
//!
//! Layout: a hub namespace holds a bridge; each member has a namespace of its own with one interface on
//! the bridge and the address `10.213.<net>.<10 + id>`; this process's namespace joins the bridge too,
//! as `10.213.<net>.1`. A partition drops, inside a member's namespace, every packet to or from the
//! addresses of the members it is cut off from; client traffic (from `.1`) still flows. Nothing is
//! routed or filtered in this process's namespace, and dropping the [`Network`] deletes every namespace
//! (with them the bridge and the interfaces).
//!
//! Needs root (CAP_NET_ADMIN), `ip` (iproute2) and `iptables`.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Prefix of every namespace this module creates; stale ones (their creator gone) are removed.
const NETNS_PREFIX: &str = "zkr";

/// Why the network could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A command could not be run at all.
    #[error("{command}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// A command failed.
    #[error("{command} failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// No free subnet was found.
    #[error("no free 10.213.x.0/24 subnet")]
    NoSubnet,
}

/// Counts networks made by this process, to name them apart.
static NETWORKS: AtomicU32 = AtomicU32::new(0);
/// Held while a network picks its subnet and puts its address on it, so that two tests of one process
/// never pick the same.
static CREATING: Mutex<()> = Mutex::new(());

/// The namespaces, bridge and addresses of one ensemble's network; deleted on drop.
#[derive(Debug)]
pub struct Network {
    /// Names this network's namespaces and interfaces apart from others'.
    tag: String,
    /// The third octet of the subnet.
    net: u8,
    /// How many members.
    size: usize,
}

/// Runs `args` (a program and its arguments) and fails with its stderr if it fails.
fn run(args: &[&str]) -> Result<String, NetworkError> {
    let command = args.join(" ");
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|source| NetworkError::Spawn {
            command: command.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(NetworkError::Failed {
            command,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Network {
    /// Makes a network for members `1..=size`.
    pub fn new(size: usize) -> Result<Self, NetworkError> {
        let _creating = CREATING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        remove_stale();
        let pid = std::process::id();
        let serial = NETWORKS.fetch_add(1, Ordering::Relaxed);
        let net = free_subnet()?;
        let network = Network {
            tag: format!("{:x}", (pid << 4 | (serial & 0xf)) & 0xff_ffff),
            net,
            size,
        };
        // On failure, dropping `network` deletes what was made.
        network.create()?;
        Ok(network)
    }

    /// The namespace of the hub (the bridge).
    fn hub(&self) -> String {
        format!("{NETNS_PREFIX}-{}-{}-hub", self.tag, std::process::id())
    }

    /// The namespace member `id` runs in.
    pub fn netns(&self, id: usize) -> String {
        format!("{NETNS_PREFIX}-{}-{}-m{id}", self.tag, std::process::id())
    }

    /// The address of member `id`.
    pub fn addr(&self, id: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.net, 10 + id as u8)
    }

    /// Every member's address, in id order.
    pub fn addrs(&self) -> Vec<Ipv4Addr> {
        (1..=self.size).map(|id| self.addr(id)).collect()
    }

    /// Every member's namespace, in id order.
    pub fn namespaces(&self) -> Vec<String> {
        (1..=self.size).map(|id| self.netns(id)).collect()
    }

    fn create(&self) -> Result<(), NetworkError> {
        let hub = self.hub();
        run(&["ip", "netns", "add", &hub])?;
        run(&["ip", "-n", &hub, "link", "set", "lo", "up"])?;
        run(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &hub, "link", "set", "br0", "up"])?;
        // This process's end: an address on the bridge's segment, nothing else.
        let local = format!("zr{}", self.tag);
        let local_peer = format!("zq{}", self.tag);
        run(&[
            "ip",
            "link",
            "add",
            &local,
            "type",
            "veth",
            "peer",
            "name",
            &local_peer,
            "netns",
            &hub,
        ])?;
        run(&[
            "ip",
            "-n",
            &hub,
            "link",
            "set",
            &local_peer,
            "master",
            "br0",
            "up",
        ])?;
        let local_addr = format!("10.213.{}.1/24", self.net);
        run(&["ip", "addr", "add", &local_addr, "dev", &local])?;
        run(&["ip", "link", "set", &local, "up"])?;
        for id in 1..=self.size {
            let ns = self.netns(id);
            let inside = format!("zm{}{id}", self.tag);
            let outside = format!("zh{}{id}", self.tag);
            run(&["ip", "netns", "add", &ns])?;
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
            run(&[
                "ip", "link", "add", &inside, "netns", &ns, "type", "veth", "peer", "name",
                &outside, "netns", &hub,
            ])?;
            run(&[
                "ip", "-n", &hub, "link", "set", &outside, "master", "br0", "up",
            ])?;
            let addr = format!("{}/24", self.addr(id));
            run(&["ip", "-n", &ns, "addr", "add", &addr, "dev", &inside])?;
            run(&["ip", "-n", &ns, "link", "set", &inside, "up"])?;
        }
        Ok(())
    }

    /// Cuts member `id` off from the members `others`, both ways; its clients still reach it.
    pub fn isolate(&self, id: usize, others: &[usize]) -> Result<(), NetworkError> {
        let ns = self.netns(id);
        for &other in others {
            let peer = self.addr(other).to_string();
            run(&[
                "ip", "netns", "exec", &ns, "iptables", "-A", "INPUT", "-s", &peer, "-j", "DROP",
            ])?;
            run(&[
                "ip", "netns", "exec", &ns, "iptables", "-A", "OUTPUT", "-d", &peer, "-j", "DROP",
            ])?;
        }
        tracing::info!(member = id, ?others, "partitioned");
        Ok(())
    }

    /// Makes member `from`'s connections to port `port` of member `to` fail as if nothing listened
    /// there: new ones are refused with a TCP reset and those open are aborted. Connections `to`
    /// opens to `from` still flow. Undone by [`Network::heal`] of `from`.
    pub fn reset_link(&self, from: usize, to: usize, port: u16) -> Result<(), NetworkError> {
        let ns = self.netns(from);
        let peer = self.addr(to).to_string();
        let port = port.to_string();
        run(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "iptables",
            "-A",
            "OUTPUT",
            "-d",
            &peer,
            "-p",
            "tcp",
            "--dport",
            &port,
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ])?;
        let dport = format!(":{port}");
        run(&[
            "ip", "netns", "exec", &ns, "ss", "-K", "dst", &peer, "dport", "=", &dport,
        ])?;
        tracing::info!(member = from, peer = to, %port, "connections reset");
        Ok(())
    }

    /// Undoes every partition of member `id`.
    pub fn heal(&self, id: usize) -> Result<(), NetworkError> {
        let ns = self.netns(id);
        for chain in ["INPUT", "OUTPUT"] {
            run(&["ip", "netns", "exec", &ns, "iptables", "-F", chain])?;
        }
        tracing::info!(member = id, "healed");
        Ok(())
    }

    /// Deletes every namespace of this network; the interfaces and the bridge go with them.
    fn delete(&self) {
        let mut names = self.namespaces();
        names.push(self.hub());
        for ns in names {
            let _ = run(&["ip", "netns", "delete", &ns]);
        }
        // The veth in this namespace goes once its peer's namespace is gone; remove it in any case.
        let _ = run(&["ip", "link", "delete", &format!("zr{}", self.tag)]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.delete();
    }
}

/// A 10.213.x.0/24 subnet no interface of this namespace is on.
fn free_subnet() -> Result<u8, NetworkError> {
    let addrs = run(&["ip", "-4", "-o", "addr", "show"])?;
    let start = (std::process::id() % 200) as u8;
    (0..250u8)
        .map(|i| (start.wrapping_add(i) % 250) + 1)
        .find(|net| !addrs.contains(&format!("10.213.{net}.")))
        .ok_or(NetworkError::NoSubnet)
}

/// Deletes namespaces left behind by a test process that no longer runs (killed before it could clean
/// up): their names end in the creator's process id.
fn remove_stale() {
    let Ok(list) = run(&["ip", "netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let mut parts = name.split('-');
        if parts.next() != Some(NETNS_PREFIX) {
            continue;
        }
        let creator = parts.nth(1).and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = creator
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = run(&["ip", "netns", "delete", name]);
        }
    }
}
