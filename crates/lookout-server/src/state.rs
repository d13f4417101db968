//! What every handler shares: options, the pipeline and the parts of it handlers read
//! (store, engine, series index, anomaly tracker, usage states, live feed, metrics).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use lookout_pipeline::index::SeriesIndex;
use lookout_pipeline::live::LiveFeed;
use lookout_pipeline::metrics::Metrics;
use lookout_pipeline::tracker::AnomalyTracker;
use lookout_pipeline::usage::{UsageOptions, UsageTracker};
use lookout_pipeline::{Pipeline, PipelineOptions, Scorer};
use lookout_protocol::SampleLimits;
use lookout_store::Store;

/// The object store of models and snapshots, shared; options compare equal when they
/// hold the same store.
#[derive(Clone, Debug)]
pub struct SharedObjectStore(pub Arc<dyn lookout_objstore::ObjectStore>);

impl PartialEq for SharedObjectStore {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(
            Arc::as_ptr(&self.0) as *const (),
            Arc::as_ptr(&other.0) as *const (),
        )
    }
}

/// Tunables of the server (the binary fills them from the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerOptions {
    /// Largest accepted request body (compressed, as sent); larger bodies get 413.
    pub max_body_bytes: usize,
    /// Largest decompressed remote write body; larger gets 413.
    pub max_decompressed_bytes: usize,
    /// Cardinality limit: requests that would create more series are refused.
    pub max_series: usize,
    /// How far from now a live sample's timestamp may be.
    pub sample_limits: SampleLimits,
    /// `Retry-After` seconds on overload answers.
    pub retry_after_seconds: u64,
    /// Instant queries and each step of a range query look back this far for a sample
    /// (Prometheus' default lookback delta, 5 minutes).
    pub lookback_ms: i64,
    /// Most points a range query may return per series (Prometheus refuses above 11,000).
    pub max_points_per_series: usize,
    /// Samples read plus points computed that one PromQL query may use (Prometheus'
    /// `--query.max-samples` is 50 million); beyond it the query answers 422.
    pub query_max_samples: usize,
    /// Wall time one PromQL query may take; beyond it the query answers 503.
    pub query_timeout: Duration,
    /// Most `match[]` selectors one metadata request (`/api/v1/series`, `/labels`,
    /// `/label/{name}/values`) may carry; more answers 400.
    pub max_matchers: usize,
    /// Most series one metadata request may visit while matching its selectors (each
    /// selector's candidates count once per selector); beyond it the request answers 422.
    pub max_series_visited: usize,
    /// Samples all PromQL queries in flight together may hold (each query reserves what
    /// it reads and produces as it goes, given back when it ends); a query that cannot
    /// reserve answers 503 with `Retry-After`.
    pub max_query_samples_total: usize,
    /// Bytes of request bodies all ingestion requests in flight together may buffer;
    /// beyond it a request answers 503 with `Retry-After`.
    pub max_inflight_body_bytes: usize,
    /// Bytes of that budget the requests of one client address together may hold, so one
    /// client holding slow bodies open cannot refuse everyone else.
    pub max_inflight_body_bytes_per_client: usize,
    /// How often the store compacts (rollups and retention); `None` disables it.
    pub compaction_interval: Option<Duration>,
    /// Usage states and right-sizing (`[usage]`).
    pub usage: UsageOptions,
    /// Where `POST /api/v1/predict/network` finds trained traffic models (the object
    /// store's `models/traffic/<name>`); `None`: the route answers 404.
    pub object_store: Option<SharedObjectStore>,
    /// What the request guard accepts ([`crate::guard`]).
    pub access: crate::guard::AccessOptions,
    /// Longest silence `POST /api/v1/silences` accepts, in milliseconds.
    pub max_silence_ms: i64,
    /// API tokens ([`crate::auth`]); disabled by default.
    pub auth: crate::auth::AuthOptions,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            max_series: 1_000_000,
            sample_limits: SampleLimits::default(),
            retry_after_seconds: 1,
            lookback_ms: 5 * 60_000,
            max_points_per_series: 11_000,
            query_max_samples: 50_000_000,
            query_timeout: Duration::from_secs(120),
            max_matchers: 100,
            max_series_visited: 10_000_000,
            max_query_samples_total: 100_000_000,
            max_inflight_body_bytes: 256 << 20,
            max_inflight_body_bytes_per_client: 64 << 20,
            compaction_interval: Some(Duration::from_secs(600)),
            usage: UsageOptions::default(),
            object_store: None,
            access: crate::guard::AccessOptions::default(),
            max_silence_ms: 90 * 86_400_000,
            auth: crate::auth::AuthOptions::default(),
        }
    }
}

