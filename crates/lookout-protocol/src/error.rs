//! Errors shared by every format, and the reason labels they are counted under.

use std::fmt;

/// How many individual problems a refused request reports; the rest are only counted.
pub const MAX_REPORTED_ERRORS: usize = 10;

/// Why input (a whole request or one sample) was refused, as a stable label value.
///
/// [`RejectReason::reason`] is meant for a Prometheus counter such as
/// `lookout_samples_rejected_total{reason="non_finite_value"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    InvalidMetricName,
    InvalidLabelName,
    NonFiniteValue,
    TimestampOutOfRange,
    BodyTooLarge,
    MalformedSnappy,
    MalformedProtobuf,
    MalformedLine,
    MalformedJson,
    MalformedExposition,
    LabelLimit,
    MalformedCompression,
    UnsupportedMediaType,
}

impl RejectReason {
    /// Every reason, in a stable order (for exposing zero-valued counters).
    pub const ALL: [RejectReason; 13] = [
        RejectReason::InvalidMetricName,
        RejectReason::InvalidLabelName,
        RejectReason::NonFiniteValue,
        RejectReason::TimestampOutOfRange,
        RejectReason::BodyTooLarge,
        RejectReason::MalformedSnappy,
        RejectReason::MalformedProtobuf,
        RejectReason::MalformedLine,
        RejectReason::MalformedJson,
        RejectReason::MalformedExposition,
        RejectReason::LabelLimit,
        RejectReason::MalformedCompression,
        RejectReason::UnsupportedMediaType,
    ];

    /// The snake_case label value: `"invalid_label_name"`, `"malformed_line"`, ...
    pub fn reason(self) -> &'static str {
        match self {
            RejectReason::InvalidMetricName => "invalid_metric_name",
            RejectReason::InvalidLabelName => "invalid_label_name",
            RejectReason::NonFiniteValue => "non_finite_value",
            RejectReason::TimestampOutOfRange => "timestamp_out_of_range",
            RejectReason::BodyTooLarge => "body_too_large",
            RejectReason::MalformedSnappy => "malformed_snappy",
            RejectReason::MalformedProtobuf => "malformed_protobuf",
            RejectReason::MalformedLine => "malformed_line",
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::MalformedExposition => "malformed_exposition",
            RejectReason::LabelLimit => "label_limit",
            RejectReason::MalformedCompression => "malformed_compression",
            RejectReason::UnsupportedMediaType => "unsupported_media_type",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// One problem on one line of a line-oriented format (Influx, exposition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) where the problem was found.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} (column {})",
            self.line, self.message, self.column
        )
    }
}

/// Why a request or a sample was refused. Whole-request errors come from the parsers;
/// per-sample errors from [`crate::SampleLimits`] and from series-level checks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    #[error("request body decompresses to {declared} bytes, more than the limit of {limit} bytes")]
    BodyTooLarge { declared: usize, limit: usize },
    #[error("malformed snappy block: {0}")]
    MalformedSnappy(String),
    #[error("malformed protobuf WriteRequest: {0}")]
    MalformedProtobuf(String),
    /// A body that does not decompress with its `Content-Encoding`.
    #[error("malformed {encoding} body: {message}")]
    MalformedCompression {
        encoding: &'static str,
        message: String,
    },
    /// A `Content-Type` or `Content-Encoding` the endpoint does not take (HTTP 415).
    #[error("unsupported {header}: {value:?} ({accepted})")]
    UnsupportedMediaType {
        header: &'static str,
        value: String,
        accepted: &'static str,
    },
    #[error("{}", list_errors("malformed line protocol", errors, *total))]
    MalformedLines {
        errors: Vec<LineError>,
        total: usize,
    },
    #[error("{}", list_errors("malformed JSON samples", errors, *total))]
    MalformedJson { errors: Vec<String>, total: usize },
    #[error("{}", list_errors("malformed exposition text", errors, *total))]
    MalformedExposition {
        errors: Vec<LineError>,
        total: usize,
    },
    #[error("series {series}: invalid metric name: {reason}")]
    InvalidMetricName { series: String, reason: String },
    #[error("series {series}: label name {label:?} {reason}")]
    InvalidLabelName {
        series: String,
        label: String,
        reason: &'static str,
    },
    /// Too many labels, or a name or value longer than [`crate::SampleLimits`] allows.
    #[error("series {series}: {what}")]
    LabelLimit { series: String, what: String },
    #[error("series {series}: value {value} at timestamp {timestamp_ms} is not a finite number")]
    NonFiniteValue {
        series: String,
        timestamp_ms: i64,
        value: f64,
    },
    #[error(
        "series {series}: timestamp {timestamp_ms} ({}) is {} the {} limit of {} (now is {now_ms})",
        format_timestamp(*timestamp_ms),
        if *in_future { "beyond" } else { "older than" },
        if *in_future { "future" } else { "past" },
        format_duration_ms(*limit_ms)
    )]
    TimestampOutOfRange {
        series: String,
        timestamp_ms: i64,
        now_ms: i64,
        limit_ms: i64,
        in_future: bool,
    },
}

