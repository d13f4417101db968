//! Alerting counters for `/metrics`:
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `lookout_alert_events_total` | counter | anomaly events received from the detection path |
//! | `lookout_alert_events_backpressure_total` | counter | events that waited for room in the bounded channel |
//! | `lookout_alert_notifications_total` | counter | notifications queued in the outbox (one per group message) |
//! | `lookout_alert_deliveries_total{notifier}` | counter | successful deliveries |
//! | `lookout_alert_delivery_failures_total{notifier,reason}` | counter | failed delivery attempts |
//! | `lookout_alert_outbox_errors_total` | counter | alert database writes that failed |
//! | `lookout_alert_delivery_latency_seconds` | histogram | anomaly event → accepted by the notifier (first attempt) |

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use lookout_protocol::exposition::{ExpositionWriter, MetricType};

const BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Debug, Default)]
pub struct AlertMetrics {
    pub events: AtomicU64,
    pub events_backpressure: AtomicU64,
    pub notifications: AtomicU64,
    pub outbox_errors: AtomicU64,
    deliveries: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<BTreeMap<(String, String), u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl AlertMetrics {
    /// Metrics that show every notifier and failure reason at zero.
    pub fn new(notifiers: &[String], reasons: &[&str]) -> Self {
        let metrics = AlertMetrics::default();
        {
            let mut deliveries = lock(&metrics.deliveries);
            let mut failures = lock(&metrics.failures);
            for name in notifiers {
                deliveries.insert(name.clone(), 0);
                for reason in reasons {
                    failures.insert((name.clone(), reason.to_string()), 0);
                }
            }
        }
        metrics
    }

    pub fn delivered(&self, notifier: &str) {
        *lock(&self.deliveries)
            .entry(notifier.to_string())
            .or_insert(0) += 1;
    }

    pub fn failed(&self, notifier: &str, reason: &str) {
        *lock(&self.failures)
            .entry((notifier.to_string(), reason.to_string()))
            .or_insert(0) += 1;
    }

    pub fn deliveries(&self, notifier: &str) -> u64 {
        lock(&self.deliveries).get(notifier).copied().unwrap_or(0)
    }

    pub fn failures(&self, notifier: &str, reason: &str) -> u64 {
        lock(&self.failures)
            .get(&(notifier.to_string(), reason.to_string()))
            .copied()
            .unwrap_or(0)
    }

    pub fn observe_latency(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        if let Some(index) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.latency_buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms
            .fetch_add(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// Appends the Prometheus text exposition.
    pub fn render(&self, out: &mut ExpositionWriter) {
        let counter = |out: &mut ExpositionWriter, name: &str, help: &str, value: &AtomicU64| {
            out.single(
                name,
                help,
                MetricType::Counter,
                value.load(Ordering::Relaxed) as f64,
            );
        };
        counter(
            out,
            "lookout_alert_events_total",
            "Anomaly events received by alerting.",
            &self.events,
        );
        counter(
            out,
            "lookout_alert_events_backpressure_total",
            "Anomaly events that waited for room in the bounded alert channel.",
            &self.events_backpressure,
        );
        counter(
            out,
            "lookout_alert_notifications_total",
            "Group notifications queued in the outbox.",
            &self.notifications,
        );
        counter(
            out,
            "lookout_alert_outbox_errors_total",
            "Alert database writes that failed.",
            &self.outbox_errors,
        );
        let deliveries = "lookout_alert_deliveries_total";
        out.family(
            deliveries,
            "Notifications accepted by each notifier.",
            MetricType::Counter,
        );
        for (notifier, count) in lock(&self.deliveries).iter() {
            out.sample(deliveries, [("notifier", notifier)], *count as f64);
        }
        let failures = "lookout_alert_delivery_failures_total";
        out.family(
            failures,
            "Failed delivery attempts by notifier and reason.",
            MetricType::Counter,
        );
        for ((notifier, reason), count) in lock(&self.failures).iter() {
            let labels = [("notifier", notifier), ("reason", reason)];
            out.sample(failures, labels, *count as f64);
        }
        out.histogram(
            "lookout_alert_delivery_latency_seconds",
            "Time from the anomaly event to the notifier accepting the message.",
            &BUCKETS,
            self.latency_buckets
                .iter()
                .map(|bucket| bucket.load(Ordering::Relaxed)),
            self.latency_sum_ms.load(Ordering::Relaxed) as f64 / 1000.0,
            self.latency_count.load(Ordering::Relaxed),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_notifier_and_reason() {
        let metrics = AlertMetrics::new(&["am".into()], &["connect", "http_5xx"]);
        metrics.failed("am", "http_5xx");
        metrics.delivered("am");
        metrics.observe_latency(Duration::from_millis(300));
        let mut writer = lookout_protocol::exposition::ExpositionWriter::new();
        metrics.render(&mut writer);
        let text = writer.finish();
        assert!(
            text.contains("lookout_alert_deliveries_total{notifier=\"am\"} 1"),
            "{text}"
        );
        assert!(text.contains(
            "lookout_alert_delivery_failures_total{notifier=\"am\",reason=\"http_5xx\"} 1"
        ));
        assert!(text.contains(
            "lookout_alert_delivery_failures_total{notifier=\"am\",reason=\"connect\"} 0"
        ));
        assert!(text.contains("lookout_alert_delivery_latency_seconds_bucket{le=\"0.5\"} 1"));
    }
}
