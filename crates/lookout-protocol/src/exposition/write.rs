//! Writing the text format, for lookout's own `/metrics`.

use std::fmt::Write as _;

use lookout_model::SeriesKey;

use super::MetricType;

/// The `Content-Type` of a `/metrics` response in this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An empty label list for [`ExpositionWriter::sample`].
pub const NO_LABELS: [(&str, &str); 0] = [];

/// Builds an exposition body family by family.
///
/// Call [`ExpositionWriter::family`] once per family, then write its samples. Names are
/// the caller's responsibility (they are lookout's own, fixed names; debug builds check
/// them); label values and help text are escaped here.
///
/// ```
/// use lookout_protocol::exposition::{ExpositionWriter, MetricType};
/// let mut writer = ExpositionWriter::new();
/// writer.family("lookout_samples_rejected_total", "Samples refused, by reason.", MetricType::Counter);
/// writer.sample("lookout_samples_rejected_total", [("reason", "non_finite_value")], 3.0);
/// assert_eq!(
///     writer.finish(),
///     "# HELP lookout_samples_rejected_total Samples refused, by reason.\n\
///      ## TYPE lookout_samples_rejected_total counter\n\
///      lookout_samples_rejected_total{reason=\"non_finite_value\"} 3\n"
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct ExpositionWriter {
    out: String,
}

impl ExpositionWriter {
    pub fn new() -> Self {
        ExpositionWriter::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, help: &str, metric_type: MetricType) {
        debug_assert!(
            lookout_model::validate_metric_name(name).is_ok(),
            "invalid metric name {name:?}"
        );
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                other => self.out.push(other),
            }
        }
        let _ = writeln!(self.out, "\n# TYPE {name} {metric_type}");
    }

    /// One sample line without a timestamp.
    pub fn sample<K, V>(&mut self, name: &str, labels: impl IntoIterator<Item = (K, V)>, value: f64)
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.sample_line(name, labels, value, None);
    }

    /// One sample line with a timestamp in milliseconds.
    pub fn sample_at<K, V>(
        &mut self,
        name: &str,
        labels: impl IntoIterator<Item = (K, V)>,
        value: f64,
        timestamp_ms: i64,
    ) where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.sample_line(name, labels, value, Some(timestamp_ms));
    }

    /// One sample line for a series key.
    pub fn series(&mut self, key: &SeriesKey, value: f64, timestamp_ms: Option<i64>) {
        self.sample_line(&key.name, &key.labels, value, timestamp_ms);
    }

    fn sample_line<K, V>(
        &mut self,
        name: &str,
        labels: impl IntoIterator<Item = (K, V)>,
        value: f64,
        timestamp_ms: Option<i64>,
    ) where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        debug_assert!(
            lookout_model::validate_metric_name(name).is_ok(),
            "invalid metric name {name:?}"
        );
        self.out.push_str(name);
        let mut first = true;
        for (label, label_value) in labels {
            let label = label.as_ref();
            debug_assert!(
                lookout_model::validate_label_name(label).is_ok(),
                "invalid label name {label:?}"
            );
            self.out.push(if first { '{' } else { ',' });
            first = false;
            self.out.push_str(label);
            self.out.push_str("=\"");
            for c in label_value.as_ref().chars() {
                match c {
                    '\\' => self.out.push_str("\\\\"),
                    '"' => self.out.push_str("\\\""),
                    '\n' => self.out.push_str("\\n"),
                    other => self.out.push(other),
                }
            }
            self.out.push('"');
        }
        if !first {
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&format_value(value));
        if let Some(timestamp_ms) = timestamp_ms {
            let _ = write!(self.out, " {timestamp_ms}");
        }
        self.out.push('\n');
    }

    /// A family of one unlabelled sample: `# HELP`, `# TYPE`, then the value.
    pub fn single(&mut self, name: &str, help: &str, metric_type: MetricType, value: f64) {
        self.family(name, help, metric_type);
        self.sample(name, NO_LABELS, value);
    }

    /// A histogram family from per-bucket (not cumulative) counts beside their upper
    /// bounds; observations above the last bound count only in `+Inf` (`count`).
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        bounds: &[f64],
        bucket_counts: impl IntoIterator<Item = u64>,
        sum: f64,
        count: u64,
    ) {
        self.family(name, help, MetricType::Histogram);
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (bound, bucket_count) in bounds.iter().zip(bucket_counts) {
            cumulative += bucket_count;
            self.sample(&bucket, [("le", format_value(*bound))], cumulative as f64);
        }
        self.sample(&bucket, [("le", "+Inf")], count as f64);
        self.sample(&format!("{name}_sum"), NO_LABELS, sum);
        self.sample(&format!("{name}_count"), NO_LABELS, count as f64);
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A sample value as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, integers without a
/// fraction, other numbers in Rust's shortest round-trip form.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    format!("{value:?}")
}
