//! Prometheus text exposition format (version 0.0.4): parsed from scrapes, written for `/metrics`.
//!
//! ```text
//! # HELP http_requests_total Requests served.
//! # TYPE http_requests_total counter
//! http_requests_total{method="post",code="200"} 1027 1395066363000
//! # TYPE latency_seconds histogram
//! latency_seconds_bucket{le="0.5"} 129
//! latency_seconds_bucket{le="+Inf"} 144
//! latency_seconds_sum 53.4
//! latency_seconds_count 144
//! ```
//!
//! The parser groups samples into [`MetricFamily`]s with their `TYPE` (so that the caller
//! can turn counters into rates) and `HELP`. Histogram and summary samples stay ordinary
//! series (`_bucket` with its `le` label, `_sum`, `_count`, and summary quantiles with
//! `quantile`) attached to their family. A sample without a `TYPE` forms an untyped
//! family of its own name. Values accept `+Inf`, `-Inf` and `NaN`; label values the
//! escapes `\\`, `\"`, `\n`; `HELP` text `\\` and `\n`. A sample without a timestamp
//! gets the caller's default (the scrape time).
//!
//! Like a Prometheus scrape, a body with any malformed line is refused whole, the error
//! naming each bad line (up to [`crate::MAX_REPORTED_ERRORS`]) and its column.

pub mod counters;
mod parse;
mod write;

use std::fmt;
use std::str::FromStr;

use lookout_model::Sample;

pub use parse::parse_exposition;
pub use write::{format_value, ExpositionWriter, CONTENT_TYPE, NO_LABELS};

/// The `# TYPE` of a metric family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    #[default]
    Untyped,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
        }
    }

    /// The sample-name suffixes that belong to a family of this type besides its own name.
    fn member_suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricType::Summary => &["_sum", "_count", "_created"],
            MetricType::Counter => &["_created"],
            MetricType::Gauge | MetricType::Untyped => &[],
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text after `# TYPE name` was not a known type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric type {0:?} (expected counter, gauge, histogram, summary or untyped)")]
pub struct UnknownMetricType(pub String);

impl FromStr for MetricType {
    type Err = UnknownMetricType;

    /// Also accepts OpenMetrics' `unknown` as untyped.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "counter" => Ok(MetricType::Counter),
            "gauge" => Ok(MetricType::Gauge),
            "histogram" => Ok(MetricType::Histogram),
            "summary" => Ok(MetricType::Summary),
            "untyped" | "unknown" => Ok(MetricType::Untyped),
            other => Err(UnknownMetricType(other.to_string())),
        }
    }
}

/// One metric family: its name, type, help text and samples in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: String,
    pub metric_type: MetricType,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

/// A parsed exposition body: families in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub families: Vec<MetricFamily>,
}

impl Exposition {
    /// Every sample with the type of its family, in family order.
    pub fn typed_samples(&self) -> impl Iterator<Item = (MetricType, &Sample)> + '_ {
        self.families.iter().flat_map(|family| {
            family
                .samples
                .iter()
                .map(move |sample| (family.metric_type, sample))
        })
    }

    /// All samples, in family order.
    pub fn into_samples(self) -> Vec<Sample> {
        self.families
            .into_iter()
            .flat_map(|family| family.samples)
            .collect()
    }

    /// The family with this name.
    pub fn family(&self, name: &str) -> Option<&MetricFamily> {
        self.families.iter().find(|family| family.name == name)
    }
}

#[cfg(test)]
mod tests;
