//! [`StoreSource`]: the PromQL engine's [`SeriesSource`] over the series index and the
//! store, values and anomaly scores alike.
//!
//! A selector is matched against every candidate's labels (`__name__` included): the
//! series of that name when the selector names one, else every series, plus the score
//! companions (`lookout_anomaly_score{..., lookout_metric="name"}`) when the name is
//! absent or is `lookout_anomaly_score`. Samples are the store's raw rows (never its
//! rollups, whose bucket times are not sample times): a read starts at the raw
//! retention horizon. A stored NULL value is a stale marker; an unscored sample is no
//! sample of the score series. Cost per selector: one pass over the candidates' keys,
//! one store read of the matching series.

use std::sync::Arc;

use lookout_pipeline::index::SeriesEntry;
use lookout_promql::{stale_nan, Labels, Matcher, RawSeries, SeriesSource, SourceError};

use super::{Matched, SCORE_METRIC};
use crate::state::AppState;

/// Reads series for the evaluator from a server's index and store.
pub struct StoreSource<'a> {
    pub state: &'a AppState,
}

/// The labels PromQL sees for a matched series.
pub fn promql_labels(matched: &Matched) -> Labels {
    Labels::new(matched.labels().into_iter().collect())
}

impl StoreSource<'_> {
    fn candidates(&self, matchers: &[Matcher]) -> Vec<(Matched, Labels)> {
        let name = matchers
            .iter()
            .find(|m| m.name == lookout_promql::METRIC_NAME)
            .and_then(Matcher::equal_value);
        let index = &self.state.index;
        let mut out = Vec::new();
        let mut consider = |entries: Vec<Arc<SeriesEntry>>, is_score: bool| {
            for entry in entries {
                let matched = Matched { entry, is_score };
                let labels = promql_labels(&matched);
                if matchers.iter().all(|m| m.matches_labels(&labels)) {
                    out.push((matched, labels));
                }
            }
        };
        if name != Some(SCORE_METRIC) {
            consider(index.select(name, |_| true), false);
        }
        if name.is_none() || name == Some(SCORE_METRIC) {
            let original = matchers
                .iter()
                .find(|m| m.name == super::SCORE_METRIC_LABEL)
                .and_then(Matcher::equal_value);
            consider(index.select(original, |_| true), true);
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }
}

impl SeriesSource for StoreSource<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<RawSeries>, SourceError> {
        let candidates = self.candidates(matchers);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let from_ms = from_ms.max(self.state.store.raw_horizon_ms());
        if from_ms > to_ms {
            return Ok(Vec::new());
        }
        let ids: Vec<_> = candidates.iter().map(|(m, _)| m.entry.id).collect();
        let answers = self
            .state
            .store
            .range(&ids, from_ms, to_ms, None)
            .map_err(|e| SourceError(e.to_string()))?;
        let mut out = Vec::with_capacity(candidates.len());
        for ((matched, labels), answer) in candidates.into_iter().zip(answers) {
            let samples: Vec<(i64, f64)> = if matched.is_score {
                answer
                    .points
                    .iter()
                    .filter_map(|p| p.score.map(|s| (p.ts_ms, s)))
                    .collect()
            } else {
                answer
                    .points
                    .iter()
                    .map(|p| {
                        let value = if p.value.is_nan() {
                            stale_nan()
                        } else {
                            p.value
                        };
                        (p.ts_ms, value)
                    })
                    .collect()
            };
            if !samples.is_empty() {
                out.push(RawSeries { labels, samples });
            }
        }
        Ok(out)
    }
}