impl ProtocolError {
    /// The counter label this error is reported under.
    pub fn reason(&self) -> RejectReason {
        match self {
            ProtocolError::BodyTooLarge { .. } => RejectReason::BodyTooLarge,
            ProtocolError::MalformedSnappy(_) => RejectReason::MalformedSnappy,
            ProtocolError::MalformedProtobuf(_) => RejectReason::MalformedProtobuf,
            ProtocolError::MalformedCompression { .. } => RejectReason::MalformedCompression,
            ProtocolError::UnsupportedMediaType { .. } => RejectReason::UnsupportedMediaType,
            ProtocolError::MalformedLines { .. } => RejectReason::MalformedLine,
            ProtocolError::MalformedJson { .. } => RejectReason::MalformedJson,
            ProtocolError::MalformedExposition { .. } => RejectReason::MalformedExposition,
            ProtocolError::InvalidMetricName { .. } => RejectReason::InvalidMetricName,
            ProtocolError::InvalidLabelName { .. } => RejectReason::InvalidLabelName,
            ProtocolError::LabelLimit { .. } => RejectReason::LabelLimit,
            ProtocolError::NonFiniteValue { .. } => RejectReason::NonFiniteValue,
            ProtocolError::TimestampOutOfRange { .. } => RejectReason::TimestampOutOfRange,
        }
    }
}

fn list_errors<E: fmt::Display>(what: &str, errors: &[E], total: usize) -> String {
    let mut text = format!("{what}: {total} error{}", if total == 1 { "" } else { "s" });
    for error in errors {
        text.push_str("; ");
        text.push_str(&error.to_string());
    }
    if total > errors.len() {
        text.push_str(&format!("; ... and {} more", total - errors.len()));
    }
    text
}

/// Collects up to [`MAX_REPORTED_ERRORS`] errors and counts all of them.
#[derive(Debug)]
pub(crate) struct ErrorList<E> {
    pub(crate) errors: Vec<E>,
    pub(crate) total: usize,
}

impl<E> ErrorList<E> {
    pub(crate) fn new() -> Self {
        ErrorList {
            errors: Vec::new(),
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, error: E) {
        self.total += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// `2023-11-14T22:13:20.000Z`, or the raw number when it is outside chrono's range.
pub(crate) fn format_timestamp(timestamp_ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(timestamp_ms) {
        Some(time) => time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => format!("{timestamp_ms} ms"),
    }
}

/// A compact duration: `10m`, `24h`, `1h30m`, `1500ms`.
pub(crate) fn format_duration_ms(duration_ms: i64) -> String {
    if duration_ms % 1000 != 0 || duration_ms == 0 {
        return format!("{duration_ms}ms");
    }
    let mut seconds = duration_ms / 1000;
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_snake_case_labels() {
        let mut seen = std::collections::BTreeSet::new();
        for (index, reason) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), index);
            assert!(reason
                .reason()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(seen.insert(reason.reason()));
        }
    }

    #[test]
    fn line_error_names_line_and_column() {
        let error = LineError {
            line: 3,
            column: 9,
            message: "expected '='".into(),
        };
        assert_eq!(error.to_string(), "line 3: expected '=' (column 9)");
    }

    #[test]
    fn error_list_caps_reported_errors() {
        let mut list = ErrorList::new();
        for line in 1..=15 {
            list.push(LineError {
                line,
                column: 1,
                message: "bad".into(),
            });
        }
        let error = ProtocolError::MalformedLines {
            errors: list.errors,
            total: list.total,
        };
        let text = error.to_string();
        assert!(
            text.starts_with("malformed line protocol: 15 errors; line 1: bad"),
            "{text}"
        );
        assert!(text.ends_with("; ... and 5 more"), "{text}");
        assert_eq!(error.reason().reason(), "malformed_line");
    }

    #[test]
    fn timestamp_error_names_series_time_and_limit() {
        let error = ProtocolError::TimestampOutOfRange {
            series: "cpu{host=\"a\"}".into(),
            timestamp_ms: 1_700_000_000_000,
            now_ms: 1_700_000_000_000 - 3_600_000,
            limit_ms: 600_000,
            in_future: true,
        };
        assert_eq!(
            error.to_string(),
            "series cpu{host=\"a\"}: timestamp 1700000000000 (2023-11-14T22:13:20.000Z) is beyond the \
             future limit of 10m (now is 1699996400000)"
        );
        assert_eq!(error.reason(), RejectReason::TimestampOutOfRange);
    }

    #[test]
    fn durations_are_compact() {
        assert_eq!(format_duration_ms(86_400_000), "1d");
        assert_eq!(format_duration_ms(5_400_000), "1h30m");
        assert_eq!(format_duration_ms(1_500), "1500ms");
    }
}
