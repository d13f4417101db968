//! The running alerting: one evaluator thread and one delivery task per notifier.
//!
//! ```text
//!  anomaly tracker ──(bounded channel)──► evaluator thread ──(1: outbox + groups)──► alerts.db
//!   (engine threads)  ┌────────────────►  rules, groups,    ──(2: state, history,      │ outbox
//!  stored events ────┘                    silences, timers       in batches)           │
//!                                  rows handed over after 1 ──► delivery task per notifier
//!                                                                    rows → notifier → mark
//! ```
//!
//! The channel is bounded: when it is full the sender waits (back-pressure on the engine,
//! which the server turns into 429s), it never drops an event. A notifier that is down
//! or slow only delays its own task; its rows are retried with back-off and jitter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use futures::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::backoff::{jitter_rng, Backoff};
use crate::evaluator::{Evaluator, EvaluatorOptions};
use crate::metrics::AlertMetrics;
use crate::model::AnomalyEvent;
use crate::notify::{Notifier, FAILURE_REASONS};
use crate::outbox::{AlertDb, OutboxError, OutboxRow};
use crate::persist::{
    persist_outbox, write_state_batch, DeliveryQueues, StateBacklog, MAX_STATE_DEFERRAL,
};
use crate::rules::CompiledRule;
use crate::silence::{InhibitRule, Silence, SilenceError};
use lookout_model::clock::now_ms;
use lookout_model::EventRecord;

/// Everything alerting needs to start.
pub struct AlertingConfig {
    pub rules: Vec<CompiledRule>,
    pub notifiers: Vec<Notifier>,
    pub inhibit: Vec<InhibitRule>,
    pub options: EvaluatorOptions,
    /// The alert database (e.g. `<data_dir>/alerts.db`).
    pub db_path: PathBuf,
    /// Capacity of the bounded event channel.
    pub event_capacity: usize,
    /// How often timers are checked.
    pub tick: Duration,
    pub backoff: Backoff,
}

