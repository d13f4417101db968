//! [`MemorySource`]: series held in memory, for tests and for callers that already hold
//! their samples. `select` scans every series (O(series × matchers)) and slices each
//! one's samples by binary search.

use crate::labels::Labels;
use crate::source::{Matcher, RawSeries, SeriesSource, SourceError};

/// A fixed set of series in memory.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    series: Vec<RawSeries>,
}

impl MemorySource {
    pub fn new() -> MemorySource {
        MemorySource::default()
    }

    /// Adds a series from `name{label="value",...}`-style parts; samples must be
    /// time-ordered.
    pub fn add(&mut self, name: &str, labels: &[(&str, &str)], samples: Vec<(i64, f64)>) {
        let mut pairs: Vec<(String, String)> = labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        pairs.push((crate::METRIC_NAME.to_string(), name.to_string()));
        self.series.push(RawSeries {
            labels: Labels::new(pairs),
            samples,
        });
        self.series.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
}

impl SeriesSource for MemorySource {
    fn select(
        &self,
        matchers: &[Matcher],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<RawSeries>, SourceError> {
        Ok(self
            .series
            .iter()
            .filter(|s| matchers.iter().all(|m| m.matches_labels(&s.labels)))
            .map(|s| {
                let from = s.samples.partition_point(|(t, _)| *t < from_ms);
                let to = s.samples.partition_point(|(t, _)| *t <= to_ms);
                RawSeries {
                    labels: s.labels.clone(),
                    samples: s.samples[from..to.max(from)].to_vec(),
                }
            })
            .filter(|s| !s.samples.is_empty())
            .collect())
    }
}
