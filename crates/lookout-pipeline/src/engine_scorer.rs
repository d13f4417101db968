//! [`Scorer`] for lookout's sharded detection engine.

use lookout_detect::engine::{
    Engine, EngineError, EngineSnapshot, Feedback, Peek, Point, RestoreReport, SampleOutcome,
    SnapshotError,
};
use lookout_model::SeriesId;

use crate::scorer::{ScoreCallback, ScoreOutcome, Scorer, ScorerError, ScorerStats};

fn convert(error: EngineError) -> ScorerError {
    match error {
        EngineError::Overloaded { .. } => ScorerError::Overloaded(error.to_string()),
        _ => ScorerError::ShutDown,
    }
}

impl Scorer for Engine {
    fn submit(&self, points: Vec<Point>, on_done: ScoreCallback) -> Result<(), ScorerError> {
        Engine::submit(
            self,
            points,
            Box::new(move |outcomes: Vec<SampleOutcome>| {
                let outcomes = outcomes
                    .into_iter()
                    .map(|outcome| match outcome {
                        SampleOutcome::Scored(verdict) => ScoreOutcome::Scored(verdict),
                        SampleOutcome::Rejected(reason) => ScoreOutcome::NotScored(reason.as_str()),
                    })
                    .collect();
                on_done(outcomes);
            }),
        )
        .map_err(convert)
    }

    fn false_positive(&self, series: SeriesId) -> Result<(), ScorerError> {
        self.feedback(series, Feedback::FalsePositive)
            .map_err(convert)
    }

    fn tolerance(&self, series: SeriesId) -> Result<Option<f64>, ScorerError> {
        Engine::tolerance(self, series).map_err(convert)
    }

    fn stats(&self) -> Result<ScorerStats, ScorerError> {
        let stats = Engine::stats(self).map_err(convert)?;
        Ok(ScorerStats {
            series: stats.series,
            state_bytes: stats.state_bytes,
            queue_depth: stats.queue_depth,
            busy_seconds: stats.busy_nanos as f64 / 1e9,
        })
    }

    fn peek(
        &self,
        series: SeriesId,
        timestamp_ms: i64,
        value: f64,
    ) -> Result<Option<Peek>, ScorerError> {
        Engine::peek(self, series, timestamp_ms, value).map_err(convert)
    }

    fn snapshot(&self) -> Result<Option<EngineSnapshot>, ScorerError> {
        Engine::snapshot_all(self).map(Some).map_err(convert)
    }

    fn restore(
        &self,
        snapshot: EngineSnapshot,
    ) -> Result<Option<Result<RestoreReport, SnapshotError>>, ScorerError> {
        match Engine::restore(self, snapshot) {
            Ok(report) => Ok(Some(Ok(report))),
            Err(EngineError::Snapshot(error)) => Ok(Some(Err(error))),
            Err(error) => Err(convert(error)),
        }
    }

    fn shutdown(&self) {
        Engine::shutdown(self);
    }
}
