//! How the evaluator thread writes its changes: the outbox first, the rest in batches.
//!
//! Each pass of the evaluator loop takes the evaluator's [`Changes`] and
//!
//! 1. commits the notifications to send and the group schedules that sent them in one
//!    small transaction ([`AlertDb::apply_outbox`], fsynced), then wakes their notifiers:
//!    nothing else stands between an alert and its delivery;
//! 2. queues the per-alert state and history in a [`StateBacklog`] (an alert changed
//!    several times keeps only its newest state), written in bounded transactions
//!    ([`AlertDb::apply_state`], at most [`StateBacklog::BATCH_ALERTS`] alerts and
//!    [`StateBacklog::BATCH_HISTORY`] history lines each), one per pass, so that an
//!    incident on thousands of series never holds the next outbox commit back for long.
//!
//! A crash between the two loses no notification (the outbox row holds the whole
//! message); it loses the newest alert state and history lines, which the next events of
//! a still-open anomaly re-create under the same fingerprint.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::evaluator::{Changes, HistoryEntry};
use crate::metrics::AlertMetrics;
use crate::model::AlertInstance;
use crate::outbox::AlertDb;

/// Alert state and history waiting to be written.
#[derive(Debug, Default)]
pub struct StateBacklog {
    /// Slot → the newest state (`None`: the alert is gone).
    alerts: BTreeMap<String, Option<AlertInstance>>,
    history: VecDeque<HistoryEntry>,
}

/// One batch taken from the backlog.
pub type StateBatch = (Vec<(String, Option<AlertInstance>)>, Vec<HistoryEntry>);

impl StateBacklog {
    /// Alerts written per transaction.
    pub const BATCH_ALERTS: usize = 1_000;
    /// History lines written per transaction.
    pub const BATCH_HISTORY: usize = 4_000;

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.history.is_empty()
    }

    /// Alerts and history lines waiting.
    pub fn len(&self) -> (usize, usize) {
        (self.alerts.len(), self.history.len())
    }

    /// Adds the state part of `changes` (newer alert states replace older ones).
    pub fn push(&mut self, changes: &mut Changes) {
        for (slot, alert) in std::mem::take(&mut changes.alerts) {
            self.alerts.insert(slot, Some(alert));
        }
        for slot in std::mem::take(&mut changes.removed_alerts) {
            self.alerts.insert(slot, None);
        }
        self.history.extend(std::mem::take(&mut changes.history));
    }

    /// Takes at most `max_alerts` alerts and `max_history` history lines, oldest history
    /// first.
    pub fn take(&mut self, max_alerts: usize, max_history: usize) -> StateBatch {
        let mut alerts = Vec::with_capacity(max_alerts.min(self.alerts.len()));
        while alerts.len() < max_alerts {
            let Some(entry) = self.alerts.pop_first() else {
                break;
            };
            alerts.push(entry);
        }
        let count = max_history.min(self.history.len());
        let history = self.history.drain(..count).collect();
        (alerts, history)
    }

    /// Puts back a batch whose write failed; states queued since then stay newer.
    pub fn put_back(&mut self, (alerts, history): StateBatch) {
        for (slot, alert) in alerts {
            self.alerts.entry(slot).or_insert(alert);
        }
        for entry in history.into_iter().rev() {
            self.history.push_front(entry);
        }
    }
}

/// Commits the outbox part of `changes` (retrying a few times), wakes the notifiers that
/// got rows, and moves the state part into `backlog`.
pub fn persist_outbox(
    changes: &mut Changes,
    db: &AlertDb,
    backlog: &mut StateBacklog,
    wakers: &BTreeMap<String, Arc<Notify>>,
    metrics: &AlertMetrics,
) {
    backlog.push(changes);
    if changes.outgoing.is_empty() && changes.groups.is_empty() && changes.removed_groups.is_empty()
    {
        return;
    }
    for attempt in 0..5u32 {
        match db.apply_outbox(&changes.outgoing, &changes.groups, &changes.removed_groups) {
            Ok(queued) => {
                metrics
                    .notifications
                    .fetch_add(changes.outgoing.len() as u64, Ordering::Relaxed);
                for name in queued {
                    if let Some(waker) = wakers.get(&name) {
                        waker.notify_one();
                    }
                }
                return;
            }
            Err(error) => {
                metrics.outbox_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, attempt, "writing the alert outbox failed");
                std::thread::sleep(Duration::from_millis(50 << attempt));
            }
        }
    }
}