impl AlertingConfig {
    pub fn new(rules: Vec<CompiledRule>, notifiers: Vec<Notifier>, db_path: PathBuf) -> Self {
        AlertingConfig {
            rules,
            notifiers,
            inhibit: vec![InhibitRule::status_check_default()],
            options: EvaluatorOptions::default(),
            db_path,
            event_capacity: 65_536,
            tick: Duration::from_millis(20),
            backoff: Backoff::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Db(#[from] OutboxError),
    #[error(transparent)]
    Silence(#[from] SilenceError),
    #[error("alerting is stopped")]
    Stopped,
    #[error("starting the alert evaluator thread: {0}")]
    Thread(std::io::Error),
}

/// What reaches the evaluator thread on the bounded channel.
enum Incoming {
    Anomaly(AnomalyEvent),
    Event(Box<EventRecord>),
}

enum Control {
    Silence(Silence),
    Expire(i64),
    Stop,
}

/// The handle the server keeps: forward events, manage silences, read state.
#[derive(Clone)]
pub struct AlertHandle {
    events: Sender<Incoming>,
    control: Sender<Control>,
    pub db: Arc<AlertDb>,
    pub metrics: Arc<AlertMetrics>,
    pub rules: Arc<Vec<CompiledRule>>,
    pub notifier_names: Arc<Vec<String>>,
}

impl AlertHandle {
    /// Hands an anomaly event to the evaluator; waits for room when the channel is full
    /// (back-pressure), never drops it. Returns false once alerting has stopped.
    pub fn forward(&self, event: AnomalyEvent) -> bool {
        self.send(Incoming::Anomaly(event))
    }

    /// Hands a stored event to the evaluator (event rules), like [`AlertHandle::forward`]:
    /// waits for room, never drops it; false once alerting has stopped.
    pub fn forward_event(&self, event: EventRecord) -> bool {
        self.send(Incoming::Event(Box::new(event)))
    }

    fn send(&self, event: Incoming) -> bool {
        self.metrics.events.fetch_add(1, Ordering::Relaxed);
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(TrySendError::Full(event)) => {
                self.metrics
                    .events_backpressure
                    .fetch_add(1, Ordering::Relaxed);
                self.events.send(event).is_ok()
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Stores a silence (its id is assigned) and applies it. Blocking (SQLite).
    pub fn add_silence(&self, silence: Silence) -> Result<Silence, AlertError> {
        silence.validate()?;
        let stored = self.db.insert_silence(&silence)?;
        self.control
            .send(Control::Silence(stored.clone()))
            .map_err(|_| AlertError::Stopped)?;
        Ok(stored)
    }

    /// Expires a silence now; `None` when no silence has this id. Blocking (SQLite).
    pub fn expire_silence(&self, id: i64) -> Result<Option<Silence>, AlertError> {
        let expired = self.db.expire_silence(id, now_ms())?;
        if expired.is_some() {
            self.control
                .send(Control::Expire(id))
                .map_err(|_| AlertError::Stopped)?;
        }
        Ok(expired)
    }
}

/// Alerting while it runs; [`AlertService::stop`] ends it.
pub struct AlertService {
    handle: AlertHandle,
    thread: Option<JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AlertService {
    /// Opens the database, restores the state of an earlier run and starts the evaluator
    /// thread and the delivery tasks (on the current tokio runtime). Rows left pending by
    /// an earlier run (even one killed with `kill -9`) are delivered first.
    pub fn start(config: AlertingConfig) -> Result<AlertService, AlertError> {
        let writer = AlertDb::open(&config.db_path)?;
        let db = Arc::new(AlertDb::open_for_delivery(&config.db_path)?);
        let names: Vec<String> = config.notifiers.iter().map(|n| n.name.clone()).collect();
        let metrics = Arc::new(AlertMetrics::new(&names, FAILURE_REASONS));
        let mut evaluator = Evaluator::new(config.rules.clone(), config.inhibit, config.options);
        let (alerts, groups) = writer.load_state()?;
        evaluator.restore(alerts, groups, now_ms());
        for silence in writer.silences()? {
            if !silence.finished_at(now_ms()) {
                evaluator.silences_mut().upsert(silence)?;
            }
        }
        let (events_tx, events_rx) = bounded(config.event_capacity.max(1));
        let (control_tx, control_rx) = bounded(64);
        let mut queues = DeliveryQueues::default();
        let in_flight = Arc::clone(&queues.in_flight);
        let mut fresh_rows = BTreeMap::new();
        for name in &names {
            let (sender, receiver) = unbounded_channel();
            queues.insert(name.clone(), sender);
            fresh_rows.insert(name.clone(), receiver);
        }
        let thread_metrics = Arc::clone(&metrics);
        let tick = config.tick;
        let thread = std::thread::Builder::new()
            .name("lookout-alert".into())
            .spawn(move || {
                evaluate(
                    evaluator,
                    writer,
                    events_rx,
                    control_rx,
                    tick,
                    queues,
                    thread_metrics,
                )
            })
            .map_err(AlertError::Thread)?;
        let tasks = config
            .notifiers
            .into_iter()
            .map(|notifier| {
                let fresh = fresh_rows
                    .remove(&notifier.name)
                    .expect("one queue per notifier name");
                tokio::spawn(deliver(
                    notifier,
                    Arc::clone(&db),
                    fresh,
                    Arc::clone(&in_flight),
                    Arc::clone(&metrics),
                    config.backoff,
                ))
            })
            .collect();
        Ok(AlertService {
            handle: AlertHandle {
                events: events_tx,
                control: control_tx,
                db,
                metrics,
                rules: Arc::new(config.rules),
                notifier_names: Arc::new(names),
            },
            thread: Some(thread),
            tasks,
        })
    }

    pub fn handle(&self) -> AlertHandle {
        self.handle.clone()
    }

    /// Stops the evaluator (its last changes are written) and the delivery tasks; rows not
    /// yet delivered stay in the outbox for the next start.
    pub fn stop(mut self) {
        let _ = self.handle.control.send(Control::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for AlertService {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if self.thread.is_some() {
            let _ = self.handle.control.send(Control::Stop);
        }
    }
}

/// The evaluator thread: events and control messages in, transactions out. Each pass
/// commits the outbox first and then at most one batch of alert state and history
/// ([`crate::persist`]); while a backlog remains, the thread does not sleep.
fn evaluate(
    mut evaluator: Evaluator,
    db: AlertDb,
    events: Receiver<Incoming>,
    control: Receiver<Control>,
    tick: Duration,
    queues: DeliveryQueues,
    metrics: Arc<AlertMetrics>,
) {
    let mut backlog = StateBacklog::default();
    let mut deferred_since: Option<Instant> = None;
    let mut next_tick = Instant::now();
    let mut last_prune = Instant::now();
    let finish = |evaluator: &mut Evaluator, backlog: &mut StateBacklog| {
        persist_outbox(evaluator, &db, backlog, &queues, &metrics);
        let mut failures = 0;
        while !backlog.is_empty() && failures < 5 {
            if !write_state_batch(evaluator, &db, backlog, &metrics) {
                failures += 1;
            }
        }
    };
    loop {
        let wait = if backlog.is_empty() || deferred_since.is_some() {
            next_tick.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        crossbeam_channel::select! {
            recv(events) -> event => match event {
                Ok(event) => apply(&mut evaluator, event),
                Err(_) => return finish(&mut evaluator, &mut backlog),
            },
            recv(control) -> message => match message {
                Ok(Control::Silence(silence)) => {
                    if let Err(error) = evaluator.silences_mut().upsert(silence) {
                        tracing::warn!(%error, "silence not applied");
                    }
                }
                Ok(Control::Expire(id)) => {
                    evaluator.silences_mut().expire(id, now_ms());
                }
                Ok(Control::Stop) | Err(_) => return finish(&mut evaluator, &mut backlog),
            },
            default(wait) => {}
        }
        // Take what else is waiting, so a burst becomes one pass.
        for _ in 0..16_384 {
            match events.try_recv() {
                Ok(event) => apply(&mut evaluator, event),
                Err(_) => break,
            }
        }
        if Instant::now() >= next_tick {
            evaluator.tick(now_ms());
            next_tick = Instant::now() + tick;
        }
        persist_outbox(&mut evaluator, &db, &mut backlog, &queues, &metrics);
        // Deliveries first: state and history wait while handed-over rows are in flight,
        // up to MAX_STATE_DEFERRAL.
        let defer = !backlog.is_empty()
            && queues.busy()
            && deferred_since.get_or_insert_with(Instant::now).elapsed() < MAX_STATE_DEFERRAL;
        if !defer {
            deferred_since = None;
            if !write_state_batch(&evaluator, &db, &mut backlog, &metrics) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if last_prune.elapsed() >= Duration::from_secs(3600) {
            last_prune = Instant::now();
            if let Err(error) = db.prune(now_ms() - 30 * 86_400_000) {
                tracing::warn!(%error, "pruning the alert database failed");
            }
        }
    }
}

fn apply(evaluator: &mut Evaluator, incoming: Incoming) {
    match incoming {
        Incoming::Anomaly(event) => evaluator.handle(&event, now_ms()),
        Incoming::Event(record) => evaluator.handle_event(&record, now_ms()),
    }
}

/// Pending rows read per delivery round.
const DUE_ROWS_PER_ROUND: usize = 256;
/// Requests a notifier has in flight at once (different groups).
const DELIVERY_CONCURRENCY: usize = 64;

/// Queues a row handed over in memory, unless it was already tried (read from the
/// database first); forgets the tried ids below it. Returns whether it was queued.
fn take_fresh(
    row: OutboxRow,
    queue: &mut BTreeMap<i64, OutboxRow>,
    attempted: &mut BTreeSet<i64>,
) -> bool {
    *attempted = attempted.split_off(&row.id);
    if attempted.remove(&row.id) {
        return false;
    }
    queue.insert(row.id, row);
    true
}

/// Rows handed over in memory that the delivery task holds, counted in `in_flight` until
/// they are finished.
struct HandedOver {
    ids: BTreeSet<i64>,
    in_flight: Arc<AtomicUsize>,
}

impl HandedOver {
    fn take(
        &mut self,
        row: OutboxRow,
        queue: &mut BTreeMap<i64, OutboxRow>,
        attempted: &mut BTreeSet<i64>,
    ) {
        let id = row.id;
        if take_fresh(row, queue, attempted) {
            self.ids.insert(id);
        } else {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn finished(&mut self, id: i64) {
        if self.ids.remove(&id) {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// One notifier's delivery loop. Rows come from the evaluator in memory right after their
/// commit, and from the database at start (rows of an earlier run) and when retries are
/// due (read at least once a second while rows are pending); a row is delivered once per
/// round whichever way it came (rows are keyed by id).
async fn deliver(
    notifier: Notifier,
    db: Arc<AlertDb>,
    mut fresh: UnboundedReceiver<OutboxRow>,
    in_flight: Arc<AtomicUsize>,
    metrics: Arc<AlertMetrics>,
    backoff: Backoff,
) {
    let mut rng = jitter_rng(&notifier.name);
    let name = notifier.name.clone();
    let mut queue: BTreeMap<i64, OutboxRow> = BTreeMap::new();
    // Ids tried in this run: a row committed just before a database read can be read and
    // delivered before its in-memory copy arrives; that copy is then dropped. Rows arrive
    // in id order, so ids below an arriving row's can be forgotten.
    let mut attempted: BTreeSet<i64> = BTreeSet::new();
    let mut handed = HandedOver {
        ids: BTreeSet::new(),
        in_flight,
    };
    let mut fresh_open = true;
    let mut last_db_read: Option<Instant> = None;
    loop {
        while let Ok(row) = fresh.try_recv() {
            handed.take(row, &mut queue, &mut attempted);
        }
        if last_db_read.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            last_db_read = Some(Instant::now());
            let due = {
                let db = Arc::clone(&db);
                let name = name.clone();
                tokio::task::spawn_blocking(move || db.due(&name, now_ms(), DUE_ROWS_PER_ROUND))
                    .await
            };
            match due {
                Ok(Ok(rows)) => {
                    for row in rows {
                        queue.entry(row.id).or_insert(row);
                    }
                }
                Ok(Err(error)) => {
                    tracing::error!(notifier = %name, %error, "reading the outbox failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => return,
            }
        }
        if queue.is_empty() {
            let next = db.next_due(&name).ok().flatten();
            let wait_ms = next.map_or(1_000, |at| (at - now_ms()).clamp(0, 1_000));
            let sleep = tokio::time::sleep(Duration::from_millis(wait_ms as u64));
            tokio::select! {
                row = fresh.recv(), if fresh_open => match row {
                    Some(row) => handed.take(row, &mut queue, &mut attempted),
                    None => fresh_open = false,
                },
                _ = sleep => last_db_read = None,
            }
            continue;
        }
        // The oldest row of each group (a group's later rows wait for the next round).
        let mut groups = BTreeSet::new();
        let ids: Vec<i64> = queue
            .values()
            .filter(|row| groups.insert(row.notification.group.as_str()))
            .take(DUE_ROWS_PER_ROUND)
            .map(|row| row.id)
            .collect();
        let rows: Vec<OutboxRow> = ids.iter().filter_map(|id| queue.remove(id)).collect();
        attempted.extend(ids);
        // Different groups go out concurrently (up to DELIVERY_CONCURRENCY requests), each
        // marked as soon as its answer arrives.
        let notifier = &notifier;
        let mut answers = futures::stream::iter(rows)
            .map(|row| async move {
                let result = notifier.deliver(&row.notification).await;
                (row, result)
            })
            .buffer_unordered(DELIVERY_CONCURRENCY);
        while let Some((row, result)) = answers.next().await {
            let now = now_ms();
            let outcome = match result {
                Ok(()) => {
                    metrics.delivered(&name);
                    if row.attempts == 0 {
                        if let Some(detected) = row
                            .notification
                            .firing
                            .iter()
                            .map(|alert| alert.detected_ms)
                            .filter(|ms| *ms > 0)
                            .max()
                        {
                            metrics.observe_latency(Duration::from_millis(
                                (now - detected).max(0) as u64
                            ));
                        }
                    }
                    db.mark_delivered(row.id, now).map(|_| ())
                }
                Err(error) => {
                    metrics.failed(&name, error.reason);
                    let delay = backoff.delay(row.attempts + 1, &mut rng);
                    tracing::warn!(
                        notifier = %name,
                        kind = notifier.type_name(),
                        reason = error.reason,
                        error = %error.message,
                        attempt = row.attempts + 1,
                        retry_in_ms = delay.as_millis() as u64,
                        "alert delivery failed"
                    );
                    db.mark_failed(&row, now, now + delay.as_millis() as i64, error.reason, &error.message)
                        .map(|given_up| {
                            if given_up {
                                tracing::error!(notifier = %name, id = %row.notification.id, "alert delivery given up after 24 hours");
                            }
                        })
                }
            };
            if let Err(error) = outcome {
                tracing::error!(notifier = %name, %error, "recording a delivery result failed");
            }
            handed.finished(row.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Notification, NotificationStatus};

    fn row(id: i64) -> OutboxRow {
        OutboxRow {
            id,
            notifier: "hook".into(),
            notification: Notification {
                id: format!("n{id}"),
                rule: "r".into(),
                group: "g".into(),
                group_labels: BTreeMap::new(),
                status: NotificationStatus::Firing,
                firing: vec![],
                resolved: vec![],
                created_ms: 0,
                valid_for_ms: 0,
                dashboard: String::new(),
                test: false,
            },
            attempts: 0,
            created_ms: 0,
        }
    }

    #[test]
    fn a_row_already_read_from_the_database_is_not_queued_again() {
        let mut queue = BTreeMap::new();
        // Rows 3 and 5 were read from the database and tried before their copies arrived.
        let mut attempted = BTreeSet::from([1, 3, 5]);
        take_fresh(row(3), &mut queue, &mut attempted);
        assert!(queue.is_empty());
        assert_eq!(attempted, BTreeSet::from([5]), "ids below 3 are forgotten");
        take_fresh(row(4), &mut queue, &mut attempted);
        take_fresh(row(5), &mut queue, &mut attempted);
        take_fresh(row(6), &mut queue, &mut attempted);
        assert_eq!(queue.keys().copied().collect::<Vec<_>>(), [4, 6]);
        assert!(attempted.is_empty());
    }
}
