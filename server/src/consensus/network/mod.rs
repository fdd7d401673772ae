//! The peer protocol on the quorum port.
//!
//! Of Apache's `server.N=host:quorumPort:electionPort` ports, the quorum port carries everything
//! between members: Raft's append-entries, vote, pre-vote, snapshot and leader-transfer RPCs, and
//! what a follower sends its leader for clients — a forwarded write, the read index behind
//! `sync`, and which sessions its clients kept active — and a leader's notice that it is about
//! to hand leadership over (`consensus::transfer`). The election port is accepted in the config and not used: Raft elects
//! over the same connection.
//!
//! Each connection carries requests and replies in turn, framed as `u32 length (big-endian) |
//! postcard-encoded message` (`wire`). `client` is the outgoing side (one connection per peer,
//! re-opened after an error), `server` the listener that answers them. Replication runs on a
//! connection of its own per follower, a pipelined stream of append-entries (`append_stream`). A
//! follower's pipelined client writes travel on a connection of their own, an ordered stream
//! (`write_stream`); so does a follower's watch on its leader (`consensus::leader_watch`), which
//! the leader holds open and never answers.
//!
//! Every connection is opened and accepted through `transport`: plain TCP, or mutual TLS with
//! `sslQuorum` (a member whose certificate the quorum trust store does not vouch for is refused
//! before any request is read), then, with quorum SASL, the opening member's DIGEST-MD5
//! authentication (a member without the right credentials is refused likewise). A member is dialed at the address of its spec, or, while that
//! host does not resolve, where its join request came from (`observed`).

pub(crate) mod append_stream;
pub(crate) mod client;
mod observed;
pub(crate) mod server;
pub(crate) mod transport;
pub(crate) mod wire;
pub(crate) mod write_stream;

/// The `host:quorumPort` address in an Apache server spec
/// (`host:quorumPort:electionPort[:role][;[clientHost:]clientPort]`).
pub(crate) fn quorum_addr(spec: &str) -> Option<String> {
    let servers = spec.split(';').next()?;
    let mut parts = servers.split(':');
    let host = parts.next().filter(|h| !h.is_empty())?;
    let port: u16 = parts.next()?.trim().parse().ok()?;
    Some(format!("{host}:{port}"))
}

/// The address the quorum port listens on: the `host:quorumPort` of this member's own spec, or
/// every address of the host on that port (`quorumListenOnAllIPs`).
pub(crate) fn listen_addr(spec: &str, all_ips: bool) -> Option<String> {
    let addr = quorum_addr(spec)?;
    match all_ips {
        true => addr
            .rsplit_once(':')
            .map(|(_, port)| format!("0.0.0.0:{port}")),
        false => Some(addr),
    }
}

#[cfg(test)]
mod tests {
    use super::{listen_addr, quorum_addr};

    #[test]
    fn quorum_address_comes_from_the_first_two_fields() {
        assert_eq!(
            quorum_addr("127.0.0.1:2888:3888:participant;127.0.0.1:2181").as_deref(),
            Some("127.0.0.1:2888")
        );
        assert_eq!(
            quorum_addr("zk-1.zk:2888:3888").as_deref(),
            Some("zk-1.zk:2888")
        );
        assert_eq!(quorum_addr("localhost"), None);
        assert_eq!(quorum_addr(":2888:3888"), None);
    }

    #[test]
    fn listening_on_all_addresses_keeps_the_port() {
        assert_eq!(
            listen_addr("zk-1.zk.invalid:2888:3888", false).as_deref(),
            Some("zk-1.zk.invalid:2888")
        );
        assert_eq!(
            listen_addr("zk-1.zk.invalid:2888:3888", true).as_deref(),
            Some("0.0.0.0:2888")
        );
        assert_eq!(listen_addr("localhost", true), None);
    }
}
