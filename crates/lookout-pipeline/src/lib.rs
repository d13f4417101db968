//! lookout's ingestion pipeline: the one way samples enter, whoever sends them (HTTP
//! routes, sources, `lookout import`, `lookout demo`), between them and the detection
//! engine, the store and everything that reacts to a scored batch.
//!
//! ```text
//!  HTTP routes ─┐ prepare (blocking pool)          engine workers      fan-out thread
//!  sources     ─┼─► validate ─► series index ─► Scorer::submit ─►──┐  ┌──────────────────────┐
//!  import, demo ┘   all or     (cardinality,    (sharded, never    └─►│ store stage: samples │
//!                   nothing     key → id)        blocks submit)   one │ + verdicts + anomaly │
//!                                                                 hop │ tracker → try_submit │─► acker ─► answer
//!                                                                     │ subscribers:         │   (after the
//!                                                                     │  alerting (inline)   │    durable commit)
//!                                                                     │  live, usage (queued)│
//!                                                                     └──────────────────────┘
//! ```
//!
//! **Flow.** [`Pipeline::prepare`] validates a decoded batch whole and resolves its
//! series ([`ingest`]); [`Pipeline::commit`] hands the points to the engine without
//! blocking; the engine's callback sends the outcomes to the fan-out thread (one
//! bounded channel, one hop per batch), where the store stage ([`store_stage`]) builds
//! the store batch with the anomaly tracker's changes and queues it; the request is
//! answered after the store's commit is durable. [`Pipeline::ingest`] does both steps
//! for callers that hold samples (sources, import). Every refusal is an [`IngestError`]
//! naming the reason, with a retry hint where a retry can help.
//!
//! **Subscribers** ([`fanout`]) hear each batch the store accepted, and committed
//! events ([`Pipeline::ingest_events`]), off the engine's workers. Policy for a slow
//! subscriber: the store stage and [`Policy::Backpressure`] subscribers (alerting)
//! never lose a record, and hold ingestion back instead (the fan-out's queue fills,
//! then the engine's, and requests are refused with a retry hint, nothing stored);
//! [`Policy::Shed`] subscribers (the live feed, usage states) sit behind their own
//! bounded queues and drop what does not fit, counted in
//! `lookout_subscriber_dropped_total{subscriber}`. A request is acknowledged only after
//! the store committed it.
//!
//! **Cost.** Per request: the points vector for the engine, the store batch, one
//! channel hop to the fan-out thread, one ticket to the acknowledging thread. Per
//! subscriber and batch: one `Arc` clone and a `try_send` (shedding) or one call
//! (back-pressure). Nothing per sample beyond what the store batch holds.

pub mod acker;
pub mod alerting;
mod engine_scorer;
pub mod error;
pub mod events;
pub mod fanout;
pub mod index;
pub mod ingest;
pub mod live;
pub mod log;
pub mod metrics;
pub mod scorer;
mod shared;
pub mod store_stage;
pub mod tracker;
pub mod usage;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use lookout_model::{Event, Sample};
use lookout_protocol::{Batch, ProtocolError};
use lookout_store::{Store, StoreError};

pub use error::IngestError;
pub use events::{validate_events, EventIngestReport, MAX_EVENTS_PER_REQUEST};
pub use fanout::{Delivery, Policy, ScoredBatch, Subscriber};
pub use ingest::{IngestReport, Prepared, TimeCheck};
pub use log::{AppendFuture, WriteLog};
pub use scorer::{Peek, ScoreCallback, ScoreOutcome, Scorer, ScorerError, ScorerStats};
pub use shared::PipelineOptions;

use acker::Acker;
use fanout::Subscribers;
use index::SeriesIndex;
use live::{LiveFeed, LiveSubscriber};
use metrics::Metrics;
use shared::Shared;
use store_stage::{Job, StoreStage, FANOUT_QUEUE};
use tracker::AnomalyTracker;
use usage::{UsageSubscriber, UsageTracker};

/// The running pipeline; cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    shared: Arc<Shared>,
    threads: Arc<Mutex<Threads>>,
}

