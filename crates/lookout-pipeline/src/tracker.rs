//! Turns the stream of verdicts into anomaly records.
//!
//! An anomaly opens on a verdict with `anomaly_started`, its peak (score and the
//! explanation of the peak verdict) rises while verdicts stay `is_anomaly`, and it
//! closes at the first verdict that is not anomalous. The changes travel to the store in
//! the same [`WriteBatch`] as the samples that caused them, so they commit together.
//! Anomalies are identified by `(series, start_ms)`. At startup the server hands the
//! tracker the anomalies the store still has open ([`AnomalyTracker::resume`]), so an
//! incident that spans a restart goes on under its own record: it rises with the next
//! anomalous verdicts and closes at the first quiet one. (Without that record, the next
//! anomalous verdict creates one from there on: `Update` creates when missing.)
//!
//! Severity comes from the peak score ([`lookout_model::Severity::from_score`]) and the
//! domain from the series (its `domain` label, else [`lookout_model::Domain::infer`]);
//! both are derived by the store when it writes the record.

use std::collections::HashMap;
use std::sync::Mutex;

use lookout_model::{SeriesId, Verdict};
use lookout_store::WriteBatch;

#[derive(Debug, Clone, Copy, PartialEq)]
struct OpenAnomaly {
    start_ms: i64,
    peak: f64,
}

/// Open anomalies of every series; one lock per batch, not per sample.
#[derive(Debug, Default)]
pub struct AnomalyTracker {
    open: Mutex<HashMap<SeriesId, OpenAnomaly>>,
}

impl AnomalyTracker {
    /// Appends to `batch` the anomaly changes implied by `verdicts` (in time order per series).
    pub fn apply<'a>(
        &self,
        verdicts: impl IntoIterator<Item = (SeriesId, &'a Verdict)>,
        batch: &mut WriteBatch,
    ) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for (series, verdict) in verdicts {
            let timestamp = verdict.timestamp_ms;
            if verdict.anomaly_started {
                if let Some(previous) = open.remove(&series) {
                    batch.close_anomaly(series, previous.start_ms, timestamp);
                }
                batch.open_anomaly(
                    series,
                    timestamp,
                    verdict.score,
                    verdict.explanation.clone(),
                );
                open.insert(
                    series,
                    OpenAnomaly {
                        start_ms: timestamp,
                        peak: verdict.score,
                    },
                );
                continue;
            }
            if verdict.is_anomaly {
                match open.get_mut(&series) {
                    Some(current) if verdict.score > current.peak => {
                        current.peak = verdict.score;
                        batch.update_anomaly(
                            series,
                            current.start_ms,
                            verdict.score,
                            verdict.explanation.clone(),
                        );
                    }
                    Some(_) => {}
                    None => {
                        // Resumed after a restart: the incident is recorded from here on.
                        batch.update_anomaly(
                            series,
                            timestamp,
                            verdict.score,
                            verdict.explanation.clone(),
                        );
                        open.insert(
                            series,
                            OpenAnomaly {
                                start_ms: timestamp,
                                peak: verdict.score,
                            },
                        );
                    }
                }
                continue;
            }
            if let Some(previous) = open.remove(&series) {
                batch.close_anomaly(series, previous.start_ms, timestamp);
            }
        }
    }

    /// Takes over anomalies left open by an earlier run: `(series, start_ms, peak)`.
    pub fn resume(&self, open: impl IntoIterator<Item = (SeriesId, i64, f64)>) {
        let mut tracked = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for (series, start_ms, peak) in open {
            let newer = tracked.get(&series).is_none_or(|o| o.start_ms < start_ms);
            if newer {
                tracked.insert(series, OpenAnomaly { start_ms, peak });
            }
        }
    }

    /// Number of anomalies currently open.
    pub fn open_count(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use lookout_model::Explanation;
    use lookout_store::AnomalyOp;

    use super::*;

    fn verdict(timestamp_ms: i64, score: f64, is_anomaly: bool, anomaly_started: bool) -> Verdict {
        Verdict {
            timestamp_ms,
            value: 1.0,
            score,
            is_anomaly,
            anomaly_started,
            expected_lower: 0.0,
            expected_upper: 2.0,
            explanation: Explanation::default(),
        }
    }

    fn ops(tracker: &AnomalyTracker, series: SeriesId, verdicts: &[Verdict]) -> Vec<AnomalyOp> {
        let mut batch = WriteBatch::new();
        tracker.apply(verdicts.iter().map(|v| (series, v)), &mut batch);
        batch.anomalies
    }

    #[test]
    fn open_update_close() {
        let tracker = AnomalyTracker::default();
        let series = SeriesId(4);
        let verdicts = [
            verdict(1, 0.1, false, false),
            verdict(2, 0.95, true, true),
            verdict(3, 0.99, true, false),
            verdict(4, 0.97, true, false),
            verdict(5, 0.2, false, false),
            verdict(6, 0.1, false, false),
        ];
        let ops = ops(&tracker, series, &verdicts);
        assert_eq!(ops.len(), 3, "{ops:?}");
        assert!(matches!(ops[0], AnomalyOp::Open { start_ms: 2, score, .. } if score == 0.95));
        assert!(matches!(ops[1], AnomalyOp::Update { start_ms: 2, score, .. } if score == 0.99));
        assert!(matches!(
            ops[2],
            AnomalyOp::Close {
                start_ms: 2,
                end_ms: 5,
                ..
            }
        ));
        assert_eq!(tracker.open_count(), 0);
    }

    #[test]
    fn an_anomaly_resumed_after_a_restart_rises_and_closes_under_its_own_record() {
        let tracker = AnomalyTracker::default();
        let series = SeriesId(7);
        tracker.resume([(series, 100, 0.8), (SeriesId(8), 50, 0.9)]);
        assert_eq!(tracker.open_count(), 2);
        let ops = ops(
            &tracker,
            series,
            &[
                verdict(200, 0.85, true, false),
                verdict(201, 0.7, true, false),
                verdict(202, 0.1, false, false),
            ],
        );
        assert!(matches!(ops[0], AnomalyOp::Update { start_ms: 100, score, .. } if score == 0.85));
        assert!(matches!(
            ops[1],
            AnomalyOp::Close {
                start_ms: 100,
                end_ms: 202,
                ..
            }
        ));
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert_eq!(tracker.open_count(), 1);
    }

    #[test]
    fn anomalies_stay_open_across_batches() {
        let tracker = AnomalyTracker::default();
        let series = SeriesId(1);
        assert_eq!(
            ops(&tracker, series, &[verdict(10, 0.96, true, true)]).len(),
            1
        );
        assert_eq!(tracker.open_count(), 1);
        let closing = ops(&tracker, series, &[verdict(11, 0.5, false, false)]);
        assert!(matches!(
            closing[..],
            [AnomalyOp::Close {
                start_ms: 10,
                end_ms: 11,
                ..
            }]
        ));
    }

    #[test]
    fn an_anomaly_seen_first_mid_way_is_recorded() {
        let tracker = AnomalyTracker::default();
        let resumed = ops(&tracker, SeriesId(2), &[verdict(20, 0.93, true, false)]);
        assert!(matches!(
            resumed[..],
            [AnomalyOp::Update { start_ms: 20, .. }]
        ));
        assert_eq!(tracker.open_count(), 1);
    }
}
