//! Per-sample validation shared by every format: names, label counts and lengths, finite
//! values, sane timestamps.

use lookout_model::{validate_label_name, validate_metric_name, Sample};

use crate::batch::Batch;
use crate::error::ProtocolError;

/// Bounds a sample must satisfy to be ingested.
///
/// A sample is refused when its metric name or a label name breaks Prometheus' rules,
/// when it has more labels than `max_labels` or a name or label value longer than
/// `max_name_bytes` / `max_label_value_bytes` (one such series would otherwise cost its
/// size in every index, answer and `/metrics` page),
/// when its value is NaN or ±Inf (detectors need numbers; Prometheus stale markers are
/// handled earlier by the remote write decoder), or when its timestamp lies more than
/// `max_past_ms` before or `max_future_ms` after the caller's `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleLimits {
    /// How old a sample may be, in milliseconds before now. Default: 24 hours.
    pub max_past_ms: i64,
    /// How far ahead a sample may be (clock skew), in milliseconds after now. Default: 10 minutes.
    pub max_future_ms: i64,
    /// Labels a series may have, the metric name not counted. Default: 30.
    pub max_labels: usize,
    /// Longest metric or label name, in bytes. Default: 1024.
    pub max_name_bytes: usize,
    /// Longest label value, in bytes. Default: 2048.
    pub max_label_value_bytes: usize,
}

impl Default for SampleLimits {
    fn default() -> Self {
        SampleLimits {
            max_past_ms: 24 * 3_600_000,
            max_future_ms: 10 * 60_000,
            max_labels: 30,
            max_name_bytes: 1024,
            max_label_value_bytes: 2048,
        }
    }
}

/// A series named in an error, cut to a readable length: an error about a 1 MB label
/// value must not be 1 MB itself.
fn series_for_error(key: &lookout_model::SeriesKey) -> String {
    const MAX_CHARS: usize = 200;
    let text = key.to_string();
    if text.chars().count() <= MAX_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_CHARS).collect();
    format!("{cut}… ({} bytes)", text.len())
}

impl SampleLimits {
    /// Checks one sample; the error names the series and what was wrong.
    pub fn check(&self, sample: &Sample, now_ms: i64) -> Result<(), ProtocolError> {
        let key = &sample.key;
        if let Some(what) = self.label_limit_broken(key) {
            return Err(ProtocolError::LabelLimit {
                series: series_for_error(key),
                what,
            });
        }
        if let Err(error) = validate_metric_name(&key.name) {
            return Err(ProtocolError::InvalidMetricName {
                series: series_for_error(key),
                reason: error.to_string(),
            });
        }
        if let Some(label) = key
            .labels
            .keys()
            .find(|label| validate_label_name(label).is_err())
        {
            return Err(ProtocolError::InvalidLabelName {
                series: series_for_error(key),
                label: label.clone(),
                reason: "is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)",
            });
        }
        if !sample.value.is_finite() {
            return Err(ProtocolError::NonFiniteValue {
                series: series_for_error(key),
                timestamp_ms: sample.timestamp_ms,
                value: sample.value,
            });
        }
        let out_of_range = |limit_ms: i64, in_future: bool| ProtocolError::TimestampOutOfRange {
            series: series_for_error(key),
            timestamp_ms: sample.timestamp_ms,
            now_ms,
            limit_ms,
            in_future,
        };
        if sample.timestamp_ms > now_ms.saturating_add(self.max_future_ms) {
            return Err(out_of_range(self.max_future_ms, true));
        }
        if sample.timestamp_ms < now_ms.saturating_sub(self.max_past_ms) {
            return Err(out_of_range(self.max_past_ms, false));
        }
        Ok(())
    }

    /// What a series breaks of the label count and length limits, if anything.
    fn label_limit_broken(&self, key: &lookout_model::SeriesKey) -> Option<String> {
        if key.labels.len() > self.max_labels {
            return Some(format!(
                "has {} labels, more than the limit of {}",
                key.labels.len(),
                self.max_labels
            ));
        }
        if key.name.len() > self.max_name_bytes {
            return Some(format!(
                "metric name of {} bytes is longer than the limit of {} bytes",
                key.name.len(),
                self.max_name_bytes
            ));
        }
        key.labels.iter().find_map(|(name, value)| {
            if name.len() > self.max_name_bytes {
                let start: String = name.chars().take(40).collect();
                return Some(format!(
                    "label name {start:?}… of {} bytes is longer than the limit of {} bytes",
                    name.len(),
                    self.max_name_bytes
                ));
            }
            (value.len() > self.max_label_value_bytes).then(|| {
                format!(
                    "label {name:?} has a value of {} bytes, longer than the limit of {} bytes",
                    value.len(),
                    self.max_label_value_bytes
                )
            })
        })
    }

