//! Ingestion of events: the one way events enter, from `POST /api/v1/events` or from
//! a source's batches.
//!
//! A request of events travels: count check (at most [`MAX_EVENTS_PER_REQUEST`]) →
//! every event checked with [`Event::validate`] against [`EventLimits`] → ids from the
//! store → one store batch, queued by the fan-out thread in order with the scored
//! batches (a full queue refuses the request: `store_full`, with a retry hint) → the
//! subscribers (alerting's event rules, the live feed) hear them → the answer, with the
//! ids, once the commit is durable.
//!
//! **All or nothing**: the first invalid event refuses the whole request with
//! [`IngestError::InvalidEvents`] naming its index (from 0) and the reason; nothing of
//! it is stored. Events do not go through the detection engine, so they are accepted
//! during the warm start too.
//!
//! Cost: one validation pass per event, one row per event in the writer's
//! transaction, one channel hop per request.

use lookout_model::{Event, EventId, EventLimits};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::error::IngestError;
use crate::shared::Shared;
use crate::store_stage::{EventJob, Job};

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
pub fn validate_events(events: &[Event], limits: &EventLimits) -> Result<(), IngestError> {
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(IngestError::InvalidEvents {
            reason: "too_many_events",
            message: format!(
                "too_many_events: request refused whole, nothing stored: {} events, more than the limit of {MAX_EVENTS_PER_REQUEST} per request",
                events.len()
            ),
        });
    }
    for (index, event) in events.iter().enumerate() {
        if let Err(error) = event.validate(limits) {
            return Err(IngestError::InvalidEvents {
                reason: "invalid_event",
                message: format!(
                    "invalid_event: request refused whole, nothing stored: event #{index}: {error}"
                ),
            });
        }
    }
    Ok(())
}

/// Validates, stores and hands on `events`; resolves after the commit.
pub(crate) async fn ingest(
    shared: &Shared,
    events: Vec<Event>,
) -> Result<EventIngestReport, IngestError> {
    if let Err(error) = validate_events(&events, &EventLimits::default()) {
        shared.metrics.reject(error.reason(), 0);
        return Err(error);
    }
    if events.is_empty() {
        return Ok(EventIngestReport::default());
    }
    let records = shared.store.assign_event_ids(events);
    let ids: Vec<EventId> = records.iter().map(|record| record.id).collect();
    let (reply, answer) = oneshot::channel();
    let jobs = shared.jobs().ok_or(IngestError::ShuttingDown)?;
    // The fan-out queue is bounded: wait for room on the blocking pool, never on the
    // async workers.
    let job = Job::Events(EventJob { records, reply });
    tokio::task::spawn_blocking(move || jobs.send(job).map_err(|_| IngestError::ShuttingDown))
        .await
        .map_err(|error| IngestError::Internal(format!("event hand-off task failed: {error}")))??;
    match answer.await {
        Ok(result) => result?,
        Err(_) => {
            return Err(IngestError::Internal(
                "the events were dropped before their commit was confirmed".into(),
            ))
        }
    }
    Ok(EventIngestReport {
        accepted: ids.len(),
        ids,
    })
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
        assert_eq!(error.reason(), "invalid_event");
        let message = error.to_string();
        assert!(
            message.contains("event #2") && message.contains("\"Bad-Kind\""),
            "{message}"
        );
        validate_events(&events[..2], &EventLimits::default()).unwrap();
    }

    #[test]
    fn too_many_events_are_refused_before_any_is_checked() {
        let events = vec![event("Bad"); MAX_EVENTS_PER_REQUEST + 1];
        let error = validate_events(&events, &EventLimits::default()).unwrap_err();
        assert_eq!(error.reason(), "too_many_events");
        assert!(!error.is_retryable());
    }
}
