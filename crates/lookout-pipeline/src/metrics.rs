//! lookout's own health, exposed at `GET /metrics` in the Prometheus text format.
//!
//! Counters and histograms are lock-free atomics on the hot path; counters keyed by a
//! reason take a short mutex once per request, never per sample.
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `lookout_ingest_requests_total{protocol}` | counter | ingestion requests received |
//! | `lookout_ingest_samples_total{protocol}` | counter | samples acknowledged (stored) |
//! | `lookout_ingest_rejected_requests_total{reason}` | counter | requests refused, by reason |
//! | `lookout_ingest_rejected_samples_total{reason}` | counter | samples in refused requests, by reason |
//! | `lookout_ingest_ignored_samples_total{reason}` | counter | valid but unmodelled input skipped (stale markers, ...) |
//! | `lookout_samples_not_scored_total{reason}` | counter | samples the engine did not score: `out_of_order` (stored without a verdict), `duplicate` (a retry of the newest scored point: nothing stored), `conflicting_value` (the newest scored time with another value: refused, also counted in `lookout_ingest_rejected_samples_total{reason="conflicting_value"}`), `non_finite`, `series_limit` |
//! | `lookout_ingest_in_flight_requests` | gauge | requests between arrival and answer |
//! | `lookout_engine_queue_depth` | gauge | batches waiting for detection workers |
//! | `lookout_series_active` | gauge | series in the index |
//! | `lookout_detect_latency_seconds` | histogram | one batch's time in the engine |
//! | `lookout_store_commit_latency_seconds` | histogram | one batch's time from store submit to durable commit |
//! | `lookout_ingest_latency_seconds` | histogram | one request from arrival to answer |
//! | `lookout_anomaly_score{<labels>, lookout_metric}` | gauge | latest score of every series |
//! | `lookout_subscriber_delivered_total{subscriber}` | counter | scored batches handed to each subscriber ([`crate::fanout`]) |
//! | `lookout_subscriber_dropped_total{subscriber}` | counter | batches a load-shedding subscriber missed (its queue was full) |
//! | `lookout_usage_codes_dropped_total` | counter | usage state codes not stored (the store's queue was full) |

use lookout_protocol::exposition::{ExpositionWriter, MetricType};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Bucket upper bounds (seconds) of every latency histogram.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        if let Some(index) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(duration.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn write(&self, out: &mut ExpositionWriter, name: &str, help: &str) {
        out.histogram(
            name,
            help,
            &LATENCY_BUCKETS,
            self.buckets
                .iter()
                .map(|bucket| bucket.load(Ordering::Relaxed)),
            self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            self.count(),
        );
    }
}

/// Counters keyed by one label value (protocol, reason).
#[derive(Debug, Default)]
pub struct LabelledCounter {
    values: Mutex<BTreeMap<&'static str, u64>>,
}

impl LabelledCounter {
    /// A counter that shows these label values at zero before they happen.
    pub fn with_labels(labels: &[&'static str]) -> Self {
        LabelledCounter {
            values: Mutex::new(labels.iter().map(|label| (*label, 0)).collect()),
        }
    }

    pub fn add(&self, label: &'static str, amount: u64) {
        *self.lock().entry(label).or_insert(0) += amount;
    }

    pub fn get(&self, label: &str) -> u64 {
        self.lock().get(label).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, u64>> {
        self.values
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn write(&self, out: &mut ExpositionWriter, name: &str, label: &str, help: &str) {
        out.family(name, help, MetricType::Counter);
        for (value, count) in self.lock().iter() {
            out.sample(name, [(label, *value)], *count as f64);
        }
    }
}

/// Every reason an ingestion request can be refused for, as counter label values.
pub const REJECT_REASONS: &[&str] = &[
    "invalid_metric_name",
    "invalid_label_name",
    "non_finite_value",
    "timestamp_out_of_range",
    "body_too_large",
    "malformed_snappy",
    "malformed_protobuf",
    "malformed_line",
    "malformed_json",
    "malformed_exposition",
    "unsupported_content",
    "series_limit",
    "engine_overloaded",
    "store_full",
    "store_failed",
    "conflicting_value",
];

pub const PROTOCOLS: &[&str] = &["remote_write", "influx", "json", "import"];

/// The server's health counters.
#[derive(Debug)]
pub struct Metrics {
    pub requests: LabelledCounter,
    pub samples: LabelledCounter,
    pub rejected_requests: LabelledCounter,
    pub rejected_samples: LabelledCounter,
    pub ignored_samples: LabelledCounter,
    pub not_scored: LabelledCounter,
    pub in_flight: AtomicI64,
    pub detect_latency: Histogram,
    pub commit_latency: Histogram,
    pub ingest_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: LabelledCounter::with_labels(PROTOCOLS),
            samples: LabelledCounter::with_labels(PROTOCOLS),
            rejected_requests: LabelledCounter::with_labels(REJECT_REASONS),
            rejected_samples: LabelledCounter::with_labels(REJECT_REASONS),
            ignored_samples: LabelledCounter::default(),
            not_scored: LabelledCounter::default(),
            in_flight: AtomicI64::new(0),
            detect_latency: Histogram::default(),
            commit_latency: Histogram::default(),
            ingest_latency: Histogram::default(),
        }
    }
}

/// Gauges read at scrape time from the engine, the index and the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    pub engine_queue_depth: usize,
    pub engine_series: usize,
    pub engine_state_bytes: usize,
    pub engine_busy_seconds: f64,
    pub series_active: usize,
}

