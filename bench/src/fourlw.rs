//! Four-letter words: a command sent as the first bytes of a connection, answered with text and a close;
//! and what `srvr` says about a member's role.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a four-letter word may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `word` (e.g. `ruok`) to `addr` and returns the whole reply.
pub async fn four_letter_word(addr: SocketAddr, word: &str) -> std::io::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(word.as_bytes()).await?;
        stream.shutdown().await?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await?;
        Ok(String::from_utf8_lossy(&reply).into_owned())
    };
    tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "four-letter word timed out")
    })?
}

/// A member's role as `srvr` reports it on its `Mode:` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Leads the ensemble.
    Leader,
    /// Follows a leader (voting or not).
    Follower,
    /// Observes a leader.
    Observer,
    /// Anything else: looking, standalone, or no answer.
    Other,
}

/// The mode member `addr` reports with `srvr`; [`Mode::Other`] when it does not answer.
pub async fn mode(addr: SocketAddr) -> Mode {
    let reply = four_letter_word(addr, "srvr").await.unwrap_or_default();
    match reply
        .lines()
        .find_map(|l| l.strip_prefix("Mode:"))
        .map(str::trim)
    {
        Some("leader") => Mode::Leader,
        Some("follower") => Mode::Follower,
        Some("observer") => Mode::Observer,
        _ => Mode::Other,
    }
}

/// The index in `addrs` of the first member that reports leading, if any (one look at each).
pub async fn find_leader(addrs: &[SocketAddr]) -> Option<usize> {
    for (index, &addr) in addrs.iter().enumerate() {
        if mode(addr).await == Mode::Leader {
            return Some(index);
        }
    }
    None
}
