//! The live feed: every accepted batch's points (value, score, band, anomaly flag) and
//! anomaly changes (opened, raised, closed), and committed events, broadcast to the
//! dashboard's streams.
//!
//! [`LiveSubscriber`] is a load-shedding subscriber ([`Policy::Shed`]): it runs on its
//! own thread behind a bounded queue, and builds nothing unless somebody listens (one
//! atomic load per batch otherwise). Batches travel on through a bounded
//! `tokio::sync::broadcast` channel of [`CHANNEL_BATCHES`] batches shared by every
//! client; a client that falls that far behind loses the oldest batches (never blocking
//! ingestion), and [`LiveFeed::record_dropped`] counts them in
//! `lookout_live_dropped_batches_total`. The HTTP side (`GET /api/v1/stream`) lives in
//! `lookout-server`.

use lookout_protocol::exposition::{ExpositionWriter, MetricType};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lookout_model::EventRecord;
use lookout_store::AnomalyOp;
use tokio::sync::{broadcast, watch};

use crate::fanout::{Policy, ScoredBatch, Subscriber};
use crate::index::{SeriesEntry, SeriesIndex};
use crate::scorer::ScoreOutcome;

/// Batches held for the slowest client before the oldest are dropped.
pub const CHANNEL_BATCHES: usize = 1024;

/// One sample as the dashboard draws it.
#[derive(Debug, Clone)]
pub struct LivePoint {
    pub entry: Arc<SeriesEntry>,
    pub ts_ms: i64,
    pub value: f64,
    pub score: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub is_anomaly: bool,
}

/// An anomaly opened, raised (higher peak) or closed.
#[derive(Debug, Clone)]
pub struct AnomalyChange {
    pub change: &'static str,
    pub entry: Arc<SeriesEntry>,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub score: Option<f64>,
}

/// What one committed request changed.
#[derive(Debug, Clone, Default)]
pub struct LiveBatch {
    pub points: Vec<LivePoint>,
    pub anomalies: Vec<AnomalyChange>,
    /// Committed events (a batch of events carries nothing else).
    pub events: Vec<EventRecord>,
}

impl LiveBatch {
    /// Adds the anomaly changes of a store batch.
    pub fn with_anomalies(mut self, index: &SeriesIndex, ops: &[AnomalyOp]) -> LiveBatch {
        for op in ops {
            let (change, series, start_ms, end_ms, score) = match op {
                AnomalyOp::Open {
                    series,
                    start_ms,
                    score,
                    ..
                } => ("opened", series, *start_ms, None, Some(*score)),
                AnomalyOp::Update {
                    series,
                    start_ms,
                    score,
                    ..
                } => ("raised", series, *start_ms, None, Some(*score)),
                AnomalyOp::Close {
                    series,
                    start_ms,
                    end_ms,
                } => ("closed", series, *start_ms, Some(*end_ms), None),
            };
            if let Some(entry) = index.by_id(*series) {
                self.anomalies.push(AnomalyChange {
                    change,
                    entry,
                    start_ms,
                    end_ms,
                    score,
                });
            }
        }
        self
    }
}

/// The broadcast channel and its counters.
pub struct LiveFeed {
    sender: broadcast::Sender<Arc<LiveBatch>>,
    closed: watch::Sender<bool>,
    published: AtomicU64,
    dropped: AtomicU64,
}

impl Default for LiveFeed {
    fn default() -> Self {
        LiveFeed::with_capacity(CHANNEL_BATCHES)
    }
}

