//! A shutdown signal shared by every source: a `tokio::sync::watch` channel of one flag.

use tokio::sync::watch;

/// Fires the shutdown signal; dropping it fires it too.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// Waits for the shutdown signal; cheap to clone, one per task.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// A trigger and the signal it fires.
pub fn shutdown_channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// A further signal receiver, for a task started later.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }
}

impl Shutdown {
    /// Whether shutdown has been requested (or the trigger dropped).
    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow() || self.receiver.has_changed().is_err()
    }

    /// Completes when shutdown is requested or the trigger is dropped.
    pub async fn wait(&mut self) {
        while !*self.receiver.borrow_and_update() {
            if self.receiver.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wait_returns_after_trigger() {
        let (trigger, shutdown) = shutdown_channel();
        let mut waiter = shutdown.clone();
        assert!(!shutdown.is_triggered());
        let task = tokio::spawn(async move { waiter.wait().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        trigger.trigger();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("wait returned")
            .unwrap();
        assert!(shutdown.is_triggered());
    }

    #[tokio::test]
    async fn dropping_the_trigger_is_a_shutdown() {
        let (trigger, mut shutdown) = shutdown_channel();
        drop(trigger);
        tokio::time::timeout(Duration::from_secs(5), shutdown.wait())
            .await
            .expect("wait returned");
        assert!(shutdown.is_triggered());
    }
}
