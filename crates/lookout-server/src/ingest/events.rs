//! Ingestion of events: `POST /api/v1/events` and [`crate::Server::ingest_events`].
//!
//! One request travels: read the body (at most `max_body_bytes`, else 413) → decode the
//! JSON array on the blocking pool → check the count (at most [`MAX_EVENTS_PER_REQUEST`])
//! and every event with [`Event::validate`] and [`EventLimits`] → ids from the store →
//! one store batch queued without blocking (a full queue answers 429 with
//! `Retry-After`) → after the commit, each event goes to alerting (event rules; waits
//! for room, never drops, like anomaly changes) and to the live feed (never blocks;
//! slow clients lose the oldest batches) → the answer, with the ids.
//!
//! **All or nothing**: the first invalid event refuses the whole request with a 400
//! that names its index and the reason (`event #3: event kind "SSH" is not a snake_case
//! name ...`), and nothing of it is stored; events of earlier requests are not touched.
//! An acknowledged event is committed (WAL) and survives `kill -9`. Events do not go
//! through the detection engine, so they are accepted during the warm start too.
//!
//! Cost: one JSON decode and one validation pass per event, one row per event in the
//! writer's transaction, one bounded channel message per event to alerting.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout_model::{Event, EventId, EventLimits, EventRecord};
use lookout_store::{StoreError, WriteBatch};
use serde::Serialize;
use tokio::sync::oneshot;

use super::acker::PendingCommit;
use super::routes::read_body;
use crate::error::ApiError;
use crate::state::AppState;

/// Most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// What an accepted request of events did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EventIngestReport {
    /// Events stored.
    pub accepted: usize,
    /// Their ids, in the order sent.
    pub ids: Vec<EventId>,
}

/// Checks a whole request of events: the count, then each event; the first problem
/// refuses all of them, naming the event's index (from 0).
pub fn validate_events(events: &[Event], limits: &EventLimits) -> Result<(), ApiError> {
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(ApiError::bad_data(format!(
            "too_many_events: request refused whole, nothing stored: {} events, more than the limit of {MAX_EVENTS_PER_REQUEST} per request",
            events.len()
        )));
    }
    for (index, event) in events.iter().enumerate() {
        if let Err(error) = event.validate(limits) {
            return Err(ApiError::bad_data(format!(
                "invalid_event: request refused whole, nothing stored: event #{index}: {error}"
            )));
        }
    }
    Ok(())
}

/// Decodes the body: a JSON array of events.
pub fn decode_events(body: &[u8]) -> Result<Vec<Event>, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_data(format!(
            "malformed_events: request refused whole, nothing stored: {error}; expected a JSON array of {{\"timestamp_ms\", \"kind\", \"domain\", \"severity\", \"entity\"?, \"score\"?, \"summary\"?, \"evidence\"?}}"
        ))
    })
}

/// Validates, stores and hands on `events`; resolves after the commit.
pub(crate) async fn ingest(
    state: &Arc<AppState>,
    events: Vec<Event>,
) -> Result<EventIngestReport, ApiError> {
    validate_events(&events, &EventLimits::default())?;
    if events.is_empty() {
        return Ok(EventIngestReport::default());
    }
    let records = state.store.assign_event_ids(events);
    let ids: Vec<EventId> = records.iter().map(|record| record.id).collect();
    let batch = WriteBatch {
        events: records.clone(),
        ..WriteBatch::default()
    };
    let ticket = state.store.try_submit(batch).map_err(|rejected| {
        let error = &rejected.error;
        match error {
            StoreError::Full { .. } => {
                state.metrics.reject("store_full", 0);
                ApiError::overloaded(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("store_full: {error}; nothing stored, retry later"),
                    state.options.retry_after_seconds,
                )
            }
            other => {
                state.metrics.reject("store_failed", 0);
                ApiError::overloaded(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("store_failed: {other}"),
                    1,
                )
            }
        }
    })?;
    let (reply, answer) = oneshot::channel::<Result<(), ApiError>>();
    let committed_state = Arc::clone(state);
    let on_commit = Box::new(move |result: Result<(), StoreError>| {
        let answer = result
            .map(|()| hand_on(&committed_state, records))
            .map_err(|error| {
                committed_state.metrics.reject("store_failed", 0);
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
    match answer.await {
        Ok(result) => result?,
        Err(_) => {
            return Err(ApiError::internal(
                "the events were dropped before their commit was confirmed",
            ))
        }
    }
    Ok(EventIngestReport {
        accepted: ids.len(),
        ids,
    })
}

/// After the commit: alerting first (it must not miss an acknowledged event), then the
/// live feed.
fn hand_on(state: &AppState, records: Vec<EventRecord>) {
    if let Some(alerts) = state.alerts.get() {
        for record in &records {
            if !alerts.forward_event(record.clone()) {
                tracing::warn!(event = %record.id, "alerting has stopped; event not evaluated");
                break;
            }
        }
    }
    state.live.publish_events(records);
}

/// `POST /api/v1/events`: a JSON array of events; 200 with `{accepted, ids}`.
pub async fn post_events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.metrics.requests.add("events", 1);
    let body = read_body(&state, &headers, body).await?;
    let events = tokio::task::spawn_blocking(move || decode_events(&body))
        .await
        .map_err(|error| ApiError::internal(format!("decoding task failed: {error}")))??;
    let report = ingest(&state, events).await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({ "status": "success", "data": report })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use lookout_model::{Domain, Severity};

    use super::*;

    fn event(kind: &str) -> Event {
        Event::new(1_000, kind, Domain::Login, Severity::Warning).with_entity("host", "a")
    }

    #[test]
    fn the_first_bad_event_is_named_by_index_and_reason() {
        let events = vec![event("ssh_bruteforce"), event("ok_too"), event("Bad-Kind")];
        let error = validate_events(&events, &EventLimits::default()).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(
            error.message.contains("event #2") && error.message.contains("\"Bad-Kind\""),
            "{}",
            error.message
        );
        validate_events(&events[..2], &EventLimits::default()).unwrap();
    }

    #[test]
    fn too_many_events_are_refused_before_any_is_checked() {
        let events = vec![event("Bad"); MAX_EVENTS_PER_REQUEST + 1];
        let error = validate_events(&events, &EventLimits::default()).unwrap_err();
        assert!(
            error.message.contains("too_many_events"),
            "{}",
            error.message
        );
    }

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
