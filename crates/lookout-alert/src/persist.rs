//! How the evaluator thread writes its changes: the outbox first, the rest in batches.
//!
//! Each pass of the evaluator loop takes the evaluator's [`Changes`] and
//!
//! 1. commits the notifications to send and the group schedules that sent them in one
//!    small transaction ([`AlertDb::apply_outbox`], fsynced), then hands the new rows to
//!    their notifiers' delivery tasks in memory: nothing else stands between an alert and
//!    its delivery (the tasks read the database only at start and for retries);
//! 2. queues the changed alerts' slots and the history in a [`StateBacklog`], written in
//!    bounded transactions (each alert's newest state, read from the evaluator then)
//!    ([`AlertDb::apply_state`], at most [`StateBacklog::BATCH_ALERTS`] alerts and
//!    [`StateBacklog::BATCH_HISTORY`] history lines each), one per pass, so that an
//!    incident on thousands of series never holds the next outbox commit back for long.
//!
//! A crash between the two loses no notification (the outbox row holds the whole
//! message); it loses the newest alert state and history lines, which the next events of
//! a still-open anomaly re-create under the same fingerprint.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::evaluator::{Changes, Evaluator, HistoryEntry, Outgoing};
use crate::metrics::AlertMetrics;
use crate::model::{AlertInstance, Notification};
use crate::outbox::{AlertDb, OutboxRow, QueuedRow};

/// Alert state and history waiting to be written: the slots of the changed alerts (their
/// newest state is read from the evaluator when written, so an alert changed several
/// times is written once) and the history lines in order.
#[derive(Debug, Default)]
pub struct StateBacklog {
    alerts: BTreeSet<String>,
    history: VecDeque<HistoryEntry>,
}

/// One batch taken from the backlog: alert slots and history lines.
pub type StateBatch = (Vec<String>, Vec<HistoryEntry>);

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

    /// Adds changed alert slots and the history of `changes`.
    pub fn push(&mut self, slots: BTreeSet<String>, changes: &mut Changes) {
        if self.alerts.is_empty() {
            self.alerts = slots;
        } else {
            self.alerts.extend(slots);
        }
        self.alerts
            .extend(std::mem::take(&mut changes.alerts).into_keys());
        self.alerts
            .extend(std::mem::take(&mut changes.removed_alerts));
        self.history.extend(std::mem::take(&mut changes.history));
    }

    /// Takes at most `max_alerts` slots and `max_history` history lines, oldest history
    /// first.
    pub fn take(&mut self, max_alerts: usize, max_history: usize) -> StateBatch {
        let mut alerts = Vec::with_capacity(max_alerts.min(self.alerts.len()));
        while alerts.len() < max_alerts {
            let Some(slot) = self.alerts.pop_first() else {
                break;
            };
            alerts.push(slot);
        }
        let count = max_history.min(self.history.len());
        let history = self.history.drain(..count).collect();
        (alerts, history)
    }

    /// Puts back a batch whose write failed, in front of what is left.
    pub fn put_back(&mut self, (alerts, history): StateBatch) {
        self.alerts.extend(alerts);
        for entry in history.into_iter().rev() {
            self.history.push_front(entry);
        }
    }
}

/// The delivery task of each notifier, by name: committed rows are handed to it in
/// memory, so that it need not read them back from the database.
#[derive(Debug, Default)]
pub struct DeliveryQueues {
    senders: BTreeMap<String, UnboundedSender<OutboxRow>>,
    /// Rows handed over and not yet finished (delivered, failed or dropped) by their task.
    pub in_flight: Arc<AtomicUsize>,
}

impl DeliveryQueues {
    pub fn insert(&mut self, notifier: String, sender: UnboundedSender<OutboxRow>) {
        self.senders.insert(notifier, sender);
    }

    /// Whether handed-over rows are still being delivered.
    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }
}

/// How long alert state and history may wait while deliveries are in flight: writing them
/// yields the CPU to the deliveries, but never for longer than this.
pub const MAX_STATE_DEFERRAL: Duration = Duration::from_secs(1);

