//! Validation, cardinality and scoring: the part of the pipeline every protocol, every
//! source and `lookout import` enter through.
//!
//! One request travels: decode → validate → cardinality check → engine → store → answer.
//!
//! 1. **Decode and validate** (on the blocking pool, never on the async workers): the
//!    protocol parser (in the caller) refuses malformed bodies whole; then every sample
//!    is checked here by
//!    [`SampleLimits`] (metric and label names, finite value, timestamp within
//!    `max_past`/`max_future` of now). **A request is all-or-nothing**: if any sample is
//!    refused, nothing of the request is stored, and the answer (400) names the first
//!    problems ([`IngestError::Invalid`]); the client can fix the payload and resend it
//!    whole. Valid input that
//!    lookout does not model (Prometheus stale markers, Influx string fields) is skipped
//!    and counted as ignored, never an error.
//! 2. **Cardinality**: if the request would take the number of series past
//!    `max_series`, it is refused whole ([`IngestError::SeriesLimit`]).
//! 3. **Engine**: the batch is handed to the detection engine without blocking; a full
//!    engine queue refuses it ([`IngestError::EngineOverloaded`], with a retry hint).
//!    The engine's callback hands the outcomes to the fan-out thread: one hop per batch.
//! 4. **Store** (on the fan-out thread, `store_stage`): one store batch with every
//!    sample (with its verdict when scored) and the anomaly changes, queued without
//!    blocking; a full store queue refuses it ([`IngestError::StoreFull`]).
//! 5. **Answer** only after the store reports the commit durable (WAL), so an
//!    acknowledged write survives `kill -9`. The subscribers hear the batch meanwhile.
//!
//! Samples the engine does not score are counted in
//! `lookout_samples_not_scored_total{reason}`. **The first write of a time wins**, as in
//! Prometheus' TSDB: a sample older than its series' newest scored one is stored without
//! a verdict; one repeating the newest scored point exactly (a client retrying after a
//! 429) is taken but adds nothing (`duplicates`); one with the newest scored time and
//! another value is refused (`conflicts`, with the first as an example) while the rest
//! of the request is stored, and the stored point keeps its value and verdict. Misses:
//! an out-of-order sample for an older time that is already stored is not compared
//! with it (that would cost a read per sample): the store keeps the first of the two.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use lookout_model::clock::now_ms;
use lookout_model::Sample;
use lookout_protocol::{Batch, ProtocolError, SampleLimits};
use tokio::sync::oneshot;

use crate::error::IngestError;
use crate::index::SeriesEntry;
use crate::scorer::{Point, ScorerError};
use crate::shared::Shared;
use crate::store_stage::{Job, ScoredJob};

/// What an accepted request did.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct IngestReport {
    /// Samples taken: stored, or retries of a stored point (`duplicates`).
    pub accepted: usize,
    /// Samples the engine scored (the others were stored without a verdict).
    pub scored: usize,
    /// Valid input skipped because lookout does not model it.
    pub ignored: u64,
    /// Samples that repeated the newest scored point exactly (a retry): nothing stored.
    pub duplicates: usize,
    /// Samples refused because their series already holds a scored point at their
    /// time with another value (the first write of a time wins); the rest is stored.
    pub conflicts: usize,
    /// The first of them.
    pub conflict: Option<Conflict>,
}

/// A sample refused for a time its series already holds with another value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conflict {
    /// The series, as a selector (`cpu{host="a"}`).
    pub series: String,
    pub timestamp_ms: i64,
    /// The refused value.
    pub value: f64,
}

/// Whether samples must lie within the configured time window around now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeCheck {
    /// Live data: `max_past`/`max_future` apply.
    Live,
    /// History (`lookout import`): any time is accepted.
    History,
}

/// A request after validation: samples plus their index entries.
pub struct Prepared {
    samples: Vec<Sample>,
    entries: Vec<Arc<SeriesEntry>>,
    ignored: u64,
    /// Validated for the write log: no series resolved, appended by `commit`.
    to_log: bool,
}

/// Counts a protocol error (a body the caller could not decode) and names it.
pub(crate) fn refuse(shared: &Shared, error: &ProtocolError, samples: u64) -> IngestError {
    let reason = error.reason();
    shared.metrics.reject(reason.reason(), samples);
    IngestError::Invalid {
        reason,
        message: format!("{reason}: {error}"),
    }
}

/// Validates a decoded batch (all-or-nothing) and resolves its series. Blocking work.
pub(crate) fn prepare(
    shared: &Shared,
    mut batch: Batch,
    time_check: TimeCheck,
    to_log: bool,
) -> Result<Prepared, IngestError> {
    if shared.warming.load(Ordering::Acquire) {
        return Err(IngestError::Warming {
            retry_after_seconds: shared.options.retry_after_seconds,
        });
    }
    for (reason, count) in batch.ignored.iter() {
        if count > 0 {
            shared.metrics.ignored_samples.add(reason.reason(), count);
        }
    }
    let ignored = batch.ignored.total();
    let total = batch.samples.len() as u64 + batch.rejected.total();
    let limits = match time_check {
        TimeCheck::Live => shared.options.sample_limits,
        TimeCheck::History => SampleLimits {
            max_past_ms: i64::MAX,
            ..shared.options.sample_limits
        },
    };
    let now = now_ms();
    let first_error = batch.rejected.examples.first().cloned().or_else(|| {
        batch
            .samples
            .iter()
            .find_map(|sample| limits.check(sample, now).err())
    });
    if let Some(error) = first_error {
        limits.apply(&mut batch, now);
        return Err(refuse_samples(shared, &batch, error, total));
    }
    if to_log {
        return Ok(Prepared {
            samples: batch.samples,
            entries: Vec::new(),
            ignored,
            to_log,
        });
    }
    let keys: Vec<&lookout_model::SeriesKey> =
        batch.samples.iter().map(|sample| &sample.key).collect();
    let entries = shared
        .index
        .resolve(&keys, |key| shared.store.series_entry(key))
        .map_err(|error| {
            shared.metrics.reject("series_limit", total);
            IngestError::SeriesLimit(error)
        })?;
    Ok(Prepared {
        samples: batch.samples,
        entries,
        ignored,
        to_log,
    })
}

