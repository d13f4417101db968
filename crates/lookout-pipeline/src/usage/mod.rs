//! Machine usage states and right-sizing hints.
//!
//! Every machine's CPU utilization series (by default `host_cpu_utilization_percent`
//! from the host source, `CPUUtilization` from CloudWatch, and
//! `node_cpu_utilization_percent` derived from node_exporter by the scrape source) runs
//! through [`UsageRules`], the detection engine's usage rules, which classify each
//! sample as `idle`, `underused`, `normal`, `surge` or `sharp_drop`. The machine is
//! named by the first of `machine_labels` the series carries (`instance_id`, `host`,
//! `instance`); the first CPU series seen for a machine is the one followed.
//!
//! Exposed as:
//! - `GET /api/v1/machines` (served by `lookout-server`): each machine's state, since
//!   when, its latest CPU value, and a right-sizing hint;
//! - a stored series per machine, `lookout_usage_state_code{machine="..."}`, one point
//!   per CPU sample with the state as a number ([`UsageCode`]: 0 normal, 1 idle,
//!   2 underused, 3 surge, 4 sharp_drop), queryable and chartable like any series;
//! - `/metrics`: `lookout_usage_state{machine, state}` 1 for the current state and 0
//!   for the four others (the kube-state-metrics convention), and
//!   `lookout_rightsizing_candidate{machine, action}` 1 for machines with a hint.
//!
//! A **right-sizing hint** appears once a machine's CPU has stayed at or below the
//! underused threshold (`downsize`), or the idle threshold (`stop`), for
//! `rightsize_after` of data time in a row (default 14 days) and its state is still
//! idle or underused: "downsize i-0abc: CPU ≤ 30% for 14 days (peak 27.1%)". One sample
//! above the threshold ends the run.
//!
//! Memory: ~200 bytes per machine. The states live in memory: after a restart they are
//! rebuilt from new samples (the low-usage run restarts too).
//!
//! In the pipeline, [`UsageSubscriber`] is a load-shedding subscriber
//! ([`Policy::Shed`]): on its own thread it feeds each batch's scored CPU samples to the
//! tracker and queues the state codes to the store as a batch of their own, without
//! waiting (when the store's queue is full the codes of that batch are dropped and
//! counted in `lookout_usage_codes_dropped_total`). Cost: one name lookup per sample
//! and one lock per batch; a store batch only for batches with CPU samples.

pub mod metrics;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lookout_detect::detectors::usage::{UsageConfig, UsageRules};
use lookout_model::{MachineIdentity, SeriesKey, UsageState, DEFAULT_MACHINE_LABELS};
use lookout_store::{Store, WriteBatch};
use serde::Serialize;

use crate::fanout::{Policy, ScoredBatch, Subscriber};
use crate::index::SeriesIndex;
use crate::scorer::ScoreOutcome;

pub use metrics::render_metrics;

/// The stored series of each machine's state code.
pub const STATE_CODE_METRIC: &str = "lookout_usage_state_code";
/// The `/metrics` family of each machine's state, 1/0 per state.
pub const STATE_METRIC: &str = "lookout_usage_state";
/// The `/metrics` family of machines with a right-sizing hint.
pub const CANDIDATE_METRIC: &str = "lookout_rightsizing_candidate";

/// Settings of usage tracking (`[usage]` in the configuration file).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageOptions {
    /// Thresholds of the usage rules.
    pub rules: UsageConfig,
    /// How long a machine must stay idle or underused before a right-sizing hint.
    pub rightsize_after: Duration,
    /// Metric names holding a machine's CPU utilization in percent.
    pub cpu_metrics: Vec<String>,
    /// Labels naming the machine, first present wins.
    pub machine_labels: Vec<String>,
}

impl Default for UsageOptions {
    fn default() -> Self {
        UsageOptions {
            rules: UsageConfig::default(),
            rightsize_after: Duration::from_secs(14 * 86_400),
            cpu_metrics: [
                "host_cpu_utilization_percent",
                "CPUUtilization",
                "node_cpu_utilization_percent",
            ]
            .map(String::from)
            .to_vec(),
            machine_labels: DEFAULT_MACHINE_LABELS
                .iter()
                .map(|l| l.to_string())
                .collect(),
        }
    }
}

/// The number a state is stored as in `lookout_usage_state_code`.
pub struct UsageCode;

impl UsageCode {
    pub fn of(state: UsageState) -> f64 {
        match state {
            UsageState::Normal => 0.0,
            UsageState::Idle => 1.0,
            UsageState::Underused => 2.0,
            UsageState::Surge => 3.0,
            UsageState::SharpDrop => 4.0,
        }
    }
}

/// Every state, in code order.
pub const ALL_STATES: [UsageState; 5] = [
    UsageState::Normal,
    UsageState::Idle,
    UsageState::Underused,
    UsageState::Surge,
    UsageState::SharpDrop,
];

