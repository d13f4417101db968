//! Subscribers of scored batches and events, and the fan-out that delivers to them.
//!
//! A [`Subscriber`] hears every batch the store accepted ([`Subscriber::on_scored`]: the
//! request's series, values, engine outcomes and anomaly changes) and every committed
//! batch of events ([`Subscriber::on_events`]). It says how it copes with load through
//! its [`Policy`]:
//!
//! - [`Policy::Backpressure`]: called on the fan-out thread, in batch order. It may
//!   block (alerting waits for room in its own bounded channel); while it does, the
//!   fan-out's bounded queue fills, then the engine's, and ingestion answers 429 with
//!   `Retry-After`. Nothing it should see is ever dropped.
//! - [`Policy::Shed`]: its own thread behind a queue of `capacity` deliveries. When the
//!   queue is full the delivery is dropped and counted
//!   (`lookout_subscriber_dropped_total{subscriber}`), never holding ingestion back.
//!   For derived views that can miss a batch (the live feed, usage states).
//!
//! Cost per batch: one read lock on the subscriber list, one `Arc` clone and one
//! non-blocking `try_send` per shedding subscriber, one call per back-pressure
//! subscriber; nothing per sample. Deliveries share the batch (`Arc`), never copy it.

use lookout_protocol::exposition::{ExpositionWriter, MetricType};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Sender, TrySendError};
use lookout_model::EventRecord;
use lookout_store::AnomalyOp;

use crate::index::SeriesEntry;
use crate::scorer::ScoreOutcome;

/// One request after scoring, as the store accepted it.
#[derive(Debug)]
pub struct ScoredBatch {
    /// The series of each sample, in input order.
    pub entries: Vec<Arc<SeriesEntry>>,
    /// Each sample's `(timestamp_ms, value)`.
    pub values: Vec<(i64, f64)>,
    /// The engine's answer for each sample.
    pub outcomes: Vec<ScoreOutcome>,
    /// Anomalies the batch opened, raised or closed (as stored with it).
    pub anomalies: Vec<AnomalyOp>,
}

/// What travels to a subscriber.
#[derive(Debug, Clone)]
pub enum Delivery {
    Scored(Arc<ScoredBatch>),
    /// Events the store committed.
    Events(Arc<[EventRecord]>),
}

/// How a subscriber copes with load (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Called on the fan-out thread in order; may block, which holds ingestion back.
    Backpressure,
    /// Own thread behind a queue of `capacity` deliveries; a delivery that finds the
    /// queue full is dropped and counted.
    Shed { capacity: usize },
}

/// A consumer of scored batches and events.
pub trait Subscriber: Send + Sync + 'static {
    /// A short name, the `subscriber` label of its counters.
    fn name(&self) -> &'static str;

    fn policy(&self) -> Policy;

    /// A batch the store accepted.
    fn on_scored(&self, batch: &ScoredBatch);

    /// Events the store committed.
    fn on_events(&self, events: &[EventRecord]) {
        let _ = events;
    }
}

fn deliver_to(subscriber: &dyn Subscriber, delivery: &Delivery) {
    match delivery {
        Delivery::Scored(batch) => subscriber.on_scored(batch),
        Delivery::Events(events) => subscriber.on_events(events),
    }
}

enum Route {
    Inline(Arc<dyn Subscriber>),
    Queued {
        sender: Sender<Delivery>,
        thread: JoinHandle<()>,
    },
}

