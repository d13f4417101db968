//! What every handler shares: options, store, engine, series index, anomaly tracker, metrics.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use lookout_protocol::SampleLimits;
use lookout_store::Store;

use crate::anomalies::tracker::AnomalyTracker;
use crate::index::SeriesIndex;
use crate::ingest::acker::Acker;
use crate::metrics::Metrics;
use crate::scorer::Scorer;
use crate::usage::{UsageOptions, UsageTracker};

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
    /// How often the store compacts (rollups and retention); `None` disables it.
    pub compaction_interval: Option<Duration>,
    /// Usage states and right-sizing (`[usage]`).
    pub usage: UsageOptions,
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
            compaction_interval: Some(Duration::from_secs(600)),
            usage: UsageOptions::default(),
        }
    }
}

/// Shared by every handler behind an `Arc`.
pub struct AppState {
    pub options: ServerOptions,
    pub store: Arc<Store>,
    pub scorer: Arc<dyn Scorer>,
    pub index: SeriesIndex,
    pub tracker: AnomalyTracker,
    /// Each machine's usage state.
    pub usage: UsageTracker,
    pub metrics: Arc<Metrics>,
    pub(crate) acker: Acker,
    /// The dashboard's live feed of committed points and anomaly changes.
    pub live: crate::ui::live::LiveFeed,
    /// Alerting, once attached ([`crate::Server::attach_alerts`]).
    pub alerts: std::sync::OnceLock<lookout_alert::AlertHandle>,
    /// False until the index is loaded (and, in `lookout serve`, the warm start is
    /// done), and again once shutdown begins.
    pub ready: AtomicBool,
    /// True while the warm start replays stored history: ingestion answers 503 with
    /// `Retry-After`, since a live point would make that series' history out of order.
    pub warming: AtomicBool,
}
