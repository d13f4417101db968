//! The alerting subscriber: anomaly changes of each scored batch become
//! [`AnomalyEvent`]s for `lookout-alert`.
//!
//! Policy [`Policy::Backpressure`]: an anomaly change is never dropped. It runs on the
//! fan-out thread (never on a detection worker); [`AlertHandle::forward`] waits for room
//! when alerting's bounded channel is full, which holds the fan-out and then ingestion
//! back (429 with `Retry-After`). Cost: nothing for batches without anomaly changes
//! (almost all); otherwise one pass over the batch to find each changed series' verdict.

use std::collections::HashMap;

use lookout_alert::{AlertHandle, AnomalyEvent, EventKind};
use lookout_model::clock::now_ms;
use lookout_model::EventRecord;
use lookout_model::SeriesId;
use lookout_store::AnomalyOp;

use crate::fanout::{Policy, ScoredBatch, Subscriber};
use crate::scorer::ScoreOutcome;

/// Forwards anomaly changes to alerting.
pub struct AlertSubscriber {
    alerts: AlertHandle,
}

impl AlertSubscriber {
    pub fn new(alerts: AlertHandle) -> AlertSubscriber {
        AlertSubscriber { alerts }
    }
}

impl Subscriber for AlertSubscriber {
    fn name(&self) -> &'static str {
        "alerting"
    }

    fn policy(&self) -> Policy {
        Policy::Backpressure
    }

    fn on_scored(&self, batch: &ScoredBatch) {
        for event in alert_events(batch) {
            if !self.alerts.forward(event) {
                return;
            }
        }
    }

    /// Event rules see every committed event; waits for room, never drops.
    fn on_events(&self, events: &[EventRecord]) {
        for record in events {
            if !self.alerts.forward_event(record.clone()) {
                tracing::warn!(event = %record.id, "alerting has stopped; event not evaluated");
                return;
            }
        }
    }
}

/// The alert events of a batch's anomaly changes, in order.
pub fn alert_events(batch: &ScoredBatch) -> Vec<AnomalyEvent> {
    let ScoredBatch {
        entries,
        outcomes,
        anomalies: ops,
        ..
    } = batch;
    if ops.is_empty() {
        return Vec::new();
    }
    let mut by_series: HashMap<SeriesId, Vec<usize>> = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        by_series.entry(entry.id).or_default().push(index);
    }
    let detected_ms = now_ms();
    let mut events = Vec::with_capacity(ops.len());
    for op in ops {
        let (series, start_ms) = match op {
            AnomalyOp::Open {
                series, start_ms, ..
            }
            | AnomalyOp::Update {
                series, start_ms, ..
            }
            | AnomalyOp::Close {
                series, start_ms, ..
            } => (*series, *start_ms),
        };
        let Some(indices) = by_series.get(&series) else {
            continue;
        };
        let key = (*entries[indices[0]].key).clone();
        let event = match op {
            AnomalyOp::Close { end_ms, .. } => {
                AnomalyEvent::close(key, start_ms, *end_ms, detected_ms)
            }
            AnomalyOp::Open {
                score, explanation, ..
            }
            | AnomalyOp::Update {
                score, explanation, ..
            } => {
                let kind = if matches!(op, AnomalyOp::Open { .. }) {
                    EventKind::Open
                } else {
                    EventKind::Update
                };
                // The verdict behind the change: the last one of the series with this score.
                let verdict = indices
                    .iter()
                    .rev()
                    .find_map(|index| match &outcomes[*index] {
                        ScoreOutcome::Scored(verdict) if verdict.score == *score => Some(verdict),
                        _ => None,
                    });
                let (at_ms, value, lower, upper) = verdict
                    .map_or((start_ms, f64::NAN, f64::NAN, f64::NAN), |v| {
                        (v.timestamp_ms, v.value, v.expected_lower, v.expected_upper)
                    });
                AnomalyEvent {
                    kind,
                    series: key,
                    start_ms,
                    at_ms,
                    score: *score,
                    value,
                    expected_lower: lower,
                    expected_upper: upper,
                    explanation: explanation.clone(),
                    detected_ms,
                }
            }
        };
        events.push(event);
    }
    events
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lookout_model::{Explanation, SeriesKey, Verdict};

    use super::*;
    use crate::index::SeriesEntry;

    fn verdict(timestamp_ms: i64, score: f64) -> Verdict {
        Verdict {
            timestamp_ms,
            value: 42.0,
            score,
            is_anomaly: true,
            anomaly_started: true,
            expected_lower: 1.0,
            expected_upper: 2.0,
            explanation: Explanation::default(),
        }
    }

    #[test]
    fn each_change_becomes_an_event_with_the_verdict_behind_it() {
        let entry = Arc::new(SeriesEntry::new(
            SeriesId(3),
            SeriesKey::new("cpu").with_label("host", "a"),
        ));
        let batch = ScoredBatch {
            entries: vec![Arc::clone(&entry), entry],
            values: vec![(10, 42.0), (20, 42.0)],
            outcomes: vec![
                ScoreOutcome::Scored(verdict(10, 0.97)),
                ScoreOutcome::Scored(verdict(20, 0.99)),
            ],
            anomalies: vec![
                AnomalyOp::Open {
                    series: SeriesId(3),
                    start_ms: 10,
                    score: 0.97,
                    explanation: Explanation::default(),
                },
                AnomalyOp::Update {
                    series: SeriesId(3),
                    start_ms: 10,
                    score: 0.99,
                    explanation: Explanation::default(),
                },
                AnomalyOp::Close {
                    series: SeriesId(9),
                    start_ms: 1,
                    end_ms: 2,
                },
            ],
        };
        let events = alert_events(&batch);
        assert_eq!(events.len(), 2, "a change of an unknown series is skipped");
        assert_eq!(events[0].kind, EventKind::Open);
        assert_eq!((events[0].at_ms, events[0].score), (10, 0.97));
        assert_eq!(events[1].kind, EventKind::Update);
        assert_eq!((events[1].at_ms, events[1].expected_upper), (20, 2.0));
        assert_eq!(events[1].series.to_string(), "cpu{host=\"a\"}");
    }
}
