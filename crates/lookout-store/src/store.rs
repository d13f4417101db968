//! [`Store`]: the public face of the crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, SendTimeoutError, Sender, TrySendError};
use lookout_model::clock::now_ms;
use lookout_model::{
    AnomalyId, AnomalyRecord, AnomalyStatus, Event, EventId, EventRecord, FeedbackLabel,
    FeedbackRecord, SeriesId, SeriesKey,
};

use crate::anomalies;
use crate::batch::{Ticket, WriteBatch};
use crate::checkpoint::Checkpointer;
use crate::compact::CompactionReport;
use crate::events::{self, EventIds, EventPage, EventQuery};
use crate::head::Head;
use crate::lock::DirectoryLock;
use crate::pool::ReadPool;
use crate::query::{bucket_width, latest_point, plan_segments, range_of_series};
use crate::rejected::Rejected;
use crate::rows::{Point, SeriesPoints};
use crate::schema::{open_writer, Horizons};
use crate::series::{SeriesInfo, SeriesRegistry};
use crate::writer::{Command, Writer};
use crate::{StoreConfig, StoreError};
use lookout_model::ReadOffset;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "lookout.db";

/// The embedded store. Share it between threads behind an `Arc`; dropping the last
/// handle commits what is queued and stops the writer thread.
pub struct Store {
    path: PathBuf,
    config: StoreConfig,
    commands: Option<Sender<Command>>,
    writer: Option<JoinHandle<()>>,
    registry: Arc<SeriesRegistry>,
    horizons: Arc<Horizons>,
    head: Arc<Head>,
    health: Arc<crate::health::WriteHealth>,
    readers: ReadPool,
    event_ids: EventIds,
    checkpointer: Option<Checkpointer>,
    /// Held for the store's life (see `lock.rs`); dropped after the writer stops.
    _lock: DirectoryLock,
}

