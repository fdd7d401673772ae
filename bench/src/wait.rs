//! Waiting for something to come out right: a check repeated at a short interval until it gives an answer
//! or a timeout passes.

use std::time::{Duration, Instant};

/// Pause between two looks at something awaited.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Something awaited did not happen in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: not after {waited:?}")]
pub struct TimedOut {
    /// What was awaited.
    pub what: String,
    /// How long it was awaited.
    pub waited: Duration,
}

/// Calls `check` every [`POLL_INTERVAL`] until it gives `Some`, for at most `timeout`; `what` names the
/// wait in the error.
pub async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Result<T, TimedOut> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check().await {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(TimedOut {
                what: what.to_owned(),
                waited: timeout,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
