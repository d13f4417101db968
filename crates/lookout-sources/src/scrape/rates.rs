//! Cumulative samples of a scrape turned into per-second rates, one step of Prometheus'
//! `rate()` at a time.
//!
//! Which samples are cumulative follows the family's `# TYPE`:
//! - `counter`: every sample (`x_total`, ...);
//! - `histogram`: `_bucket`, `_sum`, `_count`;
//! - `summary`: `_sum`, `_count` (the `quantile` samples are gauges);
//! - `gauge` and `untyped`: nothing; they pass through as they are.
//!
//! `_created` samples (creation timestamps) are dropped. A cumulative series yields no
//! sample at its first scrape (a rate needs two points), then
//! `(value − previous) / seconds` named `<name>:rate` (so `node_network_receive_bytes_total`
//! becomes `node_network_receive_bytes_total:rate`, bytes per second). A value lower than
//! the previous one is a counter reset (the exporter restarted): like Prometheus, the
//! counter is taken to have restarted from zero, so the rate is `value / seconds`.
//! A step with no time elapsed yields nothing and keeps the older point.
//!
//! Memory: one `(timestamp, value)` per cumulative series; series absent for
//! [`FORGET_AFTER_SCRAPES`] scrapes in a row are forgotten.

use std::collections::HashMap;

use lookout_model::{Sample, SeriesKey};
use lookout_protocol::exposition::{Exposition, MetricType};

/// Suffix of the series holding a counter's per-second rate.
pub const RATE_SUFFIX: &str = ":rate";

/// Scrapes after which a cumulative series not seen again is forgotten.
pub const FORGET_AFTER_SCRAPES: u64 = 5;

#[derive(Debug, Clone, Copy)]
struct Previous {
    timestamp_ms: i64,
    value: f64,
    seen_at_scrape: u64,
}

/// Rate state of one target.
#[derive(Debug, Default)]
pub struct RateConverter {
    previous: HashMap<SeriesKey, Previous>,
    scrapes: u64,
}

/// How one exposition sample is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    Gauge,
    Cumulative,
    Dropped,
}

/// The kind of a sample named `sample_name` in a family of `metric_type` named `family`.
pub fn sample_kind(metric_type: MetricType, family: &str, sample_name: &str) -> SampleKind {
    let suffix = sample_name.strip_prefix(family).unwrap_or("");
    if suffix == "_created" {
        return SampleKind::Dropped;
    }
    match metric_type {
        MetricType::Counter => SampleKind::Cumulative,
        MetricType::Histogram => SampleKind::Cumulative,
        MetricType::Summary if suffix == "_sum" || suffix == "_count" => SampleKind::Cumulative,
        MetricType::Summary | MetricType::Gauge | MetricType::Untyped => SampleKind::Gauge,
    }
}

impl RateConverter {
    /// Converts one scrape. `relabel` turns an exposed key into the stored key (adds the
    /// target's labels) before rates are tracked, so that state is per final series.
    pub fn convert(
        &mut self,
        exposition: Exposition,
        mut relabel: impl FnMut(SeriesKey) -> SeriesKey,
    ) -> Vec<Sample> {
        self.scrapes += 1;
        let scrape = self.scrapes;
        let mut out = Vec::new();
        for family in exposition.families {
            for sample in family.samples {
                let kind = sample_kind(family.metric_type, &family.name, &sample.key.name);
                if kind == SampleKind::Dropped || !sample.value.is_finite() {
                    continue;
                }
                let key = relabel(sample.key);
                if kind == SampleKind::Gauge {
                    out.push(Sample {
                        key,
                        timestamp_ms: sample.timestamp_ms,
                        value: sample.value,
                    });
                    continue;
                }
                if let Some(rate) = self.step(&key, sample.timestamp_ms, sample.value, scrape) {
                    let mut key = key;
                    key.name.push_str(RATE_SUFFIX);
                    out.push(Sample {
                        key,
                        timestamp_ms: sample.timestamp_ms,
                        value: rate,
                    });
                }
            }
        }
        self.previous
            .retain(|_, previous| scrape - previous.seen_at_scrape < FORGET_AFTER_SCRAPES);
        out
    }