impl LiveFeed {
    pub fn with_capacity(batches: usize) -> LiveFeed {
        LiveFeed {
            sender: broadcast::channel(batches.max(1)).0,
            closed: watch::channel(false).0,
            published: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Whether any client listens (the ingest path builds nothing otherwise).
    pub fn is_watched(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Sends a committed batch to every client; never blocks.
    pub fn publish(&self, batch: LiveBatch) {
        if batch.points.is_empty() && batch.anomalies.is_empty() && batch.events.is_empty() {
            return;
        }
        if self.sender.send(Arc::new(batch)).is_ok() {
            self.published.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends committed events to every client while somebody listens; never blocks.
    pub fn publish_events(&self, events: Vec<EventRecord>) {
        if self.is_watched() {
            self.publish(LiveBatch {
                events,
                ..LiveBatch::default()
            });
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveBatch>> {
        self.sender.subscribe()
    }

    /// A watch that turns true when the feed closes (server shutdown).
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Counts batches a slow client missed.
    pub fn record_dropped(&self, batches: u64) {
        self.dropped.fetch_add(batches, Ordering::Relaxed);
    }

    /// Ends every stream (server shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Batches that slow clients missed, summed over clients.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The feed's lines of `/metrics`.
    pub fn render_metrics(&self, out: &mut ExpositionWriter) {
        out.single(
            "lookout_live_clients",
            "Dashboard clients on the live stream.",
            MetricType::Gauge,
            self.sender.receiver_count() as f64,
        );
        out.single(
            "lookout_live_batches_published_total",
            "Committed batches sent to the live stream.",
            MetricType::Counter,
            self.published.load(Ordering::Relaxed) as f64,
        );
        out.single(
            "lookout_live_dropped_batches_total",
            "Batches slow live clients missed (oldest dropped first).",
            MetricType::Counter,
            self.dropped() as f64,
        );
    }
}

/// The points of one request's outcomes, or `None` when nobody watches.
pub fn capture(
    feed: &LiveFeed,
    entries: &[Arc<SeriesEntry>],
    values: &[(i64, f64)],
    outcomes: &[ScoreOutcome],
) -> Option<LiveBatch> {
    if !feed.is_watched() {
        return None;
    }
    let points = entries
        .iter()
        .zip(values)
        .zip(outcomes)
        .map(|((entry, (ts_ms, value)), outcome)| match outcome {
            ScoreOutcome::Scored(verdict) => LivePoint {
                entry: Arc::clone(entry),
                ts_ms: verdict.timestamp_ms,
                value: verdict.value,
                score: Some(verdict.score),
                lower: Some(verdict.expected_lower),
                upper: Some(verdict.expected_upper),
                is_anomaly: verdict.is_anomaly,
            },
            ScoreOutcome::NotScored(_) => LivePoint {
                entry: Arc::clone(entry),
                ts_ms: *ts_ms,
                value: *value,
                score: None,
                lower: None,
                upper: None,
                is_anomaly: false,
            },
        })
        .collect();
    Some(LiveBatch {
        points,
        ..LiveBatch::default()
    })
}

/// Batches queued for the live subscriber's thread before new ones are dropped.
pub const SUBSCRIBER_QUEUE: usize = 256;

/// Publishes each scored batch to the live feed while somebody listens.
pub struct LiveSubscriber {
    feed: Arc<LiveFeed>,
    index: Arc<SeriesIndex>,
}

impl LiveSubscriber {
    pub fn new(feed: Arc<LiveFeed>, index: Arc<SeriesIndex>) -> LiveSubscriber {
        LiveSubscriber { feed, index }
    }
}

impl Subscriber for LiveSubscriber {
    fn name(&self) -> &'static str {
        "live"
    }

    fn policy(&self) -> Policy {
        Policy::Shed {
            capacity: SUBSCRIBER_QUEUE,
        }
    }

    fn on_scored(&self, batch: &ScoredBatch) {
        if let Some(live) = capture(&self.feed, &batch.entries, &batch.values, &batch.outcomes) {
            self.feed
                .publish(live.with_anomalies(&self.index, &batch.anomalies));
        }
    }

    fn on_events(&self, events: &[EventRecord]) {
        self.feed.publish_events(events.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use lookout_model::{SeriesId, SeriesKey};

    use super::*;

    #[test]
    fn nothing_is_published_without_content_or_listeners() {
        let feed = LiveFeed::default();
        feed.publish_events(Vec::new());
        let mut receiver = feed.subscribe();
        feed.publish(LiveBatch::default());
        feed.publish_events(Vec::new());
        assert!(receiver.try_recv().is_err());
        assert_eq!(feed.published.load(Ordering::Relaxed), 0);
    }

    fn entry(id: i64, host: &str) -> Arc<SeriesEntry> {
        Arc::new(SeriesEntry::new(
            SeriesId(id),
            SeriesKey::new("cpu").with_label("host", host),
        ))
    }

    fn point(entry: &Arc<SeriesEntry>, ts_ms: i64, is_anomaly: bool) -> LivePoint {
        LivePoint {
            entry: Arc::clone(entry),
            ts_ms,
            value: 1.5,
            score: Some(0.25),
            lower: Some(1.0),
            upper: None,
            is_anomaly,
        }
    }

    #[tokio::test]
    async fn a_slow_client_loses_the_oldest_batches_not_the_newest() {
        let feed = LiveFeed::with_capacity(2);
        let mut receiver = feed.subscribe();
        assert!(feed.is_watched());
        let a = entry(1, "a");
        for ts in 0..5 {
            feed.publish(LiveBatch {
                points: vec![point(&a, ts, false)],
                ..LiveBatch::default()
            });
        }
        assert!(matches!(
            receiver.recv().await,
            Err(broadcast::error::RecvError::Lagged(3))
        ));
        assert_eq!(receiver.recv().await.unwrap().points[0].ts_ms, 3);
        assert_eq!(receiver.recv().await.unwrap().points[0].ts_ms, 4);
        let mut writer = lookout_protocol::exposition::ExpositionWriter::new();
        feed.render_metrics(&mut writer);
        let metrics = writer.finish();
        assert!(
            metrics.contains("lookout_live_batches_published_total 5"),
            "{metrics}"
        );
    }

    #[test]
    fn nothing_is_published_without_content() {
        let feed = LiveFeed::default();
        let _receiver = feed.subscribe();
        feed.publish(LiveBatch::default());
        assert_eq!(feed.published.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_subscriber_builds_nothing_unwatched_and_publishes_points_with_changes() {
        let feed = Arc::new(LiveFeed::default());
        let index = Arc::new(SeriesIndex::new(10));
        index.load([(SeriesId(1), SeriesKey::new("cpu").with_label("host", "a"))]);
        let subscriber = LiveSubscriber::new(Arc::clone(&feed), Arc::clone(&index));
        let a = index.by_id(SeriesId(1)).unwrap();
        let batch = ScoredBatch {
            entries: vec![a],
            values: vec![(5, 2.5)],
            outcomes: vec![ScoreOutcome::NotScored("duplicate")],
            anomalies: vec![AnomalyOp::Close {
                series: SeriesId(1),
                start_ms: 1,
                end_ms: 5,
            }],
        };
        subscriber.on_scored(&batch);
        assert_eq!(feed.published.load(Ordering::Relaxed), 0, "nobody listens");
        let mut receiver = feed.subscribe();
        subscriber.on_scored(&batch);
        let live = receiver.try_recv().unwrap();
        assert_eq!(live.points.len(), 1);
        assert_eq!((live.points[0].ts_ms, live.points[0].value), (5, 2.5));
        assert_eq!(live.points[0].score, None);
        assert_eq!(live.anomalies[0].change, "closed");
        assert_eq!(live.anomalies[0].end_ms, Some(5));
    }
}
