//! Waits for store commits off the async runtime and answers the waiting requests.
//!
//! The store's writer commits batches in the order they were queued, so one thread
//! waiting on the tickets in arrival order never holds a finished answer behind an
//! unfinished one for long. Async handlers only await a `oneshot`. The queue holds
//! [`ACK_QUEUE`] tickets; past that the fan-out thread waits (back-pressure).

use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};
use lookout_store::{StoreError, Ticket};

use std::sync::Arc;

use crate::metrics::Metrics;

/// Tickets waiting for their commit before the fan-out thread waits.
pub const ACK_QUEUE: usize = 4096;

/// One batch waiting for its commit.
pub(crate) struct PendingCommit {
    pub ticket: Ticket,
    pub submitted: Instant,
    /// Called once with the commit's result, on the acknowledging thread.
    pub on_commit: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

/// Handle of the acknowledging thread; dropping every sender stops it.
pub(crate) struct Acker {
    sender: Sender<PendingCommit>,
}

impl Acker {
    pub fn start(metrics: Arc<Metrics>) -> (Acker, JoinHandle<()>) {
        let (sender, receiver) = bounded(ACK_QUEUE);
        let handle = std::thread::Builder::new()
            .name("lookout-acker".into())
            .spawn(move || run(receiver, metrics))
            .expect("spawning the commit acknowledging thread");
        (Acker { sender }, handle)
    }

    /// Hands over a ticket; if the thread is gone the commit is awaited here.
    pub fn wait_for(&self, pending: PendingCommit) {
        if let Err(error) = self.sender.send(pending) {
            let pending = error.into_inner();
            (pending.on_commit)(pending.ticket.wait());
        }
    }
}

fn run(receiver: Receiver<PendingCommit>, metrics: Arc<Metrics>) {
    for pending in receiver {
        let result = pending.ticket.wait();
        metrics.commit_latency.observe(pending.submitted.elapsed());
        (pending.on_commit)(result);
    }
}