    /// Records one cumulative point and returns the rate since the previous one.
    fn step(&mut self, key: &SeriesKey, timestamp_ms: i64, value: f64, scrape: u64) -> Option<f64> {
        let current = Previous {
            timestamp_ms,
            value,
            seen_at_scrape: scrape,
        };
        let Some(previous) = self.previous.get_mut(key) else {
            self.previous.insert(key.clone(), current);
            return None;
        };
        let elapsed_ms = timestamp_ms - previous.timestamp_ms;
        if elapsed_ms <= 0 {
            previous.seen_at_scrape = scrape;
            return None;
        }
        let increase = if value >= previous.value {
            value - previous.value
        } else {
            value
        };
        *previous = current;
        Some(increase / (elapsed_ms as f64 / 1000.0))
    }

    /// Cumulative series currently remembered.
    pub fn tracked_series(&self) -> usize {
        self.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_protocol::exposition::parse_exposition;

    fn scrape(converter: &mut RateConverter, body: &str, at_ms: i64) -> Vec<(String, f64)> {
        let exposition = parse_exposition(body.as_bytes(), at_ms).unwrap();
        let mut samples: Vec<(String, f64)> = converter
            .convert(exposition, |key| key)
            .into_iter()
            .map(|sample| (sample.key.to_string(), sample.value))
            .collect();
        samples.sort_by(|a, b| a.0.cmp(&b.0));
        samples
    }

    const BODY: &str = "# TYPE req_total counter\nreq_total{code=\"200\"} VALUE\n\
        # TYPE temp gauge\ntemp 21.5\n\
        # TYPE lat histogram\nlat_bucket{le=\"1\"} VALUE\nlat_bucket{le=\"+Inf\"} VALUE\nlat_sum VALUE\nlat_count VALUE\nlat_created 1700000000\n\
        # TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.2\nrpc_sum VALUE\nrpc_count VALUE\n";

    fn body(value: f64) -> String {
        BODY.replace("VALUE", &value.to_string())
    }

    #[test]
    fn first_scrape_yields_gauges_only_then_rates() {
        let mut converter = RateConverter::default();
        let first = scrape(&mut converter, &body(100.0), 0);
        assert_eq!(
            first,
            vec![
                ("rpc{quantile=\"0.5\"}".to_string(), 0.2),
                ("temp".to_string(), 21.5)
            ]
        );
        let second = scrape(&mut converter, &body(130.0), 15_000);
        let rates: Vec<&(String, f64)> = second
            .iter()
            .filter(|(name, _)| name.contains(RATE_SUFFIX))
            .collect();
        assert_eq!(rates.len(), 7, "{second:?}");
        assert!(rates.iter().all(|(_, value)| (*value - 2.0).abs() < 1e-12));
        assert!(second
            .iter()
            .any(|(name, _)| name == "req_total:rate{code=\"200\"}"));
        assert!(second.iter().all(|(name, _)| !name.contains("created")));
    }

    #[test]
    fn a_counter_reset_counts_from_zero() {
        let mut converter = RateConverter::default();
        scrape(&mut converter, &body(1_000.0), 0);
        let after_reset = scrape(&mut converter, &body(20.0), 10_000);
        let rate = after_reset
            .iter()
            .find(|(name, _)| name.starts_with("req_total:rate"))
            .unwrap()
            .1;
        assert_eq!(rate, 2.0);
    }

    #[test]
    fn no_rate_without_elapsed_time_and_forgotten_series_restart() {
        let mut converter = RateConverter::default();
        scrape(&mut converter, &body(1.0), 5_000);
        let same_time = scrape(&mut converter, &body(2.0), 5_000);
        assert!(same_time
            .iter()
            .all(|(name, _)| !name.contains(RATE_SUFFIX)));
        assert_eq!(converter.tracked_series(), 7);
        for step in 1..=FORGET_AFTER_SCRAPES as i64 {
            scrape(&mut converter, "# TYPE temp gauge\ntemp 1\n", 5_000 + step);
        }
        assert_eq!(converter.tracked_series(), 0);
    }

    #[test]
    fn stale_and_non_finite_values_are_skipped() {
        let mut converter = RateConverter::default();
        let samples = scrape(&mut converter, "# TYPE g gauge\ng NaN\nh +Inf\n", 0);
        assert!(samples.is_empty(), "{samples:?}");
    }
}
