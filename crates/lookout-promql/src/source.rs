//! The seam between the evaluator and a store: [`SeriesSource`] lists the series that
//! match a selector's label matchers, with their raw samples over a time span.
//!
//! A source answers one call per selector in a query (a selector is read once for the
//! whole query, whatever its number of steps), so its cost is one index lookup plus the
//! samples of the matching series; the evaluator never asks twice for the same selector
//! node.

use regex::Regex;

use crate::labels::Labels;

/// The bit pattern Prometheus writes to mark a series stale: a source returns it as a
/// sample's value where the series ended (an instant selector then sees nothing).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `value` is the staleness marker.
pub fn is_stale(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// How a matcher compares a label's value.
#[derive(Debug, Clone)]
pub enum MatchOp {
    Equal,
    NotEqual,
    /// Fully anchored regular expression.
    Regex(Regex),
    NotRegex(Regex),
}

/// One label matcher of a selector; an absent label has the value `""`.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    /// The text of the matcher (the pattern, for regular expressions).
    pub value: String,
}

impl Matcher {
    /// Whether a label value (`""` when the label is absent) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex(regex) => regex.is_match(value),
            MatchOp::NotRegex(regex) => !regex.is_match(value),
        }
    }

    /// Whether a label set satisfies the matcher.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }

    /// `Some(value)` when the matcher pins the label to one non-empty value.
    pub fn equal_value(&self) -> Option<&str> {
        matches!(self.op, MatchOp::Equal)
            .then_some(self.value.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// One series a selector matched, with its samples in the span asked for, time-ordered
/// (stale markers included, as [`STALE_NAN_BITS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RawSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// A failure of the store behind a source.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Read access to series and samples for the evaluator.
pub trait SeriesSource {
    /// Every series whose labels satisfy all `matchers`, with its samples in
    /// `[from_ms, to_ms]` (inclusive), ordered by labels. A series with no sample in the
    /// span may be left out.
    fn select(
        &self,
        matchers: &[Matcher],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<RawSeries>, SourceError>;
}