/// A suggestion for a machine that has been idle or underused long enough.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RightSizingHint {
    /// `stop` (idle) or `downsize` (underused).
    pub action: &'static str,
    pub message: String,
    /// The threshold the CPU stayed at or below (percent).
    pub threshold_percent: f64,
    /// Start of the low-usage run (unix ms) and its highest CPU value.
    pub low_since_ms: i64,
    pub peak_percent: f64,
}

/// One machine as `GET /api/v1/machines` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineReport {
    pub machine: String,
    /// The CPU series followed.
    pub series: String,
    pub state: &'static str,
    /// When the machine entered its current state (unix ms of the first sample in it).
    pub since_ms: i64,
    pub last_ms: i64,
    pub cpu_percent: f64,
    pub hint: Option<RightSizingHint>,
}

/// A run of samples at or below a threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LowRun {
    since_ms: i64,
    peak: f64,
}

impl LowRun {
    fn next(run: Option<LowRun>, holds: bool, timestamp_ms: i64, value: f64) -> Option<LowRun> {
        if !holds {
            return None;
        }
        Some(match run {
            Some(run) => LowRun {
                since_ms: run.since_ms,
                peak: run.peak.max(value),
            },
            None => LowRun {
                since_ms: timestamp_ms,
                peak: value,
            },
        })
    }
}

#[derive(Debug, Clone)]
struct MachineUsage {
    series: SeriesKey,
    rules: UsageRules,
    state: UsageState,
    since_ms: i64,
    last_ms: i64,
    last_value: f64,
    idle: Option<LowRun>,
    underused: Option<LowRun>,
}

/// Usage state of every machine; one lock per ingested batch.
#[derive(Debug)]
pub struct UsageTracker {
    options: UsageOptions,
    identity: MachineIdentity,
    machines: Mutex<BTreeMap<String, MachineUsage>>,
}

impl Default for UsageTracker {
    fn default() -> Self {
        UsageTracker::new(UsageOptions::default())
    }
}

