//! A background look at the cluster, repeated until stopped: the state a watch accumulates travels through
//! each look and comes back when the watch stops.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::{Error, Result};

/// A polling task under way; [`Polling::stop`] ends it and returns its state.
pub struct Polling<T> {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Result<T>>,
}

impl<T: Send + 'static> Polling<T> {
    /// Runs `look` on `state` every `every` until stopped; the first failed look ends the task with its error.
    pub fn start<F, Fut>(state: T, every: Duration, mut look: F) -> Self
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let mut state = state;
            while !stopping.load(Ordering::Relaxed) {
                state = look(state).await?;
                tokio::time::sleep(every).await;
            }
            Ok(state)
        });
        Self { stop, task }
    }

    /// Stops after the look under way and returns the state.
    pub async fn stop(self) -> Result<T> {
        self.stop.store(true, Ordering::Relaxed);
        self.task
            .await
            .map_err(|e| Error::Unexpected(format!("polling task: {e}")))?
    }
}
