//! The ingestion pipeline shared by every protocol, the host source and `lookout import`.
//!
//! One request travels: decode → validate → cardinality check → engine → store → answer.
//!
//! 1. **Decode and validate** (on the blocking pool, never on the async workers): the
//!    protocol parser refuses malformed bodies whole; then every sample is checked by
//!    [`SampleLimits`] (metric and label names, finite value, timestamp within
//!    `max_past`/`max_future` of now). **A request is all-or-nothing**: if any sample is
//!    refused, nothing of the request is stored, and the answer (400) names the first
//!    problems; the client can fix the payload and resend it whole. Valid input that
//!    lookout does not model (Prometheus stale markers, Influx string fields) is skipped
//!    and counted as ignored, never an error.
//! 2. **Cardinality**: if the request would take the number of series past
//!    `max_series`, it is refused whole (400, reason `series_limit`).
//! 3. **Engine**: the batch is handed to the detection engine without blocking; a full
//!    engine queue answers 429 with `Retry-After` (reason `engine_overloaded`).
//! 4. **Store**: the engine's callback builds one store batch with every sample (with
//!    its verdict when scored) and the anomaly changes, and queues it without blocking;
//!    a full store queue answers 429 (reason `store_full`).
//! 5. **Answer** only after the store reports the commit durable (WAL), so an
//!    acknowledged write survives `kill -9`.
//!
//! Samples the engine does not score (out of order, duplicate of the newest scored
//! time, e.g. a client retrying after a 429 that came from the store) are still stored,
//! without a verdict, and counted in `lookout_samples_not_scored_total{reason}`.

pub(crate) mod acker;
pub mod events;
pub mod routes;

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use lookout_model::{Sample, SeriesId};
use lookout_protocol::{Batch, ProtocolError, SampleLimits};
use lookout_store::{now_ms, StoreError, WriteBatch};
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::index::SeriesEntry;
use crate::scorer::{Point, ScoreOutcome, ScorerError};
use crate::state::AppState;
use acker::PendingCommit;

/// What an accepted request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct IngestReport {
    /// Samples stored.
    pub accepted: usize,
    /// Samples the engine scored (the others were stored without a verdict).
    pub scored: usize,
    /// Valid input skipped because lookout does not model it.
    pub ignored: u64,
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
pub(crate) struct Prepared {
    samples: Vec<Sample>,
    entries: Vec<Arc<SeriesEntry>>,
    ignored: u64,
}

/// Counts and turns a protocol error into a 4xx answer.
pub(crate) fn refuse(state: &AppState, error: &ProtocolError, samples: u64) -> ApiError {
    let reason = error.reason();
    state.metrics.reject(reason.reason(), samples);
    let status = match reason {
        lookout_protocol::RejectReason::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, "bad_data", format!("{reason}: {error}"))
}

/// Validates a decoded batch (all-or-nothing) and resolves its series. Blocking work.
pub(crate) fn prepare(
    state: &AppState,
    mut batch: Batch,
    time_check: TimeCheck,
) -> Result<Prepared, ApiError> {
    if state.warming.load(std::sync::atomic::Ordering::Acquire) {
        return Err(ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "the detectors are relearning stored history after a restart; retry shortly",
            state.options.retry_after_seconds,
        ));
    }
    for (reason, count) in batch.ignored.iter() {
        if count > 0 {
            state.metrics.ignored_samples.add(reason.reason(), count);
        }
    }
    let ignored = batch.ignored.total();
    let total = batch.samples.len() as u64 + batch.rejected.total();
    let limits = match time_check {
        TimeCheck::Live => state.options.sample_limits,
        TimeCheck::History => SampleLimits {
            max_past_ms: i64::MAX,
            max_future_ms: state.options.sample_limits.max_future_ms,
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
        return Err(refuse_samples(state, &batch, error, total));
    }
    let keys: Vec<&lookout_model::SeriesKey> =
        batch.samples.iter().map(|sample| &sample.key).collect();
    let entries = state
        .index
        .resolve(&keys, |key| state.store.series_entry(key))
        .map_err(|error| {
            state.metrics.reject("series_limit", total);
            ApiError::bad_data(format!("series_limit: {error}"))
        })?;
    Ok(Prepared {
        samples: batch.samples,
        entries,
        ignored,
    })
}

/// The 400 answer for a request with refused samples: every reason counted, the first
/// few problems named.
fn refuse_samples(state: &AppState, batch: &Batch, first: ProtocolError, total: u64) -> ApiError {
    let mut reasons = Vec::new();
    for (reason, count) in batch.rejected.counts.iter() {
        if count > 0 {
            state.metrics.rejected_requests.add(reason.reason(), 1);
            state.metrics.rejected_samples.add(reason.reason(), count);
            reasons.push(format!("{count} {reason}"));
        }
    }
    let mut message = format!(
        "{}: request refused whole, nothing stored ({} of {total} samples invalid: {}); {first}",
        first.reason(),
        batch.rejected.total(),
        reasons.join(", ")
    );
    for example in batch.rejected.examples.iter().skip(1).take(4) {
        message.push_str("; ");
        message.push_str(&example.to_string());
    }
    ApiError::bad_data(message)
}