impl UsageTracker {
    /// Invalid rule thresholds (the configuration loader refuses them) fall back to the
    /// defaults, with a warning.
    pub fn new(mut options: UsageOptions) -> UsageTracker {
        if let Err(error) = options.rules.validate() {
            tracing::warn!(%error, "invalid usage thresholds; using the defaults");
            options.rules = UsageConfig::default();
        }
        UsageTracker {
            identity: MachineIdentity::new(options.machine_labels.iter().cloned()),
            options,
            machines: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn options(&self) -> &UsageOptions {
        &self.options
    }

    /// The rule naming the machine of a series (`machine_labels`), shared with the
    /// dashboard's overview and alert texts.
    pub fn identity(&self) -> &MachineIdentity {
        &self.identity
    }

    /// The machine a CPU series belongs to, or `None` when it is not a CPU series.
    pub fn machine_of(&self, key: &SeriesKey) -> Option<String> {
        if !self.options.cpu_metrics.contains(&key.name) {
            return None;
        }
        self.identity.machine(&key.labels).map(str::to_string)
    }

    /// Observes CPU samples (in time order per series) and returns, for each one that
    /// was followed, the machine, the time and its new state.
    pub fn observe<'a>(
        &self,
        samples: impl IntoIterator<Item = (&'a SeriesKey, i64, f64)>,
    ) -> Vec<(String, i64, UsageState)> {
        let mut changes = Vec::new();
        let mut machines = self.lock();
        for (key, timestamp_ms, value) in samples {
            let Some(machine) = self.machine_of(key) else {
                continue;
            };
            if !value.is_finite() {
                continue;
            }
            let usage = machines
                .entry(machine.clone())
                .or_insert_with(|| MachineUsage {
                    series: key.clone(),
                    rules: UsageRules::new(self.options.rules.clone()).unwrap_or_default(),
                    state: UsageState::Normal,
                    since_ms: timestamp_ms,
                    last_ms: i64::MIN,
                    last_value: value,
                    idle: None,
                    underused: None,
                });
            if usage.series != *key || timestamp_ms <= usage.last_ms {
                continue;
            }
            let state = usage.rules.observe(value);
            if state != usage.state || usage.last_ms == i64::MIN {
                usage.since_ms = timestamp_ms;
            }
            usage.state = state;
            usage.last_ms = timestamp_ms;
            usage.last_value = value;
            let rules = &self.options.rules;
            usage.idle = LowRun::next(
                usage.idle,
                value <= rules.idle_max_percent,
                timestamp_ms,
                value,
            );
            usage.underused = LowRun::next(
                usage.underused,
                value <= rules.underused_max_percent,
                timestamp_ms,
                value,
            );
            changes.push((machine, timestamp_ms, state));
        }
        changes
    }

    /// Every machine, ordered by name.
    pub fn machines(&self) -> Vec<MachineReport> {
        self.lock()
            .iter()
            .map(|(machine, usage)| MachineReport {
                machine: machine.clone(),
                series: usage.series.to_string(),
                state: usage.state.as_str(),
                since_ms: usage.since_ms,
                last_ms: usage.last_ms,
                cpu_percent: usage.last_value,
                hint: self.hint(machine, usage),
            })
            .collect()
    }

    fn hint(&self, machine: &str, usage: &MachineUsage) -> Option<RightSizingHint> {
        if !matches!(usage.state, UsageState::Idle | UsageState::Underused) {
            return None;
        }
        let after = i64::try_from(self.options.rightsize_after.as_millis()).unwrap_or(i64::MAX);
        let rules = &self.options.rules;
        let long_enough = |run: &Option<LowRun>| {
            run.filter(|run| usage.last_ms.saturating_sub(run.since_ms) >= after)
        };
        let (action, verb, threshold, run) = if let Some(run) = long_enough(&usage.idle) {
            ("stop", "stop or downsize", rules.idle_max_percent, run)
        } else if let Some(run) = long_enough(&usage.underused) {
            ("downsize", "downsize", rules.underused_max_percent, run)
        } else {
            return None;
        };
        let span = human_span(usage.last_ms - run.since_ms);
        Some(RightSizingHint {
            action,
            message: format!(
                "{verb} {machine}: CPU ≤ {}% for {span} (peak {:.1}%)",
                trim_number(threshold),
                run.peak
            ),
            threshold_percent: threshold,
            low_since_ms: run.since_ms,
            peak_percent: run.peak,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, MachineUsage>> {
        self.machines
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Batches queued for the usage subscriber's thread before new ones are dropped.
pub const SUBSCRIBER_QUEUE: usize = 1024;

/// Feeds the scored CPU samples of each batch to the tracker and stores each machine's
/// state code (see the module doc).
pub struct UsageSubscriber {
    usage: Arc<UsageTracker>,
    index: Arc<SeriesIndex>,
    store: Arc<Store>,
    dropped_codes: AtomicU64,
}

impl UsageSubscriber {
    pub fn new(usage: Arc<UsageTracker>, index: Arc<SeriesIndex>, store: Arc<Store>) -> Self {
        UsageSubscriber {
            usage,
            index,
            store,
            dropped_codes: AtomicU64::new(0),
        }
    }

    /// The state codes of a batch, ready for the store (`None`: no machine changed).
    fn record(&self, batch: &ScoredBatch) -> Option<WriteBatch> {
        let state = self;
        let entries = &batch.entries;
        let outcomes = &batch.outcomes;
        let cpu = entries
            .iter()
            .zip(outcomes)
            .filter_map(|(entry, outcome)| match outcome {
                ScoreOutcome::Scored(verdict) => {
                    Some((&*entry.key, verdict.timestamp_ms, verdict.value))
                }
                ScoreOutcome::NotScored(_) => None,
            })
            .filter(|(key, _, _)| state.usage.options.cpu_metrics.contains(&key.name));
        let changes = state.usage.observe(cpu);
        if changes.is_empty() {
            return None;
        }
        let keys: Vec<SeriesKey> = changes
            .iter()
            .map(|(machine, _, _)| SeriesKey::new(STATE_CODE_METRIC).with_label("machine", machine))
            .collect();
        let refs: Vec<&SeriesKey> = keys.iter().collect();
        let Ok(code_entries) = state
            .index
            .resolve(&refs, |key| state.store.series_entry(key))
        else {
            tracing::debug!("usage state series over the series limit; not stored");
            return None;
        };
        let mut codes = WriteBatch::with_capacity(changes.len());
        for (entry, (_, timestamp_ms, usage_state)) in code_entries.iter().zip(&changes) {
            codes.push(entry.id, *timestamp_ms, UsageCode::of(*usage_state));
        }
        Some(codes)
    }

    /// State codes not stored because the store's queue was full.
    pub fn dropped_codes(&self) -> u64 {
        self.dropped_codes.load(Ordering::Relaxed)
    }
}

impl Subscriber for UsageSubscriber {
    fn name(&self) -> &'static str {
        "usage"
    }

    fn policy(&self) -> Policy {
        Policy::Shed {
            capacity: SUBSCRIBER_QUEUE,
        }
    }

    fn on_scored(&self, batch: &ScoredBatch) {
        let Some(codes) = self.record(batch) else {
            return;
        };
        let count = codes.len() as u64;
        // The commit is not awaited: the codes are derived, a failure only loses them.
        if let Err(rejected) = self.store.try_submit(codes) {
            self.dropped_codes.fetch_add(count, Ordering::Relaxed);
            tracing::debug!(error = %rejected.error, "usage state codes not stored");
        }
    }
}

/// A span of milliseconds in words: "14 days", "5 hours", "3 minutes".
pub fn human_span(ms: i64) -> String {
    let minutes = ms / 60_000;
    let (count, unit) = if minutes >= 2 * 1440 {
        (minutes / 1440, "day")
    } else if minutes >= 120 {
        (minutes / 60, "hour")
    } else if ms >= 120_000 {
        (minutes, "minute")
    } else {
        (ms / 1000, "second")
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests;
