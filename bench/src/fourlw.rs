//! Four-letter words: a command sent as the first bytes of a connection, answered with text and a close.

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
