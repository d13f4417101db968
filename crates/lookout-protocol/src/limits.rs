//! Per-sample validation shared by every format: names, finite values, sane timestamps.

use lookout_model::{validate_label_name, validate_metric_name, Sample};

use crate::batch::Batch;
use crate::error::ProtocolError;

/// Bounds a sample must satisfy to be ingested.
///
/// A sample is refused when its metric name or a label name breaks Prometheus' rules,
/// when its value is NaN or ±Inf (detectors need numbers; Prometheus stale markers are
/// handled earlier by the remote write decoder), or when its timestamp lies more than
/// `max_past_ms` before or `max_future_ms` after the caller's `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleLimits {
    /// How old a sample may be, in milliseconds before now. Default: 24 hours.
    pub max_past_ms: i64,
    /// How far ahead a sample may be (clock skew), in milliseconds after now. Default: 10 minutes.
    pub max_future_ms: i64,
}

impl Default for SampleLimits {
    fn default() -> Self {
        SampleLimits {
            max_past_ms: 24 * 3_600_000,
            max_future_ms: 10 * 60_000,
        }
    }
}

impl SampleLimits {
    /// Checks one sample; the error names the series and what was wrong.
    pub fn check(&self, sample: &Sample, now_ms: i64) -> Result<(), ProtocolError> {
        let key = &sample.key;
        if let Err(error) = validate_metric_name(&key.name) {
            return Err(ProtocolError::InvalidMetricName {
                series: key.to_string(),
                reason: error.to_string(),
            });
        }
        if let Some(label) = key
            .labels
            .keys()
            .find(|label| validate_label_name(label).is_err())
        {
            return Err(ProtocolError::InvalidLabelName {
                series: key.to_string(),
                label: label.clone(),
                reason: "is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)",
            });
        }
        if !sample.value.is_finite() {
            return Err(ProtocolError::NonFiniteValue {
                series: key.to_string(),
                timestamp_ms: sample.timestamp_ms,
                value: sample.value,
            });
        }
        let out_of_range = |limit_ms: i64, in_future: bool| ProtocolError::TimestampOutOfRange {
            series: key.to_string(),
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
}
