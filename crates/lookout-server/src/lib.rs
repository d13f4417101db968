//! lookout's HTTP server: ingestion, the Prometheus query API subset, anomalies and
//! lookout's own `/metrics`, over the embedded store and the ingestion pipeline
//! (`lookout-pipeline`: validation, the detection engine, the store stage and the
//! subscribers of scored batches).
//!
//! ```text
//!  POST /api/v1/write ─┐                   ┌──────── lookout-pipeline ────────┐
//!  POST /api/v2/write ─┤ decode            │ validate ─► engine ─► store stage │─► 2xx after
//!  POST /write        ─┤ (blocking pool) ─►│ (index,     (verdicts) + subscribers│   the commit
//!  POST /api/v1/samples┘                   └───────────────────────────────────┘
//! ```
//!
//! - [`ingest`]: the ingestion routes and the mapping of the pipeline's refusals to
//!   status codes (all-or-nothing per request, 429 with `Retry-After` on overload);
//! - [`query`]: `/api/v1/series|labels|label/{name}/values|query|query_range` and the
//!   `lookout_anomaly_score{..., lookout_metric="<name>"}` convention;
//! - [`anomalies`]: anomaly records from verdicts, listing, feedback;
//! - [`events`]: `GET /api/v1/events` and `/api/v1/events/{id}`; events enter through
//!   `POST /api/v1/events` ([`ingest::events`], into `Pipeline::ingest_events`);
//! - [`metrics`]: own health at `/metrics`; [`openapi`]: `/api/openapi.json`;
//! - [`usage`]: machines' usage states and right-sizing hints (`/api/v1/machines`);
//! - [`predict`]: `POST /api/v1/predict/network`, one connection record scored by a
//!   trained traffic model (`lookout-traffic-model`);
//! - [`error_shape`]: every error answer, including axum's own 404, 405 and 413, in
//!   the JSON error shape of [`error::ApiError`];
//! - [`auth`]: API tokens with roles (`read`, `write`, `admin`), checked in front of
//!   every route but health and the dashboard's pages when `[auth]` is enabled;
//! - [`audit`]: admin actions, logged (tracing target `lookout::audit`) and served at
//!   `GET /api/v1/audit`;
//! - [`guard`]: refuses cross-origin writes and rebound `Host` names;
//! - [`warm`]: at startup, the detectors relearn each series from its stored history.
//!
//! [`Server`] ties them together: build it over an opened [`Store`] and a [`Scorer`]
//! (the detection engine), then [`Server::run`] it on a listener until a shutdown signal.

pub mod alerting;
pub mod anomalies;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod cluster;
pub mod error;
pub mod error_shape;
pub mod events;
pub mod guard;
pub mod ingest;
pub mod listen;
pub mod openapi;
pub mod predict;
pub mod query;
pub mod routes;
pub mod session;
pub mod snapshot;
mod state;
pub mod ui;
pub mod usage;
pub mod warm;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use lookout_model::clock::now_ms;
use lookout_pipeline::alerting::AlertSubscriber;
use lookout_store::{Store, StoreError};

pub use error::ApiError;
pub use ingest::{IngestError, IngestReport, TimeCheck};
pub use lookout_pipeline::{index, metrics, scorer, Pipeline};
pub use lookout_pipeline::{ScoreCallback, ScoreOutcome, Scorer, ScorerError, ScorerStats};
pub use routes::{route_table, router};
pub use state::{AppState, ServerOptions, SharedObjectStore};

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
}

impl Server {
    /// Starts the pipeline over `store` and `scorer` (see [`Server::over`]).
    pub fn new(options: ServerOptions, store: Arc<Store>, scorer: Arc<dyn Scorer>) -> Server {
        let pipeline = Pipeline::new(options.pipeline_options(), store, scorer);
        Server::over(options, pipeline)
    }

    /// Serves over a running pipeline (its series index loaded, its threads started).
    pub fn over(options: ServerOptions, pipeline: Pipeline) -> Server {
        Server {
            state: Arc::new(AppState::new(options, pipeline)),
        }
    }