#[derive(Default)]
struct Threads {
    fanout: Option<JoinHandle<()>>,
    acker: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Loads the series index from the store, takes over the store's open anomalies,
    /// and starts the fan-out and commit-acknowledging threads with the live feed and
    /// usage states subscribed.
    pub fn new(options: PipelineOptions, store: Arc<Store>, scorer: Arc<dyn Scorer>) -> Pipeline {
        let metrics = Arc::new(Metrics::default());
        let index = Arc::new(SeriesIndex::new(options.max_series));
        index.load(store.list_series_shared());
        let tracker = Arc::new(AnomalyTracker::default());
        // Anomalies open when the last run stopped go on under their own records.
        match store.open_anomalies() {
            Ok(open) => tracker.resume(
                open.iter()
                    .map(|record| (record.series_id, record.start_ms, record.peak_score)),
            ),
            Err(error) => tracing::warn!(%error, "cannot read the open anomalies; they stay open"),
        }
        let usage = Arc::new(UsageTracker::new(options.usage.clone()));
        let live = Arc::new(LiveFeed::default());
        let subscribers = Arc::new(Subscribers::default());
        let usage_subscriber = Arc::new(UsageSubscriber::new(
            Arc::clone(&usage),
            Arc::clone(&index),
            Arc::clone(&store),
        ));
        subscribers.add(Arc::new(LiveSubscriber::new(
            Arc::clone(&live),
            Arc::clone(&index),
        )));
        subscribers.add(Arc::clone(&usage_subscriber) as Arc<dyn Subscriber>);
        let (acker, acker_thread) = Acker::start(Arc::clone(&metrics));
        let stage = StoreStage {
            store: Arc::clone(&store),
            tracker: Arc::clone(&tracker),
            metrics: Arc::clone(&metrics),
            acker,
            retry_after_seconds: options.retry_after_seconds,
        };
        let (jobs, receiver) = crossbeam_channel::bounded::<Job>(FANOUT_QUEUE);
        let fanout_subscribers = Arc::clone(&subscribers);
        let fanout = std::thread::Builder::new()
            .name("lookout-fanout".into())
            .spawn(move || store_stage::run(stage, receiver, fanout_subscribers))
            .expect("spawning the fan-out thread");
        let shared = Arc::new(Shared {
            options,
            store,
            scorer,
            index,
            tracker,
            usage,
            usage_subscriber,
            live,
            metrics,
            warming: Arc::new(AtomicBool::new(false)),
            subscribers,
            jobs: RwLock::new(Some(jobs)),
            log: std::sync::OnceLock::new(),
        });
        Pipeline {
            shared,
            threads: Arc::new(Mutex::new(Threads {
                fanout: Some(fanout),
                acker: Some(acker_thread),
            })),
        }
    }