    /// Removes every sample that fails [`SampleLimits::check`] from the batch, keeping
    /// the order of the others, and records it in `batch.rejected`.
    pub fn apply(&self, batch: &mut Batch, now_ms: i64) {
        let rejected = &mut batch.rejected;
        batch
            .samples
            .retain(|sample| match self.check(sample, now_ms) {
                Ok(()) => true,
                Err(error) => {
                    rejected.push(error, 1);
                    false
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use lookout_model::SeriesKey;

    use super::*;
    use crate::RejectReason;

    const NOW: i64 = 1_700_000_000_000;

    fn sample(key: SeriesKey, timestamp_ms: i64, value: f64) -> Sample {
        Sample {
            key,
            timestamp_ms,
            value,
        }
    }

    #[test]
    fn accepts_a_sane_sample() {
        let limits = SampleLimits::default();
        assert_eq!(
            limits.check(
                &sample(SeriesKey::new("cpu").with_label("host", "a"), NOW, 1.0),
                NOW
            ),
            Ok(())
        );
        assert_eq!(
            limits.check(&sample(SeriesKey::new("cpu"), NOW + 600_000, 1.0), NOW),
            Ok(())
        );
        assert_eq!(
            limits.check(&sample(SeriesKey::new("cpu"), NOW - 86_400_000, 1.0), NOW),
            Ok(())
        );
    }

    #[test]
    fn every_reason_is_reported_with_the_series() {
        let limits = SampleLimits::default();
        let cases = [
            (sample(SeriesKey::new("1cpu"), NOW, 1.0), RejectReason::InvalidMetricName, "series 1cpu: invalid metric name"),
            (
                sample(SeriesKey::new("cpu").with_label("a-b", "x"), NOW, 1.0),
                RejectReason::InvalidLabelName,
                "series cpu{a-b=\"x\"}: label name \"a-b\" is not a valid",
            ),
            (sample(SeriesKey::new("cpu"), NOW, f64::NAN), RejectReason::NonFiniteValue, "series cpu: value NaN"),
            (sample(SeriesKey::new("cpu"), NOW, f64::INFINITY), RejectReason::NonFiniteValue, "value inf at"),
            (
                sample(SeriesKey::new("cpu"), NOW + 600_001, 1.0),
                RejectReason::TimestampOutOfRange,
                "series cpu: timestamp 1700000600001 (2023-11-14T22:23:20.001Z) is beyond the future limit of 10m",
            ),
            (
                sample(SeriesKey::new("cpu"), NOW - 86_400_001, 1.0),
                RejectReason::TimestampOutOfRange,
                "is older than the past limit of 1d",
            ),
        ];
        for (sample, reason, message) in cases {
            let error = limits.check(&sample, NOW).unwrap_err();
            assert_eq!(error.reason(), reason, "{error}");
            assert!(error.to_string().contains(message), "{error}");
        }
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let limits = SampleLimits {
            max_past_ms: i64::MAX,
            max_future_ms: i64::MAX,
            ..SampleLimits::default()
        };
        assert_eq!(
            limits.check(&sample(SeriesKey::new("m"), i64::MIN + 1, 0.0), 0),
            Ok(())
        );
        assert_eq!(
            limits.check(&sample(SeriesKey::new("m"), i64::MAX, 0.0), 0),
            Ok(())
        );
        let strict = SampleLimits::default();
        assert!(strict
            .check(&sample(SeriesKey::new("m"), i64::MIN, 0.0), i64::MAX)
            .is_err());
    }

    #[test]
    fn apply_filters_in_order_and_counts() {
        let mut batch = Batch {
            samples: vec![
                sample(SeriesKey::new("a"), NOW, 1.0),
                sample(SeriesKey::new("b"), NOW, f64::NAN),
                sample(SeriesKey::new("c"), NOW, 3.0),
                sample(SeriesKey::new("d"), 0, 4.0),
            ],
            ..Batch::default()
        };
        SampleLimits::default().apply(&mut batch, NOW);
        let names: Vec<&str> = batch.samples.iter().map(|s| s.key.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(batch.rejected.counts.get(RejectReason::NonFiniteValue), 1);
        assert_eq!(
            batch.rejected.counts.get(RejectReason::TimestampOutOfRange),
            1
        );
        assert_eq!(batch.rejected.examples.len(), 2);
    }

    /// Regression: 100,000 labels, a 1 MB label value and a 100 KB label name were
    /// accepted on every protocol, and `/metrics` grew by their size.
    #[test]
    fn oversized_label_sets_are_refused_with_a_short_error() {
        let limits = SampleLimits::default();
        let mut many = SeriesKey::new("cpu");
        for i in 0..100_000 {
            many = many.with_label(format!("l{i}"), "v");
        }
        let long_value = SeriesKey::new("cpu").with_label("host", "x".repeat(1 << 20));
        let long_name = SeriesKey::new("cpu").with_label("n".repeat(100_000), "v");
        for (key, expect) in [
            (many, "100000 labels"),
            (long_value, "value of 1048576 bytes"),
            (long_name, "of 100000 bytes"),
        ] {
            let error = limits.check(&sample(key, NOW, 1.0), NOW).unwrap_err();
            assert_eq!(error.reason(), RejectReason::LabelLimit);
            let text = error.to_string();
            assert!(text.contains(expect), "{text}");
            assert!(text.len() < 600, "error of {} bytes", text.len());
        }
        let fine = SeriesKey::new("cpu").with_label("host", "x".repeat(2048));
        assert_eq!(limits.check(&sample(fine, NOW, 1.0), NOW), Ok(()));
    }
}
