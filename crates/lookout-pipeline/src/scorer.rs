//! The seam between the server and the detection engine.
//!
//! The server needs five things from a detection engine: score a batch without
//! blocking (answering through a callback, refusing at once when overloaded), take a
//! false-positive hint for one series, report one series' tolerance (so that the effect
//! of feedback is observable), score one value against a copy of a series' model
//! (the predict API), and report totals for `/metrics`. [`Scorer`] is that
//! contract; [`lookout_detect::engine::Engine`] implements it (see `engine_scorer`), and
//! tests can substitute an engine that is always overloaded.

pub use lookout_detect::engine::{EngineSnapshot, Peek, Point, RestoreReport, SnapshotError};
use lookout_model::{SeriesId, Verdict};

/// The engine's answer for one sample.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // by value: no allocation per scored sample
pub enum ScoreOutcome {
    Scored(Verdict),
    /// Not scored; the value is still stored. The reason is a counter label
    /// (`out_of_order`, `duplicate`, `non_finite`, `series_limit`).
    NotScored(&'static str),
}

/// Why a batch could not be handed to the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScorerError {
    /// Queues are full: the caller should answer 429 and the client retry later.
    #[error("detection engine overloaded: {0}")]
    Overloaded(String),
    #[error("detection engine is shut down")]
    ShutDown,
}

/// Totals for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScorerStats {
    pub series: usize,
    pub state_bytes: usize,
    pub queue_depth: usize,
    pub busy_seconds: f64,
}

/// Called once with one outcome per submitted sample, in input order.
pub type ScoreCallback = Box<dyn FnOnce(Vec<ScoreOutcome>) + Send>;

/// A detection engine as the server uses it. Implementations must be cheap to call
/// from async code: `submit` never blocks on scoring.
pub trait Scorer: Send + Sync + 'static {
    /// Queues a batch of points addressed by store series id; `on_done` receives the
    /// outcomes, on some other thread.
    fn submit(&self, points: Vec<Point>, on_done: ScoreCallback) -> Result<(), ScorerError>;

    /// Tells the engine that an anomaly of `series` was a false positive.
    fn false_positive(&self, series: SeriesId) -> Result<(), ScorerError>;

    /// The score threshold at which `series` currently opens an anomaly (`None`: unknown series).
    fn tolerance(&self, series: SeriesId) -> Result<Option<f64>, ScorerError>;

    fn stats(&self) -> Result<ScorerStats, ScorerError>;

    /// Scores one value against a copy of `series`' model, leaving the model unchanged
    /// (`POST /api/v1/predict/{domain}`). Blocks until the engine answers: call it off
    /// the async workers. `None`: the engine has no model of that series. Engines that
    /// cannot copy a model answer `None`.
    fn peek(
        &self,
        series: SeriesId,
        timestamp_ms: i64,
        value: f64,
    ) -> Result<Option<Peek>, ScorerError> {
        let _ = (series, timestamp_ms, value);
        Ok(None)
    }

    /// Every series' state, after every batch submitted before the call (see
    /// `lookout_detect::engine::snapshot`). Blocks: call it off the async workers.
    /// `None`: this engine cannot snapshot.
    fn snapshot(&self) -> Result<Option<EngineSnapshot>, ScorerError> {
        Ok(None)
    }

    /// Puts a snapshot's series back before their first live point. `None`: this
    /// engine cannot restore; `Some(Err)`: the snapshot does not fit this engine.
    fn restore(
        &self,
        snapshot: EngineSnapshot,
    ) -> Result<Option<Result<RestoreReport, SnapshotError>>, ScorerError> {
        let _ = snapshot;
        Ok(None)
    }

    /// Finishes queued work and stops.
    fn shutdown(&self);
}