/// The refusal of a request with invalid samples: every reason counted, the first few
/// problems named.
fn refuse_samples(shared: &Shared, batch: &Batch, first: ProtocolError, total: u64) -> IngestError {
    let mut reasons = Vec::new();
    for (reason, count) in batch.rejected.counts.iter() {
        if count > 0 {
            shared.metrics.rejected_requests.add(reason.reason(), 1);
            shared.metrics.rejected_samples.add(reason.reason(), count);
            reasons.push(format!("{count} {reason}"));
        }
    }
    let reason = first.reason();
    let mut message = format!(
        "{}: request refused whole, nothing stored ({} of {total} samples invalid: {}); {first}",
        reason,
        batch.rejected.total(),
        reasons.join(", ")
    );
    for example in batch.rejected.examples.iter().skip(1).take(4) {
        message.push_str("; ");
        message.push_str(&example.to_string());
    }
    IngestError::Invalid { reason, message }
}

/// Scores and stores a prepared request; resolves once the store committed it.
pub(crate) async fn commit(
    shared: &Shared,
    prepared: Prepared,
    protocol: &'static str,
) -> Result<IngestReport, IngestError> {
    let Prepared {
        samples,
        entries,
        ignored,
        to_log,
    } = prepared;
    if samples.is_empty() {
        return Ok(IngestReport {
            ignored,
            ..IngestReport::default()
        });
    }
    let count = samples.len() as u64;
    if to_log {
        return append_to_log(shared, samples, protocol, ignored).await;
    }
    let Some(jobs) = shared.jobs() else {
        return Err(overloaded(shared, ScorerError::ShutDown, count));
    };
    let values: Vec<(i64, f64)> = samples.iter().map(|s| (s.timestamp_ms, s.value)).collect();
    let points: Vec<Point> = entries
        .iter()
        .zip(&values)
        .map(|(entry, (timestamp_ms, value))| Point {
            series: entry.id,
            timestamp_ms: *timestamp_ms,
            value: *value,
        })
        .collect();
    drop(samples);
    let (reply, answer) =
        oneshot::channel::<Result<crate::store_stage::StoredAnswer, IngestError>>();
    let metrics = Arc::clone(&shared.metrics);
    let submitted = Instant::now();
    let submit = shared.scorer.submit(
        points,
        Box::new(move |outcomes| {
            metrics.detect_latency.observe(submitted.elapsed());
            // One hop per batch; waits only while the fan-out is a whole queue behind
            // (back-pressure: the engine's queue fills, then ingestion is refused).
            let _ = jobs.send(Job::Scored(ScoredJob {
                entries,
                values,
                outcomes,
                reply,
            }));
        }),
    );
    if let Err(error) = submit {
        return Err(overloaded(shared, error, count));
    }
    let stored = match answer.await {
        Ok(result) => result?,
        Err(_) => {
            return Err(IngestError::Internal(
                "the write was dropped before its commit was confirmed".into(),
            ))
        }
    };
    let taken = count - stored.conflicts as u64;
    shared.metrics.samples.add(protocol, taken);
    if stored.conflicts > 0 {
        shared
            .metrics
            .reject("conflicting_value", stored.conflicts as u64);
    }
    Ok(IngestReport {
        accepted: taken as usize,
        scored: stored.scored,
        ignored,
        duplicates: stored.duplicates,
        conflicts: stored.conflicts,
        conflict: stored.conflict,
    })
}

/// A cluster node's write: answered once the write log acknowledged every sample.
async fn append_to_log(
    shared: &Shared,
    samples: Vec<Sample>,
    protocol: &'static str,
    ignored: u64,
) -> Result<IngestReport, IngestError> {
    let Some(log) = shared.log.get() else {
        return Err(IngestError::Internal("no write log is set".into()));
    };
    let count = samples.len();
    if let Err(error) = log.append(samples).await {
        shared.metrics.reject(error.reason(), count as u64);
        return Err(error);
    }
    shared.metrics.samples.add(protocol, count as u64);
    Ok(IngestReport {
        accepted: count,
        ignored,
        ..IngestReport::default()
    })
}

fn overloaded(shared: &Shared, error: ScorerError, samples: u64) -> IngestError {
    match error {
        ScorerError::Overloaded(message) => {
            shared.metrics.reject("engine_overloaded", samples);
            IngestError::EngineOverloaded {
                message,
                retry_after_seconds: shared.options.retry_after_seconds,
            }
        }
        ScorerError::ShutDown => {
            shared.metrics.reject("store_failed", samples);
            IngestError::ShuttingDown
        }
    }
}