/// Takes the evaluator's changes, commits their outbox part (retrying a few times), hands
/// the new rows to their notifiers' delivery tasks, and moves the state part into
/// `backlog`.
pub fn persist_outbox(
    evaluator: &mut Evaluator,
    db: &AlertDb,
    backlog: &mut StateBacklog,
    queues: &DeliveryQueues,
    metrics: &AlertMetrics,
) {
    let (mut changes, slots) = evaluator.take_changes_by_slot();
    backlog.push(slots, &mut changes);
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
                hand_over(std::mem::take(&mut changes.outgoing), queued, queues);
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

/// Sends each committed row to its notifier's delivery task (a notification going to
/// several notifiers is copied for all but the last). A task that is gone finds the row
/// in the database at its next start.
fn hand_over(outgoing: Vec<Outgoing>, queued: Vec<QueuedRow>, queues: &DeliveryQueues) {
    let mut remaining = vec![0usize; outgoing.len()];
    for row in &queued {
        remaining[row.outgoing] += 1;
    }
    let mut notifications: Vec<Option<Notification>> = outgoing
        .into_iter()
        .map(|outgoing| Some(outgoing.notification))
        .collect();
    for row in queued {
        remaining[row.outgoing] -= 1;
        let notification = if remaining[row.outgoing] == 0 {
            notifications[row.outgoing].take()
        } else {
            notifications[row.outgoing].clone()
        };
        let (Some(notification), Some(queue)) = (notification, queues.senders.get(&row.notifier))
        else {
            continue;
        };
        queues.in_flight.fetch_add(1, Ordering::Relaxed);
        let handed = queue.send(OutboxRow {
            id: row.id,
            notifier: row.notifier,
            created_ms: notification.created_ms,
            notification,
            attempts: 0,
        });
        if handed.is_err() {
            queues.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Writes one batch of the backlog; on failure the batch goes back for the next pass.
/// Returns false when the write failed.
pub fn write_state_batch(
    evaluator: &Evaluator,
    db: &AlertDb,
    backlog: &mut StateBacklog,
    metrics: &AlertMetrics,
) -> bool {
    if backlog.is_empty() {
        return true;
    }
    let batch = backlog.take(StateBacklog::BATCH_ALERTS, StateBacklog::BATCH_HISTORY);
    let alerts: Vec<(&str, Option<&AlertInstance>)> = batch
        .0
        .iter()
        .map(|slot| (slot.as_str(), evaluator.alert_in_slot(slot)))
        .collect();
    match db.apply_state(&alerts, &batch.1) {
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

    fn slots(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn slots_are_kept_once_and_history_keeps_its_order() {
        let mut backlog = StateBacklog::default();
        let mut first = Changes {
            history: vec![entry("1"), entry("2")],
            ..Changes::default()
        };
        backlog.push(slots(&["a", "b"]), &mut first);
        let mut second = Changes {
            history: vec![entry("3")],
            ..Changes::default()
        };
        backlog.push(slots(&["a"]), &mut second);
        assert_eq!(backlog.len(), (2, 3));

        let (alerts, history) = backlog.take(1, 2);
        assert_eq!(alerts, ["a"]);
        let details: Vec<_> = history.iter().map(|h| h.detail.as_str()).collect();
        assert_eq!(details, ["1", "2"]);

        // A failed write goes back in front of what is left.
        backlog.put_back((alerts, history));
        let (alerts, history) = backlog.take(10, 10);
        assert_eq!(alerts, ["a", "b"]);
        let details: Vec<_> = history.iter().map(|h| h.detail.as_str()).collect();
        assert_eq!(details, ["1", "2", "3"]);
        assert!(backlog.is_empty());
    }

    #[test]
    fn batches_write_the_newest_state_and_delete_gone_alerts() {
        let dir = tempfile::tempdir().unwrap();
        let db = AlertDb::open(&dir.path().join("alerts.db")).unwrap();
        let metrics = AlertMetrics::new(&[], &[]);
        let mut evaluator = Evaluator::new(vec![], vec![], Default::default());
        let saved: Vec<(String, AlertInstance)> = (0..2_500)
            .map(|index| (format!("slot-{index}"), alert(&format!("f{index}"))))
            .collect();
        evaluator.restore(saved.clone(), vec![], 0);
        let mut backlog = StateBacklog::default();
        let mut changes = Changes {
            history: (0..130).map(|i| entry(&i.to_string())).collect(),
            ..Changes::default()
        };
        let mut changed: BTreeSet<String> = saved.iter().map(|(slot, _)| slot.clone()).collect();
        changed.insert("gone".into());
        backlog.push(changed, &mut changes);
        let mut passes = 0;
        while !backlog.is_empty() {
            assert!(write_state_batch(&evaluator, &db, &mut backlog, &metrics));
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
