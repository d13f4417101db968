//! The one loop that feeds sources' batches into the pipeline, for `serve` and `demo`.
//!
//! Batches are ingested in arrival order, their samples through [`Pipeline::ingest`]
//! and their events through [`Pipeline::ingest_events`], each counted
//! under its source's kind (`protocol="host"`, `"prometheus_scrape"`, `"cloudwatch"`,
//! `"demo"`). A refusal with a retry hint (the engine or store full, the warm start)
//! is retried with doubling waits ([`Retry`]); other refusals are logged and the batch
//! dropped. While the loop waits, the sources' bounded channel holds them back. Cost:
//! one hash lookup per batch for its kind, and a copy of the samples for each try
//! that may still be retried (as before the loops were one).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use lookout_server::{IngestError, Pipeline, TimeCheck};
use lookout_sources::SourceBatch;
use tokio::sync::{mpsc, watch};

/// The `protocol` label of batches from a source of no known kind.
const UNKNOWN_KIND: &str = "source";

/// How often and how patiently a batch refused with a retry hint is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Wait before the second try; it doubles with each try, up to `first_wait << 4`.
    pub first_wait: Duration,
}

impl Retry {
    /// Live sources: a few tries, then the next collection brings fresh data.
    pub const LIVE: Retry = Retry {
        attempts: 5,
        first_wait: Duration::from_millis(200),
    };
    /// Backfills (the demo's history): many patient tries, since every point matters.
    pub const BACKFILL: Retry = Retry {
        attempts: 21,
        first_wait: Duration::from_millis(100),
    };

    /// The wait after the `attempt`-th failed try (0-based).
    fn wait(self, attempt: u32) -> Duration {
        self.first_wait.saturating_mul(1 << attempt.min(4))
    }
}

/// Which kind each source (by name) is, for the `protocol` label.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceKinds(HashMap<String, &'static str>);

impl SourceKinds {
    pub fn insert(&mut self, name: &str, kind: &'static str) {
        self.0.insert(name.to_string(), kind);
    }

    pub fn of(&self, source: &str) -> &'static str {
        self.0.get(source).copied().unwrap_or(UNKNOWN_KIND)
    }
}

/// Ingests every batch of `receiver` until it closes; starts once `ready` turns true
/// (the warm start is done), at once without it.
pub(crate) async fn feed_sources(
    pipeline: Pipeline,
    mut receiver: mpsc::Receiver<SourceBatch>,
    time_check: TimeCheck,
    kinds: SourceKinds,
    retry: Retry,
    ready: Option<watch::Receiver<bool>>,
) {
    if let Some(mut ready) = ready {
        let _ = ready.wait_for(|done| *done).await;
    }
    while let Some(batch) = receiver.recv().await {
        for error in &batch.errors {
            tracing::debug!(source = %batch.source, %error, "source collection problem");
        }
        let kind = kinds.of(&batch.source);
        let SourceBatch {
            source,
            samples,
            events,
            mut read_offsets,
            receipt,
            ..
        } = batch;
        for offset in &mut read_offsets {
            offset.source.clone_from(&source);
        }
        let mut stored = true;
        if !samples.is_empty() {
            stored &= with_retry(&source, samples, retry, |samples| {
                pipeline.ingest(samples, kind, time_check)
            })
            .await;
        }
        if !events.is_empty() {
            stored &= with_retry(&source, events, retry, |events| {
                pipeline.ingest_events(events, kind)
            })
            .await;
        }
        // Only once what the lines before them became is committed: a crash before
        // this save reads those lines again, and their intervals replace themselves.
        if stored && !read_offsets.is_empty() {
            stored = save_read_offsets(&pipeline, &source, read_offsets).await;
        }
        if let Some(receipt) = receipt {
            receipt.confirm(stored);
        }
    }
}

/// Saves a source's read offsets on the blocking pool (the store answers on a channel).
/// True when saved.
async fn save_read_offsets(
    pipeline: &Pipeline,
    source: &str,
    offsets: Vec<lookout_model::ReadOffset>,
) -> bool {
    let store = std::sync::Arc::clone(pipeline.store());
    let saved = tokio::task::spawn_blocking(move || store.save_read_offsets(offsets)).await;
    match saved {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%source, %error, "read offsets not saved");
            false
        }
        Err(error) => {
            tracing::warn!(%source, %error, "saving the read offsets failed");
            false
        }
    }
}

/// Hands `payload` to `attempt` until it is taken, retrying refusals that carry a
/// retry hint; the last refusal is logged and the payload dropped. True when taken.
async fn with_retry<T, R, F, Fut>(source: &str, payload: T, retry: Retry, mut attempt: F) -> bool
where
    T: Clone,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<R, IngestError>>,
{
    let mut payload = Some(payload);
    let mut tries = 0;
    loop {
        let last = tries + 1 >= retry.attempts;
        // A copy only while a refusal may still be retried.
        let Some(this_try) = (if last {
            payload.take()
        } else {
            payload.clone()
        }) else {
            return false;
        };
        match attempt(this_try).await {
            Ok(_) => return true,
            Err(error) if error.is_retryable() && !last => {
                tokio::time::sleep(retry.wait(tries)).await;
                tries += 1;
            }
            Err(error) => {
                tracing::warn!(%source, %error, "source batch not stored");
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_cap() {
        let retry = Retry::LIVE;
        assert_eq!(retry.wait(0), Duration::from_millis(200));
        assert_eq!(retry.wait(2), Duration::from_millis(800));
        assert_eq!(retry.wait(9), Duration::from_millis(3_200));
        assert_eq!(Retry::BACKFILL.wait(20), Duration::from_millis(1_600));
    }

    #[test]
    fn kinds_are_looked_up_by_source_name() {
        let mut kinds = SourceKinds::default();
        kinds.insert("cloudwatch#2", "cloudwatch");
        kinds.insert("host", "host");
        assert_eq!(kinds.of("cloudwatch#2"), "cloudwatch");
        assert_eq!(kinds.of("host"), "host");
        assert_eq!(kinds.of("unheard"), "source");
    }
}