impl Store {
    /// Opens the store in `dir` (created if missing), file `lookout.db`, and starts the
    /// writer. Fails with [`StoreError::InUse`] while another process has the directory.
    pub fn open(dir: impl AsRef<Path>, config: StoreConfig) -> Result<Store, StoreError> {
        config.validate()?;
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock = DirectoryLock::acquire(dir)?;
        let path = dir.join(DATABASE_FILE);
        let conn = open_writer(&path, config.writer_cache_mib)?;
        let registry = Arc::new(SeriesRegistry::load(&conn)?);
        let horizons = Arc::new(Horizons::load(&conn)?);
        let event_ids = EventIds::load(&conn)?;
        let head = Arc::new(Head::default());
        let health = Arc::new(crate::health::WriteHealth::default());
        let writer = Writer::new(
            conn,
            Arc::clone(&registry),
            Arc::clone(&horizons),
            config.clone(),
            Arc::clone(&head),
        )?
        .with_health(Arc::clone(&health));
        let (commands, receiver) = bounded(config.queue_capacity);
        let handle = std::thread::Builder::new()
            .name("lookout-store-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(StoreError::Spawn)?;
        let readers = ReadPool::new(path.clone(), config.reader_cache_mib, config.read_pool_size);
        let checkpointer = Some(Checkpointer::start(&path)?);
        Ok(Store {
            path,
            config,
            commands: Some(commands),
            writer: Some(handle),
            registry,
            horizons,
            head,
            health,
            readers,
            event_ids,
            checkpointer,
            _lock: lock,
        })
    }

    /// Whether the writer can write (false while its last commit or seal failed), with
    /// the newest unresolved failure; see `health.rs`.
    pub fn write_health(&self) -> crate::HealthSnapshot {
        self.health.snapshot()
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The id of `key`, created on first sight (its row commits with the next write).
    pub fn series_id(&self, key: &SeriesKey) -> SeriesId {
        self.registry.id_for(key, now_ms())
    }

    /// The id of `key` and the store's shared copy of the key (registering it when new),
    /// so that other in-memory indexes need not keep their own copy.
    pub fn series_entry(&self, key: &SeriesKey) -> (SeriesId, std::sync::Arc<SeriesKey>) {
        self.registry.entry_for(key, now_ms())
    }

    /// The id of `key` if the store has seen it; never creates one (for cardinality limits).
    pub fn lookup_series(&self, key: &SeriesKey) -> Option<SeriesId> {
        self.registry.lookup(key)
    }

    pub fn series_info(&self, id: SeriesId) -> Option<SeriesInfo> {
        self.registry.info(id).map(|info| (*info).clone())
    }

    /// Every series, ordered by id, with owned keys (see [`Store::list_series_shared`]).
    pub fn list_series(&self) -> Vec<(SeriesId, SeriesKey)> {
        self.list_series_shared()
            .into_iter()
            .map(|(id, key)| (id, (*key).clone()))
            .collect()
    }

    /// Every series with the store's shared copy of its key, ordered by id.
    pub fn list_series_shared(&self) -> Vec<(SeriesId, std::sync::Arc<SeriesKey>)> {
        self.registry
            .all()
            .iter()
            .map(|info| (info.id, std::sync::Arc::clone(&info.key)))
            .collect()
    }

    pub fn count_series(&self) -> usize {
        self.registry.count()
    }

    /// Batches waiting for the writer.
    pub fn queue_len(&self) -> usize {
        self.commands.as_ref().map_or(0, Sender::len)
    }

    fn sender(&self) -> Result<&Sender<Command>, StoreError> {
        self.commands.as_ref().ok_or(StoreError::Closed)
    }

    /// Queues a batch, waiting while the queue is full (back-pressure).
    pub fn submit(&self, batch: WriteBatch) -> Result<Ticket, Box<Rejected>> {
        let (ack, receiver) = bounded(1);
        let Ok(sender) = self.sender() else {
            return Err(rejected(batch, StoreError::Closed));
        };
        match sender.send(Command::Write { batch, ack }) {
            Ok(()) => Ok(Ticket { receiver }),
            Err(error) => Err(rejected(into_batch(error.into_inner()), StoreError::Closed)),
        }
    }

    /// Queues a batch, or hands it back at once with [`StoreError::Full`] when the queue
    /// is full (the server answers 429/503 with Retry-After).
    pub fn try_submit(&self, batch: WriteBatch) -> Result<Ticket, Box<Rejected>> {
        let (ack, receiver) = bounded(1);
        let Ok(sender) = self.sender() else {
            return Err(rejected(batch, StoreError::Closed));
        };
        match sender.try_send(Command::Write { batch, ack }) {
            Ok(()) => Ok(Ticket { receiver }),
            Err(TrySendError::Full(command)) => Err(rejected(into_batch(command), self.full())),
            Err(TrySendError::Disconnected(command)) => {
                Err(rejected(into_batch(command), StoreError::Closed))
            }
        }
    }

    /// Queues a batch, waiting at most `timeout` for room, else [`StoreError::Full`].
    pub fn submit_timeout(
        &self,
        batch: WriteBatch,
        timeout: Duration,
    ) -> Result<Ticket, Box<Rejected>> {
        let (ack, receiver) = bounded(1);
        let Ok(sender) = self.sender() else {
            return Err(rejected(batch, StoreError::Closed));
        };
        match sender.send_timeout(Command::Write { batch, ack }, timeout) {
            Ok(()) => Ok(Ticket { receiver }),
            Err(SendTimeoutError::Timeout(command)) => {
                Err(rejected(into_batch(command), self.full()))
            }
            Err(SendTimeoutError::Disconnected(command)) => {
                Err(rejected(into_batch(command), StoreError::Closed))
            }
        }
    }

    fn full(&self) -> StoreError {
        StoreError::Full {
            capacity: self.config.queue_capacity,
        }
    }

    /// Submits a batch and waits for its commit.
    pub fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.submit(batch)?.wait()
    }

    /// Waits until everything queued so far, and every new series row, is committed.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.write(WriteBatch::new())
    }

