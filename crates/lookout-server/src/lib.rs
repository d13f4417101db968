//! lookout's HTTP server: ingestion, the Prometheus query API subset, anomalies and
//! lookout's own `/metrics`, over the embedded store and the detection engine.
//!
//! ```text
//!  POST /api/v1/write ─┐                                   ┌─► 2xx after the commit
//!  POST /api/v2/write ─┤ decode + validate ─► series index ─► engine ─► store ─┘
//!  POST /write        ─┤ (blocking pool)     (cardinality)   (verdicts)  (one writer,
//!  POST /api/v1/samples┘                                                  batched WAL)
//!  host source, import ─────────────────────┘
//! ```
//!
//! - [`ingest`]: the pipeline and the ingestion routes (all-or-nothing per request,
//!   durable acknowledgements, 429 with `Retry-After` on overload);
//! - [`query`]: `/api/v1/series|labels|label/{name}/values|query|query_range` and the
//!   `lookout_anomaly_score{..., lookout_metric="<name>"}` convention;
//! - [`anomalies`]: anomaly records from verdicts, listing, feedback;
//! - [`events`]: `GET /api/v1/events` and `/api/v1/events/{id}`; events enter through
//!   `POST /api/v1/events` and [`Server::ingest_events`] ([`ingest::events`]);
//! - [`metrics`]: own health at `/metrics`; [`openapi`]: `/api/openapi.json`;
//! - [`usage`]: machines' usage states and right-sizing hints (`/api/v1/machines`);
//! - [`warm`]: at startup, the detectors relearn each series from its stored history.
//!
//! [`Server`] ties them together: build it over an opened [`Store`] and a [`Scorer`]
//! (the detection engine), then [`Server::run`] it on a listener until a shutdown signal.

pub mod alerting;
pub mod anomalies;
mod engine_scorer;
pub mod error;
pub mod events;
pub mod index;
pub mod ingest;
pub mod metrics;
pub mod openapi;
pub mod query;
pub mod routes;
pub mod scorer;
mod state;
pub mod ui;
pub mod usage;
pub mod warm;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use lookout_model::Sample;
use lookout_protocol::Batch;
use lookout_store::{now_ms, Store, StoreError};

pub use error::ApiError;
pub use ingest::{IngestReport, TimeCheck};
pub use routes::{route_table, router};
pub use scorer::{ScoreCallback, ScoreOutcome, Scorer, ScorerError, ScorerStats};
pub use state::{AppState, ServerOptions};

