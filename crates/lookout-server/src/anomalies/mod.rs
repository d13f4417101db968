//! Anomalies: recording them from verdicts ([`tracker`]) and the HTTP API over them.
//!
//! - `GET /api/v1/anomalies?from=&to=&match=&limit=`: anomalies overlapping `[from, to]`
//!   (unix seconds or RFC 3339; default the last 24 hours), newest first, optionally only
//!   those of series matching the selector `match`, at most `limit` (default 1000).
//! - `GET /api/v1/anomalies/{id}`: one anomaly, its feedback, and the series' current
//!   tolerance (the score at which it opens an anomaly).
//! - `POST /api/v1/anomalies/{id}/feedback` with `{"label": "false_positive" | "expected" |
//!   "incident" | "confirmed", "note": "..."}`: stores the feedback, moves the anomaly's
//!   status, and for a false positive tells the engine, which widens that series'
//!   tolerance; the answer shows the tolerance before and after.

pub use lookout_pipeline::tracker;

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use lookout_model::clock::now_ms;
use lookout_model::{AnomalyId, AnomalyRecord, FeedbackLabel, FeedbackRecord};
use lookout_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{caller_of, Caller};
use crate::error::ApiError;
use crate::query::params::Form;
use crate::query::select_series;
use crate::state::AppState;

/// Most anomalies one listing returns.
const DEFAULT_LIMIT: usize = 1000;

/// An anomaly as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AnomalyView {
    pub id: i64,
    /// The series' metric name and labels.
    pub name: String,
    pub labels: lookout_model::Labels,
    pub series: String,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    /// RFC 3339 forms of the times.
    pub start: String,
    pub end: Option<String>,
    pub peak_score: f64,
    pub severity: &'static str,
    pub domain: &'static str,
    pub status: &'static str,
    pub explanation: lookout_model::Explanation,
}

impl From<AnomalyRecord> for AnomalyView {
    fn from(record: AnomalyRecord) -> Self {
        AnomalyView {
            id: record.id.0,
            series: record.series.to_string(),
            name: record.series.name,
            labels: record.series.labels,
            start_ms: record.start_ms,
            end_ms: record.end_ms,
            start: rfc3339(record.start_ms),
            end: record.end_ms.map(rfc3339),
            peak_score: record.peak_score,
            severity: record.severity.as_str(),
            domain: record.domain.as_str(),
            status: record.status.as_str(),
            explanation: record.explanation,
        }
    }
}

pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::AnomalyNotFound(id) => ApiError::not_found(format!("anomaly {id} not found")),
        other => ApiError::internal(other.to_string()),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::internal(format!("task failed: {error}")))?
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(query.as_deref(), b"");
    let now = now_ms();
    let to = form.time_or("to", now)?;
    let from = form.time_or("from", to - 86_400_000)?;
    if from > to {
        return Err(ApiError::bad_data(
            "invalid parameters: \"from\" is after \"to\"",
        ));
    }
    let limit = match form.get("limit") {
        Some(text) => text.parse::<usize>().map_err(|_| {
            ApiError::bad_data(format!(
                "invalid parameter \"limit\": {text:?} is not a count"
            ))
        })?,
        None => DEFAULT_LIMIT,
    };
    let series = match form.get("match") {
        Some(text) if !text.is_empty() => {
            let matched = select_series(&state, text)?;
            Some(
                matched
                    .iter()
                    .filter(|m| !m.is_score)
                    .map(|m| m.entry.id)
                    .collect::<Vec<_>>(),
            )
        }
        _ => None,
    };
    let records = blocking(move || {
        state
            .store
            .anomalies(from, to, series.as_deref(), limit)
            .map_err(store_error)
    })
    .await?;
    let views: Vec<AnomalyView> = records.into_iter().map(AnomalyView::from).collect();
    Ok(Json(json!({ "status": "success", "data": views })))
}

fn parse_id(text: &str) -> Result<AnomalyId, ApiError> {
    text.parse::<i64>()
        .map(AnomalyId)
        .map_err(|_| ApiError::bad_data(format!("anomaly id {text:?} is not a number")))
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let (record, feedback, tolerance) = blocking(move || {
        let record = state.store.anomaly(id).map_err(store_error)?;
        let feedback = state.store.feedback(id).map_err(store_error)?;
        let tolerance = state.scorer.tolerance(record.series_id).ok().flatten();
        Ok((record, feedback, tolerance))
    })
    .await?;
    Ok(Json(json!({
        "status": "success",
        "data": { "anomaly": AnomalyView::from(record), "feedback": feedback.iter().map(feedback_json).collect::<Vec<_>>(), "tolerance": tolerance },
    })))
}

fn feedback_json(record: &FeedbackRecord) -> Value {
    json!({ "id": record.id, "anomaly_id": record.anomaly_id.0, "label": record.label.as_str(), "note": record.note, "created_ms": record.created_ms })
}

/// Body of `POST /api/v1/anomalies/{id}/feedback`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    pub label: String,
    #[serde(default)]
    pub note: String,
}

pub async fn feedback(
    State(state): State<Arc<AppState>>,
    caller: Option<axum::Extension<Caller>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let body: FeedbackBody = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_data(format!("invalid feedback body: {error}; expected {{\"label\": \"false_positive\" | \"expected\" | \"incident\" | \"confirmed\", \"note\": \"...\"}}")))?;
    let label: FeedbackLabel = body
        .label
        .parse()
        .map_err(|error| ApiError::bad_data(format!("invalid feedback label: {error}")))?;
    let caller = caller_of(caller);
    let answer = blocking(move || {
        let record = state.store.anomaly(id).map_err(store_error)?;
        let series = record.series_id;
        let before = state.scorer.tolerance(series).ok().flatten();
        let stored = state
            .store
            .record_feedback(id, label, &body.note)
            .map_err(store_error)?;
        if label == FeedbackLabel::FalsePositive {
            state.scorer.false_positive(series).map_err(|error| {
                ApiError::internal(format!(
                    "feedback stored, but the engine refused it: {error}"
                ))
            })?;
        }
        let after = state.scorer.tolerance(series).ok().flatten();
        state.audit.record(
            &caller,
            "anomaly.feedback",
            format!("anomaly {id}"),
            label.as_str().to_string(),
        );
        Ok(json!({
            "feedback": feedback_json(&stored),
            "status": label.implied_status().as_str(),
            "tolerance_before": before,
            "tolerance": after,
        }))
    })
    .await?;
    Ok(Json(json!({ "status": "success", "data": answer })))
}