    /// Adds a subscriber of scored batches and events (see [`fanout`]); false once the
    /// pipeline stopped.
    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) -> bool {
        self.shared.subscribers.add(subscriber)
    }

    /// Validates and scores `samples` and stores them with their verdicts; resolves
    /// after the commit. The one entry of sources, `lookout import` and `lookout demo`;
    /// `protocol` labels the request and sample counters (the source's kind).
    pub async fn ingest(
        &self,
        samples: Vec<Sample>,
        protocol: &'static str,
        time_check: TimeCheck,
    ) -> Result<IngestReport, IngestError> {
        self.shared.metrics.requests.add(protocol, 1);
        let pipeline = self.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            pipeline.prepare(
                Batch {
                    samples,
                    ..Batch::default()
                },
                time_check,
            )
        })
        .await
        .map_err(|error| IngestError::Internal(format!("validation task failed: {error}")))??;
        self.commit(prepared, protocol).await
    }

    /// Validates a decoded batch (all or nothing) and resolves its series; blocking
    /// work (call it on the blocking pool). On a cluster node the series are resolved
    /// by their owner instead, and [`Pipeline::commit`] appends to the write log.
    pub fn prepare(&self, batch: Batch, time_check: TimeCheck) -> Result<Prepared, IngestError> {
        let to_log = self.shared.log.get().is_some();
        ingest::prepare(&self.shared, batch, time_check, to_log)
    }

    /// Makes this a cluster node: from now on accepted writes go to `log` and are
    /// acknowledged once it has them (see [`log`]). False if a log was already set.
    pub fn set_write_log(&self, log: Arc<dyn WriteLog>) -> bool {
        self.shared.log.set(log).is_ok()
    }

    /// Scores and stores samples read back from the write log for a partition this
    /// node owns, like a single node's write (any timestamp accepted: they were
    /// checked when they entered); resolves after the commit.
    pub async fn ingest_owned(
        &self,
        samples: Vec<Sample>,
        protocol: &'static str,
    ) -> Result<IngestReport, IngestError> {
        let pipeline = self.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            let batch = Batch {
                samples,
                ..Batch::default()
            };
            ingest::prepare(&pipeline.shared, batch, TimeCheck::History, false)
        })
        .await
        .map_err(|error| IngestError::Internal(format!("validation task failed: {error}")))??;
        self.commit(prepared, protocol).await
    }

    /// Scores and stores a prepared batch; resolves once the store committed it.
    pub async fn commit(
        &self,
        prepared: Prepared,
        protocol: &'static str,
    ) -> Result<IngestReport, IngestError> {
        ingest::commit(&self.shared, prepared, protocol).await
    }

    /// Counts a body that could not be decoded and names the problem.
    pub fn refuse(&self, error: &ProtocolError, samples: u64) -> IngestError {
        ingest::refuse(&self.shared, error, samples)
    }

    /// Validates `events` (all or nothing), stores them in one batch, then hands them
    /// to the subscribers (alerting's event rules, the live feed); resolves after the
    /// commit with their ids. The one entry of `POST /api/v1/events` and of sources'
    /// events (see [`events`]).
    pub async fn ingest_events(
        &self,
        events: Vec<Event>,
        protocol: &'static str,
    ) -> Result<EventIngestReport, IngestError> {
        self.shared.metrics.requests.add(protocol, 1);
        events::ingest(&self.shared, events).await
    }

    pub fn options(&self) -> &PipelineOptions {
        &self.shared.options
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    pub fn scorer(&self) -> &Arc<dyn Scorer> {
        &self.shared.scorer
    }

    pub fn index(&self) -> &Arc<SeriesIndex> {
        &self.shared.index
    }

    pub fn tracker(&self) -> &Arc<AnomalyTracker> {
        &self.shared.tracker
    }

    pub fn usage(&self) -> &Arc<UsageTracker> {
        &self.shared.usage
    }

    pub fn live(&self) -> &Arc<LiveFeed> {
        &self.shared.live
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// True while a warm start replays stored history: [`Pipeline::prepare`] refuses
    /// with [`IngestError::Warming`].
    pub fn warming(&self) -> &Arc<AtomicBool> {
        &self.shared.warming
    }

    /// The subscribers' lines of `/metrics`.
    pub fn render_metrics(&self, out: &mut lookout_protocol::exposition::ExpositionWriter) {
        self.shared.subscribers.render_metrics(out);
        out.single(
            "lookout_usage_codes_dropped_total",
            "Usage state codes not stored because the store's queue was full.",
            lookout_protocol::exposition::MetricType::Counter,
            self.shared.usage_subscriber.dropped_codes() as f64,
        );
    }

    /// Stops taking work and drains: the engine finishes its queue, the fan-out thread
    /// stores what it was handed, the shedding subscribers finish their queues, the
    /// store is flushed and every waiting request answered. Blocking; a second call
    /// only flushes.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        self.shared.scorer.shutdown();
        drop(
            self.shared
                .jobs
                .write()
                .unwrap_or_else(|poison| poison.into_inner())
                .take(),
        );
        let mut threads = self
            .threads
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(fanout) = threads.fanout.take() {
            if fanout.join().is_err() {
                tracing::warn!("the fan-out thread panicked");
            }
        }
        self.shared.subscribers.close();
        let flushed = self.shared.store.flush();
        // The fan-out thread held the acker's only sender: it ends once every ticket
        // it was handed is answered.
        if let Some(acker) = threads.acker.take() {
            if acker.join().is_err() {
                tracing::warn!("the commit acknowledging thread panicked");
            }
        }
        flushed
    }
}
