//! The fan-out thread: the store stage of every scored batch, then its subscribers.
//!
//! The engine's callbacks send each scored batch here (one bounded channel of
//! [`FANOUT_QUEUE`] batches, one hop per batch). One thread, in arrival order:
//!
//! 1. the **store stage**: one [`WriteBatch`] with every sample (and its verdict when
//!    scored), the series' latest scores, the anomaly tracker's changes; queued to the
//!    store without blocking (a full queue refuses the request: `store_full`), its
//!    ticket handed to the acknowledging thread, which answers the request once the
//!    commit is durable;
//! 2. the **subscribers** ([`crate::fanout`]) hear the accepted batch: back-pressure
//!    ones inline, shedding ones through their own bounded queues.
//!
//! A request's events take the same thread ([`Job::Events`]): one store batch, queued
//! the same way, then the subscribers hear them, in order with the scored batches.
//! Cost: the store batch (built from the values the request already holds) and one
//! `Arc` per batch; per sample nothing beyond what the store batch needs.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;
use lookout_model::{EventRecord, SeriesId, Verdict};
use lookout_store::{Store, StoreError, WriteBatch};
use tokio::sync::oneshot;

use crate::acker::{Acker, PendingCommit};
use crate::error::IngestError;
use crate::fanout::{Delivery, ScoredBatch, Subscribers};
use crate::index::SeriesEntry;
use crate::metrics::Metrics;
use crate::scorer::ScoreOutcome;
use crate::tracker::AnomalyTracker;

/// Scored batches waiting for the fan-out thread before the engine's workers wait.
pub const FANOUT_QUEUE: usize = 256;

/// What the fan-out thread is handed.
pub(crate) enum Job {
    Scored(ScoredJob),
    Events(EventJob),
}

/// One request's validated events, with their ids, and the channel its answer goes
/// back on.
pub(crate) struct EventJob {
    pub records: Vec<EventRecord>,
    pub reply: oneshot::Sender<Result<(), IngestError>>,
}

/// One request's outcomes and the channel its answer goes back on.
pub(crate) struct ScoredJob {
    pub entries: Vec<Arc<SeriesEntry>>,
    pub values: Vec<(i64, f64)>,
    pub outcomes: Vec<ScoreOutcome>,
    pub reply: oneshot::Sender<Result<StoredAnswer, IngestError>>,
}

/// What one request's samples became once committed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StoredAnswer {
    /// Samples scored.
    pub scored: usize,
    /// Samples not stored: a retry of the newest scored point (same time, same value).
    pub duplicates: usize,
    /// Samples refused: the newest scored time again with another value.
    pub conflicts: usize,
    /// The first refused one.
    pub conflict: Option<crate::ingest::Conflict>,
}

/// What the store stage needs.
pub(crate) struct StoreStage {
    pub store: Arc<Store>,
    pub tracker: Arc<AnomalyTracker>,
    pub metrics: Arc<Metrics>,
    pub acker: Acker,
    pub retry_after_seconds: u64,
}

/// Runs the fan-out thread until every sender is gone.
pub(crate) fn run(stage: StoreStage, jobs: Receiver<Job>, subscribers: Arc<Subscribers>) {
    for job in jobs {
        match job {
            Job::Scored(job) => {
                if let Some(batch) = stage.store(job) {
                    subscribers.deliver(Delivery::Scored(Arc::new(batch)));
                }
            }
            Job::Events(job) => {
                if let Some(records) = stage.store_events(job) {
                    subscribers.deliver(Delivery::Events(records));
                }
            }
        }
    }
}

impl StoreStage {
    /// Queues a request's events as one store batch; the events for the subscribers
    /// when the store took them (`None`: refused, and the request answered so).
    fn store_events(&self, job: EventJob) -> Option<Arc<[EventRecord]>> {
        let EventJob { records, reply } = job;
        let shared: Arc<[EventRecord]> = Arc::from(records.clone());
        let batch = WriteBatch {
            events: records,
            ..WriteBatch::default()
        };
        match self.store.try_submit(batch) {
            Ok(ticket) => {
                let metrics = Arc::clone(&self.metrics);
                let on_commit = Box::new(move |result: Result<(), StoreError>| {
                    let answer = result.map_err(|error| {
                        metrics.reject("store_failed", 0);
                        IngestError::StoreFailed(error.to_string())
                    });
                    let _ = reply.send(answer);
                });
                self.acker.wait_for(PendingCommit {
                    ticket,
                    submitted: Instant::now(),
                    on_commit,
                });
                Some(shared)
            }
            Err(rejected) => {
                let _ = reply.send(Err(self.refusal(rejected.error, 0)));
                None
            }
        }
    }

    /// The answer for a batch the store would not queue, counted.
    fn refusal(&self, error: StoreError, samples: u64) -> IngestError {
        match error {
            StoreError::Full { .. } => {
                self.metrics.reject("store_full", samples);
                IngestError::StoreFull {
                    message: error.to_string(),
                    retry_after_seconds: self.retry_after_seconds,
                }
            }
            other => {
                self.metrics.reject("store_failed", samples);
                IngestError::StoreFailed(other.to_string())
            }
        }
    }

    /// Builds and queues the store batch; the batch for the subscribers when the store
    /// took it (`None`: refused, and the request answered so).
    fn store(&self, job: ScoredJob) -> Option<ScoredBatch> {
        let ScoredJob {
            entries,
            values,
            outcomes,
            reply,
        } = job;
        let mut batch = WriteBatch::with_capacity(outcomes.len());
        let mut answer = StoredAnswer::default();
        let mut verdicts: Vec<(SeriesId, &Verdict)> = Vec::new();
        for ((entry, (timestamp, value)), outcome) in entries.iter().zip(&values).zip(&outcomes) {
            match outcome {
                ScoreOutcome::Scored(verdict) => {
                    answer.scored += 1;
                    batch.push_verdict(entry.id, verdict);
                    entry.record_score(verdict.timestamp_ms, verdict.score);
                    verdicts.push((entry.id, verdict));
                }
                ScoreOutcome::NotScored(reason) => {
                    self.metrics.not_scored.add(reason, 1);
                    // The first write of a time wins: a retry adds nothing, another value
                    // for a scored time is refused (the stored point keeps its verdict).
                    match *reason {
                        "duplicate" => answer.duplicates += 1,
                        "conflicting_value" => {
                            answer.conflicts += 1;
                            answer
                                .conflict
                                .get_or_insert_with(|| crate::ingest::Conflict {
                                    series: entry.key.to_string(),
                                    timestamp_ms: *timestamp,
                                    value: *value,
                                });
                        }
                        _ => batch.push(entry.id, *timestamp, *value),
                    }
                }
            }
        }
        self.tracker.apply(verdicts, &mut batch);
        let anomalies = batch.anomalies.clone();
        let samples = batch.len() as u64;
        match self.store.try_submit(batch) {
            Ok(ticket) => {
                let metrics = Arc::clone(&self.metrics);
                let on_commit = Box::new(move |result: Result<(), StoreError>| {
                    let answer = result.map(|()| answer).map_err(|error| {
                        metrics.reject("store_failed", samples);
                        IngestError::StoreFailed(error.to_string())
                    });
                    let _ = reply.send(answer);
                });
                self.acker.wait_for(PendingCommit {
                    ticket,
                    submitted: Instant::now(),
                    on_commit,
                });
                Some(ScoredBatch {
                    entries,
                    values,
                    outcomes,
                    anomalies,
                })
            }
            Err(rejected) => {
                let _ = reply.send(Err(self.refusal(rejected.error, samples)));
                None
            }
        }
    }
}