use index::SeriesIndex;
use ingest::acker::Acker;
use metrics::Metrics;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("HTTP server failed: {0}")]
    Http(#[from] std::io::Error),
    #[error("flushing the store at shutdown failed: {0}")]
    Flush(#[from] StoreError),
}

/// The running server's shared parts; cheap to clone.
#[derive(Clone)]
pub struct Server {
    state: Arc<AppState>,
    acker: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Server {
    /// Loads the series index from the store and starts the commit-acknowledging thread.
    pub fn new(options: ServerOptions, store: Arc<Store>, scorer: Arc<dyn Scorer>) -> Server {
        let metrics = Arc::new(Metrics::default());
        let index = SeriesIndex::new(options.max_series);
        index.load(store.list_series_shared());
        let tracker = anomalies::tracker::AnomalyTracker::default();
        // Anomalies open when the last run stopped go on under their own records.
        match store.open_anomalies() {
            Ok(open) => tracker.resume(
                open.iter()
                    .map(|record| (record.series_id, record.start_ms, record.peak_score)),
            ),
            Err(error) => tracing::warn!(%error, "cannot read the open anomalies; they stay open"),
        }
        let (acker, handle) = Acker::start(Arc::clone(&metrics));
        let usage = usage::UsageTracker::new(options.usage.clone());
        let state = Arc::new(AppState {
            usage,
            options,
            store,
            scorer,
            index,
            tracker,
            metrics,
            acker,
            live: Default::default(),
            alerts: Default::default(),
            ready: true.into(),
            warming: false.into(),
        });
        Server {
            state,
            acker: Arc::new(std::sync::Mutex::new(Some(handle))),
        }
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Sends anomaly changes to alerting from now on; false if alerting was already attached.
    pub fn attach_alerts(&self, alerts: lookout_alert::AlertHandle) -> bool {
        self.state.alerts.set(alerts).is_ok()
    }

    /// Replays stored history into the detectors and the usage tracker (see [`warm`]).
    /// Ingestion answers 503 with `Retry-After` from this call until the returned
    /// future is done (marked at once, so no live point can slip in before the replay
    /// starts); queries are served.
    pub fn warm_start(
        &self,
        plan: warm::WarmStart,
    ) -> impl Future<Output = Result<warm::WarmStartReport, warm::WarmStartError>> + Send + 'static
    {
        self.state.warming.store(true, Ordering::Release);
        let state = Arc::clone(&self.state);
        async move {
            let replay_state = Arc::clone(&state);
            let result = tokio::task::spawn_blocking(move || warm::warm_start(&replay_state, plan))
                .await
                .unwrap_or(Err(warm::WarmStartError::Panicked));
            state.warming.store(false, Ordering::Release);
            result
        }
    }

    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.state))
    }

    /// Ingests samples that did not come over HTTP (host source, import) through the same
    /// pipeline: validation, cardinality, engine, store; resolves after the commit.
    pub async fn ingest(
        &self,
        samples: Vec<Sample>,
        protocol: &'static str,
        time_check: TimeCheck,
    ) -> Result<IngestReport, ApiError> {
        let state = Arc::clone(&self.state);
        state.metrics.requests.add(protocol, 1);
        let blocking_state = Arc::clone(&state);
        let prepared = tokio::task::spawn_blocking(move || {
            ingest::prepare(
                &blocking_state,
                Batch {
                    samples,
                    ..Batch::default()
                },
                time_check,
            )
        })
        .await
        .map_err(|error| ApiError::internal(format!("validation task failed: {error}")))??;
        ingest::commit(&state, prepared, protocol).await
    }

    /// Stores events that did not come over HTTP (sources, detectors) through the same
    /// path as `POST /api/v1/events`: validated (all or nothing), stored, then handed to
    /// alerting and the live feed; resolves after the commit with their ids.
    pub async fn ingest_events(
        &self,
        events: Vec<lookout_model::Event>,
    ) -> Result<ingest::events::EventIngestReport, ApiError> {
        ingest::events::ingest(&self.state, events).await
    }

    /// Serves on `listener` until `shutdown` resolves, then answers the requests in
    /// flight, stops the engine (its queued batches are stored) and flushes the store.
    /// Compacts the store every `compaction_interval` meanwhile.
    pub async fn run(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let compaction = self.state.options.compaction_interval.map(|interval| {
            let state = Arc::clone(&self.state);
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    let store = Arc::clone(&state.store);
                    match tokio::task::spawn_blocking(move || store.compact(now_ms())).await {
                        Ok(Ok(report)) => tracing::debug!(?report, "store compacted"),
                        Ok(Err(error)) => tracing::warn!(%error, "store compaction failed"),
                        Err(error) => tracing::warn!(%error, "store compaction task failed"),
                    }
                }
            })
        });
        // Live streams never end by themselves: close them once shutdown begins.
        let live_state = Arc::clone(&self.state);
        let shutdown = async move {
            shutdown.await;
            live_state.live.close();
        };
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(task) = compaction {
            task.abort();
        }
        let flushed = self.stop().await;
        served?;
        flushed
    }

    /// Stops taking work: not ready, engine drained (its results stored), store flushed.
    pub async fn stop(&self) -> Result<(), ServerError> {
        self.state.ready.store(false, Ordering::Release);
        let state = Arc::clone(&self.state);
        let acker = Arc::clone(&self.acker);
        tokio::task::spawn_blocking(move || {
            state.scorer.shutdown();
            let flushed = state.store.flush();
            // Every ticket is resolved once the store flushed; the acker thread idles
            // until the state is dropped, so it is detached rather than joined.
            drop(acker.lock().map(|mut handle| handle.take()));
            flushed
        })
        .await
        .map_err(|error| ServerError::Http(std::io::Error::other(error.to_string())))??;
        Ok(())
    }
}