/// Scores and stores a prepared request; resolves once the store committed it.
pub(crate) async fn commit(
    state: &Arc<AppState>,
    prepared: Prepared,
    protocol: &'static str,
) -> Result<IngestReport, ApiError> {
    let Prepared {
        samples,
        entries,
        ignored,
    } = prepared;
    if samples.is_empty() {
        return Ok(IngestReport {
            ignored,
            ..IngestReport::default()
        });
    }
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
    let count = samples.len() as u64;
    drop(samples);
    let (reply, answer) = oneshot::channel::<Result<usize, ApiError>>();
    let callback_state = Arc::clone(state);
    let submitted = Instant::now();
    let submit = state.scorer.submit(
        points,
        Box::new(move |outcomes| {
            callback_state
                .metrics
                .detect_latency
                .observe(submitted.elapsed());
            store_outcomes(&callback_state, &entries, &values, outcomes, reply);
        }),
    );
    if let Err(error) = submit {
        return Err(overloaded(state, error, count));
    }
    let scored = match answer.await {
        Ok(result) => result?,
        Err(_) => {
            return Err(ApiError::internal(
                "the write was dropped before its commit was confirmed",
            ))
        }
    };
    state.metrics.samples.add(protocol, count);
    Ok(IngestReport {
        accepted: count as usize,
        scored,
        ignored,
    })
}

fn overloaded(state: &AppState, error: ScorerError, samples: u64) -> ApiError {
    match error {
        ScorerError::Overloaded(message) => {
            state.metrics.reject("engine_overloaded", samples);
            ApiError::overloaded(
                StatusCode::TOO_MANY_REQUESTS,
                format!("engine_overloaded: {message}; nothing stored, retry later"),
                state.options.retry_after_seconds,
            )
        }
        ScorerError::ShutDown => {
            state.metrics.reject("store_failed", samples);
            ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down; retry later",
                1,
            )
        }
    }
}

/// Runs on an engine thread: builds the store batch and queues it without blocking.
fn store_outcomes(
    state: &Arc<AppState>,
    entries: &[Arc<SeriesEntry>],
    values: &[(i64, f64)],
    outcomes: Vec<ScoreOutcome>,
    reply: oneshot::Sender<Result<usize, ApiError>>,
) {
    let live = crate::ui::live::capture(state, entries, values, &outcomes);
    let mut batch = WriteBatch::with_capacity(outcomes.len());
    let mut scored = 0;
    let mut verdicts: Vec<(SeriesId, &lookout_model::Verdict)> = Vec::new();
    for ((entry, (timestamp, value)), outcome) in entries.iter().zip(values).zip(&outcomes) {
        match outcome {
            ScoreOutcome::Scored(verdict) => {
                scored += 1;
                batch.push_verdict(entry.id, verdict);
                entry.record_score(verdict.timestamp_ms, verdict.score);
                verdicts.push((entry.id, verdict));
            }
            ScoreOutcome::NotScored(reason) => {
                state.metrics.not_scored.add(reason, 1);
                batch.push(entry.id, *timestamp, *value);
            }
        }
    }
    state.tracker.apply(verdicts, &mut batch);
    crate::usage::record(state, entries, &outcomes, &mut batch);
    crate::alerting::forward(state, entries, &outcomes, &batch.anomalies);
    let live = live.map(|live| live.with_anomalies(&state.index, &batch.anomalies));
    let samples = batch.len() as u64;
    match state.store.try_submit(batch) {
        Ok(ticket) => {
            let metrics = Arc::clone(&state.metrics);
            let live_state = Arc::clone(state);
            let on_commit = Box::new(move |result: Result<(), StoreError>| {
                if let (Ok(()), Some(live)) = (&result, live) {
                    live_state.live.publish(live);
                }
                let answer = result.map(|()| scored).map_err(|error| {
                    metrics.reject("store_failed", samples);
                    ApiError::overloaded(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("store_failed: {error}"),
                        1,
                    )
                });
                let _ = reply.send(answer);
            });
            state.acker.wait_for(PendingCommit {
                ticket,
                submitted: Instant::now(),
                on_commit,
            });
        }
        Err(rejected) => {
            let answer = match rejected.error {
                StoreError::Full { .. } => {
                    state.metrics.reject("store_full", samples);
                    ApiError::overloaded(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "store_full: {}; nothing stored, retry later",
                            rejected.error
                        ),
                        state.options.retry_after_seconds,
                    )
                }
                other => {
                    state.metrics.reject("store_failed", samples);
                    ApiError::overloaded(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("store_failed: {other}"),
                        1,
                    )
                }
            };
            let _ = reply.send(Err(answer));
        }
    }
}