    /// The pipeline every ingested sample goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.state.pipeline
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Sends anomaly changes to alerting from now on (a back-pressure subscriber of the
    /// pipeline); false if alerting was already attached.
    pub fn attach_alerts(&self, alerts: lookout_alert::AlertHandle) -> bool {
        if self.state.alerts.set(alerts.clone()).is_err() {
            return false;
        }
        self.state
            .pipeline
            .subscribe(Arc::new(AlertSubscriber::new(alerts)))
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
            let result =
                tokio::task::spawn_blocking(move || warm::warm_start(&replay_state, plan, None))
                    .await
                    .unwrap_or(Err(warm::WarmStartError::Panicked));
            state.warming.store(false, Ordering::Release);
            result
        }
    }

    /// Restores the object store's detector snapshot, when there is one, then replays
    /// the stored history after it (all of it without a snapshot; see [`snapshot`] and
    /// [`warm`]). Ingestion answers 503 with `Retry-After` from this call until the
    /// returned future is done; queries are served.
    pub fn restore_and_warm_start(
        &self,
        plan: warm::WarmStart,
    ) -> impl Future<
        Output = (
            Result<Option<snapshot::SnapshotReport>, snapshot::SnapshotError>,
            Result<warm::WarmStartReport, warm::WarmStartError>,
        ),
    > + Send
           + 'static {
        self.state.warming.store(true, Ordering::Release);
        let state = Arc::clone(&self.state);
        async move {
            let restored = match state.options.object_store.clone() {
                None => Ok(None),
                Some(store) => {
                    let restore_state = Arc::clone(&state);
                    tokio::task::spawn_blocking(move || {
                        snapshot::restore(&restore_state, &*store.0)
                    })
                    .await
                    .unwrap_or(Err(snapshot::SnapshotError::Engine(
                        lookout_pipeline::scorer::ScorerError::ShutDown,
                    )))
                }
            };
            let (restored, held) = match restored {
                Ok(Some((report, held))) => (Ok(Some(report)), Some(held)),
                Ok(None) => (Ok(None), None),
                Err(error) => (Err(error), None),
            };
            let replay_state = Arc::clone(&state);
            let result = tokio::task::spawn_blocking(move || {
                warm::warm_start(&replay_state, plan, held.as_ref())
            })
            .await
            .unwrap_or(Err(warm::WarmStartError::Panicked));
            state.warming.store(false, Ordering::Release);
            (restored, result)
        }
    }

    /// Writes the detectors' state to the object store as a new version of
    /// `snapshots/detectors` (see [`snapshot`]); `None` without an object store.
    /// Blocking: call it after ingestion stopped, off the async runtime.
    pub fn save_snapshot(
        &self,
    ) -> Result<Option<snapshot::SnapshotReport>, snapshot::SnapshotError> {
        match &self.state.options.object_store {
            None => Ok(None),
            Some(store) => snapshot::save(&self.state, &*store.0),
        }
    }

    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` resolves, then answers the requests in
    /// flight, stops the engine (its queued batches are stored) and flushes the store.
    /// Compacts the store every `compaction_interval` meanwhile.
    pub async fn run(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        self.run_with(listener, listen::Listen::default(), shutdown)
            .await
    }

    /// [`Server::run`] with the listener's TLS and connection limits (see [`listen`]).
    pub async fn run_with(
        &self,
        listener: tokio::net::TcpListener,
        listen: listen::Listen,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let served = self.serve_with(listener, listen, shutdown).await;
        let flushed = self.stop().await;
        served?;
        flushed
    }

    /// Serves until `shutdown` resolves and the requests in flight are answered, leaving
    /// the pipeline running (the caller drains its sources, may save a snapshot, then
    /// calls [`Server::stop`]).
    pub async fn serve_with(
        &self,
        listener: tokio::net::TcpListener,
        listen: listen::Listen,
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
        let served = listen::serve(listener, self.router(), listen, shutdown).await;
        if let Some(task) = compaction {
            task.abort();
        }
        served?;
        Ok(())
    }

    /// Stops taking work: not ready, the pipeline drained (the engine's queued batches
    /// stored, subscribers done), the store flushed.
    pub async fn stop(&self) -> Result<(), ServerError> {
        self.state.ready.store(false, Ordering::Release);
        let pipeline = self.state.pipeline.clone();
        tokio::task::spawn_blocking(move || pipeline.shutdown())
            .await
            .map_err(|error| ServerError::Http(std::io::Error::other(error.to_string())))??;
        Ok(())
    }
}