impl Metrics {
    /// Counts one refused request with `samples` samples.
    pub fn reject(&self, reason: &'static str, samples: u64) {
        self.rejected_requests.add(reason, 1);
        self.rejected_samples.add(reason, samples);
    }

    /// Writes every own metric in the text exposition format.
    pub fn render(&self, gauges: &Gauges, out: &mut ExpositionWriter) {
        self.requests.write(
            out,
            "lookout_ingest_requests_total",
            "protocol",
            "Ingestion requests received.",
        );
        self.samples.write(
            out,
            "lookout_ingest_samples_total",
            "protocol",
            "Samples acknowledged (durably stored).",
        );
        self.rejected_requests.write(
            out,
            "lookout_ingest_rejected_requests_total",
            "reason",
            "Ingestion requests refused, by reason.",
        );
        self.rejected_samples.write(
            out,
            "lookout_ingest_rejected_samples_total",
            "reason",
            "Samples in refused ingestion requests, by reason.",
        );
        self.ignored_samples.write(
            out,
            "lookout_ingest_ignored_samples_total",
            "reason",
            "Valid input that lookout does not model, skipped.",
        );
        self.not_scored.write(
            out,
            "lookout_samples_not_scored_total",
            "reason",
            "Stored samples the detection engine did not score.",
        );
        let gauge = |out: &mut ExpositionWriter, name: &str, help: &str, value: f64| {
            out.single(name, help, MetricType::Gauge, value);
        };
        gauge(
            out,
            "lookout_ingest_in_flight_requests",
            "Ingestion requests between arrival and answer.",
            self.in_flight.load(Ordering::Relaxed) as f64,
        );
        gauge(
            out,
            "lookout_engine_queue_depth",
            "Batches waiting for detection workers.",
            gauges.engine_queue_depth as f64,
        );
        gauge(
            out,
            "lookout_engine_series",
            "Series with detector state.",
            gauges.engine_series as f64,
        );
        gauge(
            out,
            "lookout_engine_state_bytes",
            "Bytes of detector state.",
            gauges.engine_state_bytes as f64,
        );
        out.single(
            "lookout_engine_busy_seconds_total",
            "Time detection workers spent scoring.",
            MetricType::Counter,
            gauges.engine_busy_seconds,
        );
        gauge(
            out,
            "lookout_series_active",
            "Series in the series index.",
            gauges.series_active as f64,
        );
        self.detect_latency.write(
            out,
            "lookout_detect_latency_seconds",
            "Time one batch spent in the detection engine.",
        );
        self.commit_latency.write(
            out,
            "lookout_store_commit_latency_seconds",
            "Time from store submit to durable commit of one batch.",
        );
        self.ingest_latency.write(
            out,
            "lookout_ingest_latency_seconds",
            "Ingestion request from arrival to answer.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_micros(300));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(20));
        let mut writer = lookout_protocol::exposition::ExpositionWriter::new();
        histogram.write(&mut writer, "h", "help");
        let out = writer.finish();
        assert!(out.contains("h_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("h_count 3\n"), "{out}");
    }

    #[test]
    fn rejections_count_requests_and_samples_by_reason() {
        let metrics = Metrics::default();
        metrics.reject("malformed_json", 0);
        metrics.reject("non_finite_value", 7);
        let mut writer = lookout_protocol::exposition::ExpositionWriter::new();
        metrics.render(&Gauges::default(), &mut writer);
        let out = writer.finish();
        assert!(
            out.contains("lookout_ingest_rejected_requests_total{reason=\"non_finite_value\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("lookout_ingest_rejected_samples_total{reason=\"non_finite_value\"} 7\n"),
            "{out}"
        );
        assert!(
            out.contains("lookout_ingest_rejected_requests_total{reason=\"series_limit\"} 0\n"),
            "{out}"
        );
    }
}
