//! What callers hand to the writer: a [`WriteBatch`], answered by a [`Ticket`].

use crossbeam_channel::{Receiver, TryRecvError};
use lookout_model::{EventRecord, Explanation, SeriesId, Verdict};

use crate::StoreError;

/// The engine's verdict fields that are stored beside a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleVerdict {
    pub score: f64,
    pub is_anomaly: bool,
    pub lower: f64,
    pub upper: f64,
}

impl From<&Verdict> for SampleVerdict {
    fn from(verdict: &Verdict) -> Self {
        SampleVerdict {
            score: verdict.score,
            is_anomaly: verdict.is_anomaly,
            lower: verdict.expected_lower,
            upper: verdict.expected_upper,
        }
    }
}

/// One sample row. Plain data (`Copy`), so a batch is one allocation however large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRow {
    pub series: SeriesId,
    pub ts_ms: i64,
    /// NaN is stored as NULL and read back as NaN (Prometheus staleness markers).
    pub value: f64,
    pub verdict: Option<SampleVerdict>,
}

/// A change to the `anomalies` table. Anomalies are identified by `(series, start_ms)`,
/// which the engine knows without asking the store, so replays are idempotent.
#[derive(Debug, Clone, PartialEq)]
pub enum AnomalyOp {
    /// Creates the anomaly (status `open`); if it exists, raises its peak like `Update`.
    Open {
        series: SeriesId,
        start_ms: i64,
        score: f64,
        explanation: Explanation,
    },
    /// Raises the peak score (and takes this explanation) when `score` is higher.
    /// Creates the anomaly if its `Open` was never stored (e.g. after a restart).
    Update {
        series: SeriesId,
        start_ms: i64,
        score: f64,
        explanation: Explanation,
    },
    /// Sets the end time; an `open` anomaly becomes `resolved`, a labelled one keeps its label.
    Close {
        series: SeriesId,
        start_ms: i64,
        end_ms: i64,
    },
}

/// Samples, anomaly changes and events committed together (possibly with other
/// batches) in one transaction. Of rows of the same `(series, ts_ms)` the first written
/// is read back: the first write of a time wins. Events carry ids from [`Store::assign_event_ids`](crate::Store::assign_event_ids).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    pub samples: Vec<SampleRow>,
    pub anomalies: Vec<AnomalyOp>,
    pub events: Vec<EventRecord>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(samples: usize) -> Self {
        WriteBatch {
            samples: Vec::with_capacity(samples),
            anomalies: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Adds a sample without a verdict (score, band stored as NULL).
    pub fn push(&mut self, series: SeriesId, ts_ms: i64, value: f64) {
        self.samples.push(SampleRow {
            series,
            ts_ms,
            value,
            verdict: None,
        });
    }

    /// Adds a scored sample: time, value, score and band come from the verdict.
    pub fn push_verdict(&mut self, series: SeriesId, verdict: &Verdict) {
        self.samples.push(SampleRow {
            series,
            ts_ms: verdict.timestamp_ms,
            value: verdict.value,
            verdict: Some(SampleVerdict::from(verdict)),
        });
    }

    pub fn open_anomaly(
        &mut self,
        series: SeriesId,
        start_ms: i64,
        score: f64,
        explanation: Explanation,
    ) {
        self.anomalies.push(AnomalyOp::Open {
            series,
            start_ms,
            score,
            explanation,
        });
    }

    pub fn update_anomaly(
        &mut self,
        series: SeriesId,
        start_ms: i64,
        score: f64,
        explanation: Explanation,
    ) {
        self.anomalies.push(AnomalyOp::Update {
            series,
            start_ms,
            score,
            explanation,
        });
    }

    pub fn close_anomaly(&mut self, series: SeriesId, start_ms: i64, end_ms: i64) {
        self.anomalies.push(AnomalyOp::Close {
            series,
            start_ms,
            end_ms,
        });
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.anomalies.is_empty() && self.events.is_empty()
    }
}

/// What the writer answers for one committed batch.
pub type CommitResult = Result<(), StoreError>;

/// The promise of one submitted batch: resolved once its transaction committed (or failed).
///
/// `wait` blocks; `try_result` polls; `into_receiver` hands out the crossbeam receiver,
/// which an async server can wait on inside `spawn_blocking` or select on.
#[derive(Debug)]
pub struct Ticket {
    pub(crate) receiver: Receiver<CommitResult>,
}

impl Ticket {
    /// Blocks until the batch is durable (committed to the WAL) or failed.
    pub fn wait(self) -> CommitResult {
        self.receiver.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// The result if it is already known.
    pub fn try_result(&self) -> Option<CommitResult> {
        match self.receiver.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(StoreError::Closed)),
        }
    }

    /// The channel on which exactly one result arrives.
    pub fn into_receiver(self) -> Receiver<CommitResult> {
        self.receiver
    }
}
