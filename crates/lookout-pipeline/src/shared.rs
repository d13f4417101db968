//! What the pipeline's parts share behind one `Arc`: options, store, engine, series
//! index, anomaly tracker, usage states, live feed, counters, subscribers.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock, RwLock};

use crossbeam_channel::Sender;
use lookout_protocol::SampleLimits;
use lookout_store::Store;

use crate::fanout::Subscribers;
use crate::index::SeriesIndex;
use crate::live::LiveFeed;
use crate::log::WriteLog;
use crate::metrics::Metrics;
use crate::scorer::Scorer;
use crate::store_stage::Job;
use crate::tracker::AnomalyTracker;
use crate::usage::{UsageOptions, UsageSubscriber, UsageTracker};

/// Tunables of the pipeline (the server fills them from its options).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineOptions {
    /// Cardinality limit: requests that would create more series are refused.
    pub max_series: usize,
    /// How far from now a live sample's timestamp may be.
    pub sample_limits: SampleLimits,
    /// Seconds of the retry hint of overload refusals.
    pub retry_after_seconds: u64,
    /// Usage states and right-sizing (`[usage]`).
    pub usage: UsageOptions,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            max_series: 1_000_000,
            sample_limits: SampleLimits::default(),
            retry_after_seconds: 1,
            usage: UsageOptions::default(),
        }
    }
}

pub(crate) struct Shared {
    pub options: PipelineOptions,
    pub store: Arc<Store>,
    pub scorer: Arc<dyn Scorer>,
    pub index: Arc<SeriesIndex>,
    pub tracker: Arc<AnomalyTracker>,
    pub usage: Arc<UsageTracker>,
    pub usage_subscriber: Arc<UsageSubscriber>,
    pub live: Arc<LiveFeed>,
    pub metrics: Arc<Metrics>,
    pub warming: Arc<AtomicBool>,
    pub subscribers: Arc<Subscribers>,
    /// The fan-out thread's queue; `None` once the pipeline stops.
    pub jobs: RwLock<Option<Sender<Job>>>,
    /// Cluster mode: where accepted writes go before they are acknowledged.
    pub log: OnceLock<Arc<dyn WriteLog>>,
}

impl Shared {
    /// A sender to the fan-out thread, unless the pipeline stopped.
    pub fn jobs(&self) -> Option<Sender<Job>> {
        self.jobs
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}
