//! Graceful shutdown: one [`ShutdownSignal`] owned by the server, a [`Shutdown`] listener per task.

use tokio::sync::watch;

/// The trigger: dropping it, or calling [`ShutdownSignal::trigger`], tells every listener to stop.
#[derive(Debug)]
pub struct ShutdownSignal {
    sender: watch::Sender<bool>,
}

impl ShutdownSignal {
    /// A new, untriggered signal.
    pub fn new() -> ShutdownSignal {
        ShutdownSignal {
            sender: watch::Sender::new(false),
        }
    }

    /// A listener for one task.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }

    /// Tells every listener to stop.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }
}

impl Default for ShutdownSignal {
    fn default() -> ShutdownSignal {
        ShutdownSignal::new()
    }
}

/// Listens for the shutdown signal.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// True once shutdown has been signalled.
    pub fn is_shutdown(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Waits for the signal (returns at once if it was already given, or if the signal was dropped).
    pub async fn recv(&mut self) {
        let _ = self.receiver.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listeners_see_the_trigger_and_a_dropped_signal() {
        let signal = ShutdownSignal::new();
        let mut a = signal.subscribe();
        assert!(!a.is_shutdown());
        signal.trigger();
        a.recv().await;
        assert!(a.is_shutdown());
        let mut late = signal.subscribe();
        late.recv().await;
        let other = ShutdownSignal::new();
        let mut b = other.subscribe();
        drop(other);
        b.recv().await;
    }
}
