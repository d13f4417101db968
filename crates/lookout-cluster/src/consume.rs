//! Scoring one owned partition: an ordered consumer of its subject from the sequence
//! after the last one scored, feeding the pipeline one message at a time, in stream
//! order (`Pipeline::ingest_owned`: the engine scores, the store keeps the samples
//! with their verdicts, on this node).
//!
//! The consumer holds no state on the server (ordered, ephemeral, no acknowledgements):
//! where it is lives here, in [`Progress::scored`], which the lease keeper writes to
//! the progress bucket at each renewal. Before each message it checks the lease's
//! deadline (a third of the TTL before it ends, measured from when the last successful
//! renewal was sent); past it, it scores nothing until a renewal succeeds or the
//! partition is taken away. A refusal that a retry can fix (engine or store full, the
//! warm start) is retried after a pause, in place, so the order is kept; one that
//! cannot (an invalid or over-cardinality batch) is logged, counted and skipped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use futures::StreamExt;
use lookout_pipeline::Pipeline;
use tokio::sync::watch;

use crate::partition::{decode, subject};

/// What the consumer of one partition shares with the lease keeper.
#[derive(Debug)]
pub struct Progress {
    /// The last stream sequence scored (0: none).
    pub scored: AtomicU64,
    /// Messages skipped because the owner refused them for good.
    pub skipped: AtomicU64,
    /// Until when the lease is certainly still ours.
    pub deadline: Mutex<Instant>,
}

impl Progress {
    pub fn new(scored: u64, deadline: Instant) -> Self {
        Progress {
            scored: AtomicU64::new(scored),
            skipped: AtomicU64::new(0),
            deadline: Mutex::new(deadline),
        }
    }

    fn valid(&self) -> bool {
        Instant::now() < *self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Everything one partition's consumer needs.
pub struct PartitionConsumer {
    pub stream: Stream,
    pub stream_name: String,
    pub partition: u32,
    pub pipeline: Pipeline,
    pub progress: Arc<Progress>,
    /// `true`: stop after the message in hand.
    pub stop: watch::Receiver<bool>,
}

impl PartitionConsumer {
    /// Runs until told to stop; a broken consumer is recreated from the next
    /// sequence after a pause.
    pub async fn run(mut self) {
        while !*self.stop.borrow() {
            if let Err(error) = self.consume().await {
                tracing::warn!(partition = self.partition, %error, "partition consumer stopped; recreating it");
                if self.pause(Duration::from_millis(500)).await {
                    return;
                }
            }
        }
    }

    /// Sleeps unless told to stop first; true when told to stop.
    async fn pause(&mut self, duration: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(duration) => *self.stop.borrow(),
            _ = self.stop.changed() => true,
        }
    }

    async fn consume(&mut self) -> Result<(), String> {
        let start = self.progress.scored.load(Ordering::Acquire) + 1;
        let config = pull::OrderedConfig {
            filter_subject: subject(&self.stream_name, self.partition),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        };
        let consumer = self
            .stream
            .create_consumer(config)
            .await
            .map_err(|e| e.to_string())?;
        let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
        loop {
            let next = tokio::select! {
                next = messages.next() => next,
                _ = self.stop.changed() => return Ok(()),
            };
            let Some(message) = next else {
                return Err("the message stream ended".into());
            };
            let message = message.map_err(|e| e.to_string())?;
            let sequence = message.info().map_err(|e| e.to_string())?.stream_sequence;
            if sequence <= self.progress.scored.load(Ordering::Acquire) {
                continue;
            }
            if !self.score(sequence, &message.payload).await {
                return Ok(());
            }
        }
    }

    /// Scores one message; false when told to stop before it was scored.
    async fn score(&mut self, sequence: u64, payload: &[u8]) -> bool {
        let samples = match decode(payload) {
            Ok(samples) => samples,
            Err(error) => {
                tracing::warn!(partition = self.partition, sequence, %error, "message skipped");
                self.done(sequence, true);
                return true;
            }
        };
        loop {
            while !self.progress.valid() {
                if self.pause(Duration::from_millis(100)).await {
                    return false;
                }
            }
            match self.pipeline.ingest_owned(samples.clone(), "cluster").await {
                Ok(_) => break,
                Err(error) if error.is_retryable() => {
                    let wait = error.retry_after_seconds().unwrap_or(1).min(5);
                    if self.pause(Duration::from_millis(200 * wait)).await {
                        return false;
                    }
                }
                Err(error) => {
                    tracing::warn!(partition = self.partition, sequence, %error, "message refused by the owner; skipped");
                    self.done(sequence, true);
                    return true;
                }
            }
        }
        self.done(sequence, false);
        true
    }

    fn done(&self, sequence: u64, skipped: bool) {
        if skipped {
            self.progress.skipped.fetch_add(1, Ordering::Relaxed);
        }
        self.progress.scored.store(sequence, Ordering::Release);
    }
}
