//! Work that must not slow serving down. A snapshot of a large state keeps a core busy for a
//! while (every node encoded, the file written and synced); on a busy member it would take that
//! core from the threads that answer clients, replicate and write the log, and requests would
//! queue behind it. Such work runs on a thread of its own at a lower CPU priority: when the
//! member is idle it runs as fast as before, when it is busy serving comes first and the
//! background work takes longer.

use std::io;

/// How much lower than the server's own the priority of background work is (a nice increment:
/// at 10, a busy core gives it about a tenth of the time it gives a serving thread).
const NICE_INCREMENT: i32 = 10;

/// Runs `work` on a new thread named `name`, at the lower priority, and returns its result.
pub(crate) async fn run<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_priority();
            let _ = done.send(work());
        })?;
    result
        .await
        .map_err(|_| io::Error::other("background work ended without a result"))?
}

/// Lowers the calling thread's priority (on Linux a thread's priority is its own: the thread id
/// names this thread alone). Left as it is, with a note, where the system refuses.
fn lower_priority() {
    let me = Some(rustix::thread::gettid());
    let lowered = rustix::process::getpriority_process(me)
        .and_then(|nice| rustix::process::setpriority_process(me, (nice + NICE_INCREMENT).min(19)));
    if let Err(e) = lowered {
        tracing::debug!(error = %e, "background work keeps the server's CPU priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_at_a_lower_priority_and_returns_its_result() {
        let mine = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let theirs = run("background-test", || {
            Ok(rustix::process::getpriority_process(Some(
                rustix::thread::gettid(),
            ))?)
        })
        .await
        .unwrap();
        assert_eq!(theirs, (mine + NICE_INCREMENT).min(19));
        let mine_after = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        assert_eq!(
            mine_after.unwrap(),
            mine,
            "the caller's priority is unchanged"
        );

        let failed = run::<()>("background-test", || Err(io::Error::other("no space"))).await;
        assert_eq!(failed.unwrap_err().to_string(), "no space");
    }
}
