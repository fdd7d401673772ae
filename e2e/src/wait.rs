//! Bounded waits: poll a check until it yields a value or the time is up.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How often a wait polls: a poll is a few reads from the API server, and a wait that ends sooner makes the
/// suite shorter.
pub const POLL: Duration = Duration::from_millis(250);

/// What one poll of a wait saw.
pub enum Poll<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; the string says what was seen, for the timeout message.
    Pending(String),
}

/// Polls `check` every [`POLL`] until it returns [`Poll::Done`], an error, or `timeout` passes; then the
/// error carries `diagnose()`'s report. Errors of `check` end the wait at once.
pub async fn until<T, C, CF, D, DF>(
    what: &str,
    timeout: Duration,
    mut check: C,
    diagnose: D,
) -> Result<T>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<Poll<T>>>,
    D: FnOnce() -> DF,
    DF: Future<Output = String>,
{
    let start = Instant::now();
    loop {
        let last = match check().await? {
            Poll::Done(value) => {
                tracing::info!(what, elapsed = ?start.elapsed(), "wait over");
                return Ok(value);
            }
            Poll::Pending(seen) => seen,
        };
        if start.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: what.to_string(),
                waited: start.elapsed(),
                last,
                diagnostics: diagnose().await,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `count()` (operations a client load has had acknowledged, say) is `more` above what it is
/// now; fails after `timeout`. `what` names what is counted, in the timeout message.
pub async fn count_grows(
    what: &str,
    more: usize,
    timeout: Duration,
    count: impl Fn() -> usize,
) -> Result<()> {
    let target = count() + more;
    until(
        &format!("{more} more {what}"),
        timeout,
        || async {
            let done = count();
            Ok(if done >= target {
                Poll::Done(())
            } else {
                Poll::Pending(format!("{done} acknowledged, waiting for {target}"))
            })
        },
        || async { String::new() },
    )
    .await
}