struct Registered {
    name: &'static str,
    route: Route,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

/// The registered subscribers; shared by the fan-out thread and the pipeline.
#[derive(Default)]
pub struct Subscribers {
    list: RwLock<Vec<Registered>>,
    closed: Mutex<bool>,
}

impl Subscribers {
    /// Registers a subscriber (starting its thread if it sheds); false once closed.
    pub fn add(&self, subscriber: Arc<dyn Subscriber>) -> bool {
        let closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        if *closed {
            return false;
        }
        let name = subscriber.name();
        let route = match subscriber.policy() {
            Policy::Backpressure => Route::Inline(subscriber),
            Policy::Shed { capacity } => {
                let (sender, receiver) = bounded::<Delivery>(capacity.max(1));
                let thread = std::thread::Builder::new()
                    .name(format!("lookout-sub-{name}"))
                    .spawn(move || {
                        for delivery in receiver {
                            deliver_to(&*subscriber, &delivery);
                        }
                    })
                    .expect("spawning a subscriber thread");
                Route::Queued { sender, thread }
            }
        };
        self.write().push(Registered {
            name,
            route,
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        true
    }

    /// Hands one delivery to every subscriber (see [`Policy`]).
    pub fn deliver(&self, delivery: Delivery) {
        for registered in self.read().iter() {
            match &registered.route {
                Route::Inline(subscriber) => {
                    deliver_to(&**subscriber, &delivery);
                    registered.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Route::Queued { sender, .. } => match sender.try_send(delivery.clone()) {
                    Ok(()) => {
                        registered.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                        registered.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                },
            }
        }
    }

    /// Deliveries a subscriber missed because its queue was full (`None`: no such name).
    pub fn dropped(&self, name: &str) -> Option<u64> {
        self.read()
            .iter()
            .find(|registered| registered.name == name)
            .map(|registered| registered.dropped.load(Ordering::Relaxed))
    }

    /// Stops taking subscribers and deliveries; the shedding ones finish their queue.
    pub fn close(&self) {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        let registered = std::mem::take(&mut *self.write());
        for registered in registered {
            if let Route::Queued { sender, thread } = registered.route {
                drop(sender);
                if thread.join().is_err() {
                    tracing::warn!(subscriber = registered.name, "a subscriber thread panicked");
                }
            }
        }
    }

    /// `lookout_subscriber_delivered_total` and `lookout_subscriber_dropped_total`.
    pub fn render_metrics(&self, out: &mut ExpositionWriter) {
        let list = self.read();
        let delivered = "lookout_subscriber_delivered_total";
        out.family(
            delivered,
            "Batches handed to each subscriber of scored batches.",
            MetricType::Counter,
        );
        for registered in list.iter() {
            let count = registered.delivered.load(Ordering::Relaxed);
            out.sample(delivered, [("subscriber", registered.name)], count as f64);
        }
        let dropped = "lookout_subscriber_dropped_total";
        out.family(
            dropped,
            "Batches a load-shedding subscriber missed (its queue was full).",
            MetricType::Counter,
        );
        for registered in list.iter() {
            let count = registered.dropped.load(Ordering::Relaxed);
            out.sample(dropped, [("subscriber", registered.name)], count as f64);
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Registered>> {
        self.list.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Registered>> {
        self.list.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use lookout_model::{Domain, Event, EventId, SeriesId, SeriesKey, Severity};

    use super::*;

    /// Records what it hears; blocks on `gate` while one is held.
    struct Recorder {
        policy: Policy,
        seen: Mutex<Vec<usize>>,
        events: Mutex<Vec<String>>,
        gate: Mutex<Option<mpsc::Receiver<()>>>,
    }

    impl Recorder {
        fn new(policy: Policy) -> Arc<Recorder> {
            Arc::new(Recorder {
                policy,
                seen: Mutex::default(),
                events: Mutex::default(),
                gate: Mutex::default(),
            })
        }
    }

    impl Subscriber for Recorder {
        fn name(&self) -> &'static str {
            match self.policy {
                Policy::Backpressure => "inline",
                Policy::Shed { .. } => "shed",
            }
        }
        fn policy(&self) -> Policy {
            self.policy
        }
        fn on_scored(&self, batch: &ScoredBatch) {
            if let Some(gate) = self.gate.lock().unwrap().as_ref() {
                let _ = gate.recv();
            }
            self.seen.lock().unwrap().push(batch.values.len());
        }
        fn on_events(&self, events: &[EventRecord]) {
            let mut seen = self.events.lock().unwrap();
            seen.extend(events.iter().map(|record| record.event.kind.clone()));
        }
    }

    fn batch(samples: usize) -> Delivery {
        let entry = Arc::new(SeriesEntry::new(SeriesId(1), SeriesKey::new("cpu")));
        Delivery::Scored(Arc::new(ScoredBatch {
            entries: vec![entry; samples],
            values: vec![(0, 1.0); samples],
            outcomes: vec![ScoreOutcome::NotScored("duplicate"); samples],
            anomalies: Vec::new(),
        }))
    }

    fn event(kind: &str) -> EventRecord {
        EventRecord {
            id: EventId(1),
            event: Event::new(1, kind, Domain::Login, Severity::Warning),
        }
    }

    #[test]
    fn every_subscriber_hears_batches_and_events_in_order() {
        let subscribers = Subscribers::default();
        let inline = Recorder::new(Policy::Backpressure);
        let shed = Recorder::new(Policy::Shed { capacity: 16 });
        assert!(subscribers.add(inline.clone()));
        assert!(subscribers.add(shed.clone()));
        for samples in 1..=3 {
            subscribers.deliver(batch(samples));
        }
        subscribers.deliver(Delivery::Events(Arc::from(vec![event("syn_flood")])));
        subscribers.close();
        assert_eq!(*inline.seen.lock().unwrap(), [1, 2, 3]);
        assert_eq!(*shed.seen.lock().unwrap(), [1, 2, 3]);
        assert_eq!(*shed.events.lock().unwrap(), ["syn_flood"]);
        assert!(
            !subscribers.add(Recorder::new(Policy::Backpressure)),
            "closed"
        );
    }

    #[test]
    fn a_slow_shedding_subscriber_loses_batches_counted_and_never_blocks() {
        let subscribers = Subscribers::default();
        let slow = Recorder::new(Policy::Shed { capacity: 2 });
        let (open, gate) = mpsc::channel();
        *slow.gate.lock().unwrap() = Some(gate);
        subscribers.add(slow.clone());
        // The first delivery is taken by the thread and waits at the gate; two fill the
        // queue; the rest are dropped at once.
        subscribers.deliver(batch(1));
        std::thread::sleep(Duration::from_millis(50));
        for samples in 2..=6 {
            subscribers.deliver(batch(samples));
        }
        assert_eq!(subscribers.dropped("shed"), Some(3));
        let mut writer = lookout_protocol::exposition::ExpositionWriter::new();
        subscribers.render_metrics(&mut writer);
        let metrics = writer.finish();
        assert!(
            metrics.contains("lookout_subscriber_dropped_total{subscriber=\"shed\"} 3\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("lookout_subscriber_delivered_total{subscriber=\"shed\"} 3\n"),
            "{metrics}"
        );
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        subscribers.close();
        assert_eq!(*slow.seen.lock().unwrap(), [1, 2, 3]);
    }
}