/// Writes one batch of the backlog; on failure the batch goes back for the next pass.
/// Returns false when the write failed.
pub fn write_state_batch(db: &AlertDb, backlog: &mut StateBacklog, metrics: &AlertMetrics) -> bool {
    if backlog.is_empty() {
        return true;
    }
    let batch = backlog.take(StateBacklog::BATCH_ALERTS, StateBacklog::BATCH_HISTORY);
    match db.apply_state(&batch.0, &batch.1) {
        Ok(()) => true,
        Err(error) => {
            metrics.outbox_errors.fetch_add(1, Ordering::Relaxed);
            let (alerts, history) = backlog.len();
            tracing::error!(%error, alerts, history, "writing alert state and history failed");
            backlog.put_back(batch);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::alert;

    fn entry(detail: &str) -> HistoryEntry {
        HistoryEntry {
            at_ms: 1,
            rule: "r".into(),
            fingerprint: "f".into(),
            series: "s".into(),
            event: "pending".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn newest_alert_state_wins_and_history_keeps_its_order() {
        let mut backlog = StateBacklog::default();
        let mut first = Changes::default();
        first.alerts.insert("a".into(), alert("a"));
        first.alerts.insert("b".into(), alert("b"));
        first.history = vec![entry("1"), entry("2")];
        backlog.push(&mut first);
        let mut second = Changes::default();
        second.removed_alerts.insert("a".into());
        second.history = vec![entry("3")];
        backlog.push(&mut second);
        assert_eq!(backlog.len(), (2, 3));

        let (alerts, history) = backlog.take(1, 2);
        assert_eq!(alerts, vec![("a".to_string(), None)]);
        let details: Vec<_> = history.iter().map(|h| h.detail.as_str()).collect();
        assert_eq!(details, ["1", "2"]);

        // A failed write goes back in front of what is left.
        backlog.put_back((alerts, history));
        let (alerts, history) = backlog.take(10, 10);
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0], ("a".to_string(), None));
        let details: Vec<_> = history.iter().map(|h| h.detail.as_str()).collect();
        assert_eq!(details, ["1", "2", "3"]);
        assert!(backlog.is_empty());
    }

    #[test]
    fn a_put_back_batch_does_not_override_newer_state() {
        let mut backlog = StateBacklog::default();
        let mut changes = Changes::default();
        changes.alerts.insert("a".into(), alert("old"));
        backlog.push(&mut changes);
        let batch = backlog.take(10, 10);
        let mut newer = Changes::default();
        newer.removed_alerts.insert("a".into());
        backlog.push(&mut newer);
        backlog.put_back(batch);
        assert_eq!(backlog.take(10, 10).0, vec![("a".to_string(), None)]);
    }

    #[test]
    fn batches_are_written_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let db = AlertDb::open(&dir.path().join("alerts.db")).unwrap();
        let metrics = AlertMetrics::new(&[], &[]);
        let mut backlog = StateBacklog::default();
        let mut changes = Changes::default();
        for index in 0..2_500 {
            changes
                .alerts
                .insert(format!("slot-{index}"), alert(&format!("f{index}")));
        }
        changes.history = (0..130).map(|i| entry(&i.to_string())).collect();
        backlog.push(&mut changes);
        let mut passes = 0;
        while !backlog.is_empty() {
            assert!(write_state_batch(&db, &mut backlog, &metrics));
            passes += 1;
        }
        assert_eq!(passes, 3);
        let (alerts, _) = db.load_state().unwrap();
        assert_eq!(alerts.len(), 2_500);
        let history = db.history("r", 1_000).unwrap();
        assert_eq!(history.len(), 130);
        assert_eq!(history[0].detail, "129");
        assert_eq!(history[129].detail, "0");
    }
}