impl ServerOptions {
    /// The pipeline's share of the options.
    pub fn pipeline_options(&self) -> PipelineOptions {
        PipelineOptions {
            max_series: self.max_series,
            sample_limits: self.sample_limits,
            retry_after_seconds: self.retry_after_seconds,
            usage: self.usage.clone(),
        }
    }
}

/// Shared by every handler behind an `Arc`.
pub struct AppState {
    pub options: ServerOptions,
    /// Where every ingested sample goes through (the fields below are its parts).
    pub pipeline: Pipeline,
    pub store: Arc<Store>,
    pub scorer: Arc<dyn Scorer>,
    pub index: Arc<SeriesIndex>,
    pub tracker: Arc<AnomalyTracker>,
    /// Each machine's usage state.
    pub usage: Arc<UsageTracker>,
    pub metrics: Arc<Metrics>,
    /// The dashboard's live feed of accepted points and anomaly changes.
    pub live: Arc<LiveFeed>,
    /// Alerting, once attached ([`crate::Server::attach_alerts`]).
    pub alerts: std::sync::OnceLock<lookout_alert::AlertHandle>,
    /// False until the index is loaded (and, in `lookout serve`, the warm start is
    /// done), and again once shutdown begins.
    pub ready: AtomicBool,
    /// True while the warm start replays stored history: ingestion answers 503 with
    /// `Retry-After`, since a live point would make that series' history out of order
    /// (the pipeline's flag).
    pub warming: Arc<AtomicBool>,
    /// Trained traffic models, loaded on first use.
    pub traffic_models: Option<Arc<crate::predict::models::TrafficModels>>,
    /// Admin actions ([`crate::audit`]).
    pub audit: crate::audit::AuditLog,
    /// Bytes of ingestion bodies buffered now, across requests (`max_inflight_body_bytes`).
    pub body_budget: Arc<crate::budget::Budget>,
    /// Samples reserved by PromQL queries in flight (`max_query_samples_total`).
    pub query_budget: Arc<lookout_promql::budget::SharedSamples>,
    /// Signed-in dashboards ([`crate::session`]).
    pub sessions: crate::session::Sessions,
    /// The cluster, on a cluster node (`GET /api/v1/cluster`).
    pub cluster: std::sync::OnceLock<Arc<dyn crate::cluster::ClusterView>>,
}

impl AppState {
    /// The state of a server over `pipeline`.
    pub fn new(options: ServerOptions, pipeline: Pipeline) -> AppState {
        let traffic_models = options
            .object_store
            .clone()
            .map(|store| Arc::new(crate::predict::models::TrafficModels::new(store.0)));
        let body_budget = crate::budget::Budget::with_client_share(
            "max_inflight_body_bytes",
            options.max_inflight_body_bytes,
            "max_inflight_body_bytes_per_client",
            options.max_inflight_body_bytes_per_client,
        );
        let query_budget = Arc::new(lookout_promql::budget::SharedSamples::new(
            options.max_query_samples_total,
        ));
        let sessions =
            crate::session::Sessions::new(options.auth.session_ttl, crate::session::MAX_SESSIONS);
        AppState {
            body_budget,
            query_budget,
            sessions,
            options,
            traffic_models,
            store: Arc::clone(pipeline.store()),
            scorer: Arc::clone(pipeline.scorer()),
            index: Arc::clone(pipeline.index()),
            tracker: Arc::clone(pipeline.tracker()),
            usage: Arc::clone(pipeline.usage()),
            metrics: Arc::clone(pipeline.metrics()),
            live: Arc::clone(pipeline.live()),
            warming: Arc::clone(pipeline.warming()),
            pipeline,
            alerts: Default::default(),
            ready: true.into(),
            audit: Default::default(),
            cluster: Default::default(),
        }
    }
}
