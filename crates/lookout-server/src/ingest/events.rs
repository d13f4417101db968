//! `POST /api/v1/events`: a JSON array of events, decoded on the blocking pool and
//! handed to the pipeline ([`lookout_pipeline::Pipeline::ingest_events`], which
//! validates the request whole, stores it and hands it to alerting and the live feed).
//!
//! The body is read with the same limit as every ingestion route (`max_body_bytes`,
//! else 413); a body that is not a JSON array of events, more than
//! [`MAX_EVENTS_PER_REQUEST`] events, or an invalid event refuses the request whole
//! with a 400 naming the problem (and, for an invalid event, its index).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout_model::Event;
pub use lookout_pipeline::{EventIngestReport, MAX_EVENTS_PER_REQUEST};

use super::routes::read_body;
use crate::error::ApiError;
use crate::state::AppState;

/// Decodes the body: a JSON array of events.
pub fn decode_events(body: &[u8]) -> Result<Vec<Event>, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_data(format!(
            "malformed_events: request refused whole, nothing stored: {error}; expected a JSON array of {{\"timestamp_ms\", \"kind\", \"domain\", \"severity\", \"entity\"?, \"score\"?, \"summary\"?, \"evidence\"?}}"
        ))
    })
}

/// `POST /api/v1/events`: a JSON array of events; 200 with `{accepted, ids}`.
pub async fn post_events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&state, &headers, body).await?;
    let events = tokio::task::spawn_blocking(move || decode_events(&body))
        .await
        .map_err(|error| ApiError::internal(format!("decoding task failed: {error}")))??;
    let report = state.pipeline.ingest_events(events, "events").await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({ "status": "success", "data": report })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_say_what_is_expected() {
        let error = decode_events(br#"{"kind": "x"}"#).unwrap_err();
        assert!(error.message.contains("JSON array"), "{}", error.message);
        let events = decode_events(
            br#"[{"timestamp_ms": 5, "kind": "syn_flood", "domain": "network", "severity": "critical",
                  "entity": {"host": "db-1"}, "evidence": {"counts": {"syns": 9000}}}]"#,
        )
        .unwrap();
        assert_eq!(events[0].evidence.counts["syns"], 9000);
        assert_eq!(events[0].summary, "");
    }
}