    /// Builds rollups and deletes data past retention, as of `now_ms`. Runs on the writer
    /// thread in small steps between write commits; blocks until done.
    pub fn compact(&self, now_ms: i64) -> Result<CompactionReport, StoreError> {
        let (reply, receiver) = bounded(1);
        self.sender()?
            .send(Command::Compact { now_ms, reply })
            .map_err(|_| StoreError::Closed)?;
        receiver.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Points of each series in `[from_ms, to_ms]` (inclusive), in the order asked,
    /// downsampled to at most `max_points` each (see the `query` module for how).
    pub fn range(
        &self,
        series: &[SeriesId],
        from_ms: i64,
        to_ms: i64,
        max_points: Option<usize>,
    ) -> Result<Vec<SeriesPoints>, StoreError> {
        let conn = self.readers.get()?;
        let horizons = self.horizons.snapshot();
        let width = bucket_width(from_ms, to_ms, max_points);
        let segments = plan_segments(from_ms, to_ms, width, horizons);
        // The head before the database: see `Head::points`.
        let mut logged = self.head.points(series, segments.raw.0, segments.raw.1);
        let tx = conn
            .unchecked_transaction()
            .map_err(|source| StoreError::Sqlite {
                context: "beginning a range read",
                source,
            })?;
        let answer = series
            .iter()
            .map(|id| {
                let log_points = logged.remove(id).unwrap_or_default();
                range_of_series(&tx, *id, from_ms, max_points, segments, log_points)
            })
            .collect();
        drop(tx);
        answer
    }

    /// The time before which raw samples were deleted by retention (`i64::MIN` while
    /// none were): reads of raw samples only (PromQL) start here.
    pub fn raw_horizon_ms(&self) -> i64 {
        self.horizons.snapshot().raw_horizon
    }

    /// The newest point of each series in `(ts_ms - lookback_ms, ts_ms]`, for instant queries.
    pub fn latest_before(
        &self,
        series: &[SeriesId],
        ts_ms: i64,
        lookback_ms: i64,
    ) -> Result<Vec<(SeriesId, Option<Point>)>, StoreError> {
        let conn = self.readers.get()?;
        let horizons = self.horizons.snapshot();
        let window_start = ts_ms.saturating_sub(lookback_ms).saturating_add(1);
        // The head before the database: see `Head::points`.
        let mut logged = self
            .head
            .points(series, window_start, ts_ms.saturating_add(1));
        let tx = conn
            .unchecked_transaction()
            .map_err(|source| StoreError::Sqlite {
                context: "beginning an instant read",
                source,
            })?;
        series
            .iter()
            .map(|id| {
                let newest_logged = logged.remove(id).and_then(|points| points.last().copied());
                let point = latest_point(&tx, *id, ts_ms, lookback_ms, horizons, newest_logged)?;
                Ok((*id, point))
            })
            .collect()
    }

    /// Anomalies overlapping `[from_ms, to_ms]`, newest first, at most `limit`; only those
    /// of `series` when given.
    pub fn anomalies(
        &self,
        from_ms: i64,
        to_ms: i64,
        series: Option<&[SeriesId]>,
        limit: usize,
    ) -> Result<Vec<AnomalyRecord>, StoreError> {
        let conn = self.readers.get()?;
        anomalies::anomalies_between(&conn, &self.registry, from_ms, to_ms, series, limit)
    }

    /// Every anomaly that has not ended (the server takes them over at startup).
    pub fn open_anomalies(&self) -> Result<Vec<AnomalyRecord>, StoreError> {
        // Overlapping the end of time: only those with no end overlap it.
        self.anomalies(i64::MAX, i64::MAX, None, usize::MAX)
    }

    /// One anomaly; [`StoreError::AnomalyNotFound`] when no such id.
    pub fn anomaly(&self, id: AnomalyId) -> Result<AnomalyRecord, StoreError> {
        let conn = self.readers.get()?;
        anomalies::anomaly_by_id(&conn, &self.registry, id)
    }

    /// The anomaly of `series` that started at `start_ms`, if stored.
    pub fn anomaly_at(
        &self,
        series: SeriesId,
        start_ms: i64,
    ) -> Result<Option<AnomalyRecord>, StoreError> {
        let conn = self.readers.get()?;
        anomalies::anomaly_at(&conn, &self.registry, series, start_ms)
    }

    /// Per series, how many false-positive labels its anomalies received (to restore
    /// the tolerance that feedback widened, after a restart).
    pub fn false_positives_by_series(&self) -> Result<Vec<(SeriesId, usize)>, StoreError> {
        let conn = self.readers.get()?;
        anomalies::false_positives_by_series(&conn)
    }

    /// Feedback on one anomaly, oldest first.
    pub fn feedback(&self, anomaly: AnomalyId) -> Result<Vec<FeedbackRecord>, StoreError> {
        let conn = self.readers.get()?;
        anomalies::feedback_of(&conn, anomaly)
    }

    /// Records feedback and sets the anomaly's status to the one the label implies
    /// (see [`FeedbackLabel::implied_status`]); [`StoreError::AnomalyNotFound`] for an unknown id.
    pub fn record_feedback(
        &self,
        anomaly: AnomalyId,
        label: FeedbackLabel,
        note: &str,
    ) -> Result<FeedbackRecord, StoreError> {
        let (reply, receiver) = bounded(1);
        self.sender()?
            .send(Command::Feedback {
                anomaly,
                label,
                note: note.to_string(),
                created_ms: now_ms(),
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        receiver.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Sets the status of an anomaly; [`StoreError::AnomalyNotFound`] for an unknown id.
    pub fn set_anomaly_status(
        &self,
        anomaly: AnomalyId,
        status: AnomalyStatus,
    ) -> Result<(), StoreError> {
        let (reply, receiver) = bounded(1);
        self.sender()?
            .send(Command::SetStatus {
                anomaly,
                status,
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        receiver.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Saves how far sources have read their files (see [`ReadOffset`]), replacing the
    /// earlier offsets of the same `(source, path)`. Save them only once the records
    /// derived from the lines before them are committed: the save is applied after
    /// every batch submitted before it, in its own durable transaction.
    pub fn save_read_offsets(&self, offsets: Vec<ReadOffset>) -> Result<(), StoreError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let (reply, receiver) = bounded(1);
        self.sender()?
            .send(Command::SaveReadOffsets {
                offsets,
                updated_ms: now_ms(),
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        receiver.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// The read offsets `source` saved last, one per file, by path.
    pub fn read_offsets(&self, source: &str) -> Result<Vec<ReadOffset>, StoreError> {
        let conn = self.readers.get()?;
        crate::read_offsets::of_source(&conn, source)
    }

    /// Gives each event its id (ids only grow), ready for [`WriteBatch::events`].
    pub fn assign_event_ids(&self, events: Vec<Event>) -> Vec<EventRecord> {
        self.event_ids.assign(events)
    }

    /// A page of events matching `query`, newest first (see [`EventQuery`]).
    pub fn events(&self, query: &EventQuery<'_>) -> Result<EventPage, StoreError> {
        let conn = self.readers.get()?;
        events::list(&conn, query)
    }

    /// One event; [`StoreError::EventNotFound`] when no such id.
    pub fn event(&self, id: EventId) -> Result<EventRecord, StoreError> {
        let conn = self.readers.get()?;
        events::by_id(&conn, id)?.ok_or(StoreError::EventNotFound(id))
    }

    /// Commits what is queued, stops the writer and reports whether it ended cleanly.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), StoreError> {
        self.commands.take();
        let joined = match self.writer.take() {
            Some(handle) => handle.join().map_err(|_| StoreError::WriterPanicked),
            None => Ok(()),
        };
        if let Some(mut checkpointer) = self.checkpointer.take() {
            checkpointer.stop();
        }
        joined
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            tracing::error!(%error, path = %self.path.display(), "store writer did not stop cleanly");
        }
    }
}

fn rejected(batch: WriteBatch, error: StoreError) -> Box<Rejected> {
    Box::new(Rejected { batch, error })
}

fn into_batch(command: Command) -> WriteBatch {
    match command {
        Command::Write { batch, .. } => batch,
        _ => WriteBatch::new(),
    }
}
