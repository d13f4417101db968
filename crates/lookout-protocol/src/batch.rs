//! What a parser hands back: accepted samples plus counts of what was left out.

use lookout_model::Sample;

use crate::error::{ProtocolError, RejectReason, MAX_REPORTED_ERRORS};

/// Valid input that lookout does not model; skipped and counted, never an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IgnoreReason {
    /// Prometheus' staleness marker (the NaN with bits `0x7ff0000000000002`).
    StaleMarker,
    /// An Influx string field: not a number.
    StringField,
    /// A Prometheus native histogram in remote write.
    NativeHistogram,
    /// A Prometheus exemplar in remote write.
    Exemplar,
}

impl IgnoreReason {
    /// Every reason, in a stable order.
    pub const ALL: [IgnoreReason; 4] = [
        IgnoreReason::StaleMarker,
        IgnoreReason::StringField,
        IgnoreReason::NativeHistogram,
        IgnoreReason::Exemplar,
    ];

    /// The snake_case label value: `"stale_marker"`, `"string_field"`, ...
    pub fn reason(self) -> &'static str {
        match self {
            IgnoreReason::StaleMarker => "stale_marker",
            IgnoreReason::StringField => "string_field",
            IgnoreReason::NativeHistogram => "native_histogram",
            IgnoreReason::Exemplar => "exemplar",
        }
    }
}

/// Per-reason counts of ignored items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IgnoreCounts([u64; IgnoreReason::ALL.len()]);

impl IgnoreCounts {
    pub fn add(&mut self, reason: IgnoreReason, count: u64) {
        self.0[reason as usize] += count;
    }

    pub fn get(&self, reason: IgnoreReason) -> u64 {
        self.0[reason as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Every reason with its count, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (IgnoreReason, u64)> + '_ {
        IgnoreReason::ALL
            .iter()
            .map(|reason| (*reason, self.get(*reason)))
    }
}

/// Per-reason counts of refused samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectCounts([u64; RejectReason::ALL.len()]);

impl RejectCounts {
    pub fn add(&mut self, reason: RejectReason, count: u64) {
        self.0[reason.index()] += count;
    }

    pub fn get(&self, reason: RejectReason) -> u64 {
        self.0[reason.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Every reason with its count, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (RejectReason, u64)> + '_ {
        RejectReason::ALL
            .iter()
            .map(|reason| (*reason, self.get(*reason)))
    }
}

/// Samples refused one by one: counted per reason, the first few kept as examples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rejections {
    pub counts: RejectCounts,
    /// The first [`MAX_REPORTED_ERRORS`] errors, for the response body and logs.
    pub examples: Vec<ProtocolError>,
}

impl Rejections {
    /// Records `samples` samples refused for `error`.
    pub fn push(&mut self, error: ProtocolError, samples: u64) {
        self.counts.add(error.reason(), samples);
        if self.examples.len() < MAX_REPORTED_ERRORS {
            self.examples.push(error);
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.total()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// A parsed request: the samples to ingest, plus what was ignored or refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub samples: Vec<Sample>,
    pub ignored: IgnoreCounts,
    pub rejected: Rejections,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_reason() {
        let mut ignored = IgnoreCounts::default();
        ignored.add(IgnoreReason::StaleMarker, 2);
        ignored.add(IgnoreReason::StringField, 1);
        ignored.add(IgnoreReason::StaleMarker, 1);
        assert_eq!(ignored.get(IgnoreReason::StaleMarker), 3);
        assert_eq!(ignored.total(), 4);
        let labels: Vec<&str> = ignored.iter().map(|(reason, _)| reason.reason()).collect();
        assert_eq!(
            labels,
            [
                "stale_marker",
                "string_field",
                "native_histogram",
                "exemplar"
            ]
        );
    }

    #[test]
    fn rejections_keep_few_examples_but_count_all() {
        let mut rejections = Rejections::default();
        for index in 0..25 {
            let error = ProtocolError::NonFiniteValue {
                series: "m".into(),
                timestamp_ms: index,
                value: f64::NAN,
            };
            rejections.push(error, 2);
        }
        assert_eq!(rejections.examples.len(), MAX_REPORTED_ERRORS);
        assert_eq!(rejections.counts.get(RejectReason::NonFiniteValue), 50);
        assert_eq!(rejections.total(), 50);
    }
}
