//! The events API: `GET /api/v1/events` and `GET /api/v1/events/{id}`.
//!
//! `GET /api/v1/events?from=&to=&match[]=&kind=&domain=&severity=&limit=&cursor=` lists
//! stored events newest first:
//!
//! - `from`, `to`: the time range (inclusive; unix seconds, RFC 3339 or `now-1h`);
//!   default the last 24 hours up to now;
//! - `match[]` (or `match`, repeatable, any may match): selectors over the event's entity
//!   labels, its `domain`, `severity` and `__name__` (its kind), e.g. `{host="web-1"}`;
//! - `kind`, `domain`, `severity`: each repeatable or comma-separated, any may match;
//! - `limit`: events per page, 1..[`MAX_LIMIT`], default [`DEFAULT_LIMIT`];
//! - `cursor`: the `next_cursor` of the previous page.
//!
//! Answer: `{"status": "success", "data": {"events": [...], "next_cursor": "..." | null}}`;
//! each event has `id`, `time` (RFC 3339), `timestamp_ms`, `kind`, `domain`, `entity`,
//! `severity`, `score` (or null), `summary` and `evidence` (`fields`, `counts`,
//! `examples`, `first_ms`, `last_ms`). Cost: one index range scan in the store; a
//! `match[]` filter reads the rows it refuses too.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use lookout_alert::event_alerts::event_match_key;
use lookout_model::clock::now_ms;
use lookout_model::{Domain, Event, EventId, EventRecord, Severity};
use lookout_protocol::selector::Selector;
use lookout_store::{EventCursor, EventQuery, StoreError};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::params::Form;
use crate::state::AppState;

/// Events per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// Most events per page.
pub const MAX_LIMIT: usize = 1000;

/// An event as the API shows it.
pub fn event_json(record: &EventRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or(Value::Null);
    let time = chrono::DateTime::from_timestamp_millis(record.event.timestamp_ms)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    value["time"] = json!(time);
    value["score"] = json!(record.event.score);
    value["evidence"] = serde_json::to_value(&record.event.evidence).unwrap_or(Value::Null);
    value
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::EventNotFound(id) => ApiError::not_found(format!("event {id} not found")),
        other => ApiError::internal(format!("reading events failed: {other}")),
    }
}

/// Every value of a repeatable, comma-separated parameter, parsed.
fn list<T>(
    form: &Form,
    key: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ApiError> {
    let mut values = Vec::new();
    for text in form.all(key) {
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            values.push(parse(part).map_err(|reason| {
                ApiError::bad_data(format!("invalid parameter {key:?}: {reason}"))
            })?);
        }
    }
    Ok(values)
}

/// The listing's filters, read from the form.
struct Filters {
    from_ms: i64,
    to_ms: i64,
    kinds: Vec<String>,
    domains: Vec<Domain>,
    severities: Vec<Severity>,
    selectors: Vec<Selector>,
    limit: usize,
    after: Option<EventCursor>,
}

fn filters(form: &Form) -> Result<Filters, ApiError> {
    let to_ms = form.time_or("to", now_ms())?;
    let from_ms = form.time_or("from", to_ms.saturating_sub(86_400_000))?;
    if from_ms > to_ms {
        return Err(ApiError::bad_data(
            "invalid parameters: \"from\" is after \"to\"",
        ));
    }
    let kinds = list(form, "kind", |kind| {
        lookout_model::validate_event_kind(
            kind,
            lookout_model::EventLimits::default().max_kind_bytes,
        )
        .map(|()| kind.to_string())
        .map_err(|error| error.to_string())
    })?;
    let domains = list(form, "domain", |name| {
        Domain::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Domain::ALL.iter().map(|d| d.as_str()).collect();
            format!("unknown domain {name:?} (known: {})", known.join(", "))
        })
    })?;
    let severities = list(form, "severity", |name| {
        name.parse::<Severity>().map_err(|error| error.to_string())
    })?;
    let mut selectors = Vec::new();
    for text in form.all("match[]").into_iter().chain(form.all("match")) {
        if !text.trim().is_empty() {
            selectors.push(crate::query::parse(text)?);
        }
    }
    let limit = match form.get("limit").filter(|text| !text.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(ApiError::bad_data(format!(
                    "invalid parameter \"limit\": {text:?} is not a count in 1..{MAX_LIMIT}"
                )))
            }
        },
    };
    let after = match form.get("cursor").filter(|text| !text.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<EventCursor>().map_err(|error| {
            ApiError::bad_data(format!("invalid parameter \"cursor\": {error}"))
        })?),
    };
    Ok(Filters {
        from_ms,
        to_ms,
        kinds,
        domains,
        severities,
        selectors,
        limit,
        after,
    })
}

/// `GET /api/v1/events`
pub async fn list_events(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(query.as_deref(), b"");
    let filters = filters(&form)?;
    let page = tokio::task::spawn_blocking(move || {
        let Filters {
            from_ms,
            to_ms,
            kinds,
            domains,
            severities,
            selectors,
            limit,
            after,
        } = filters;
        // The selectors see what alert rules see: entity, domain, severity, kind.
        let matches = |event: &Event| {
            let key = event_match_key(event);
            selectors.iter().any(|selector| selector.matches(&key))
        };
        let query = EventQuery {
            from_ms,
            to_ms,
            kinds,
            domains,
            severities,
            matches: (!selectors.is_empty()).then_some(&matches as _),
            after,
            limit,
        };
        state.store.events(&query)
    })
    .await
    .map_err(|error| ApiError::internal(format!("task failed: {error}")))?
    .map_err(store_error)?;
    let events: Vec<Value> = page.events.iter().map(event_json).collect();
    Ok(Json(json!({
        "status": "success",
        "data": {
            "events": events,
            "next_cursor": page.next.map(|cursor| cursor.to_string()),
        },
    })))
}

/// `GET /api/v1/events/{id}`
pub async fn get_event(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = id
        .parse::<i64>()
        .map(EventId)
        .map_err(|_| ApiError::bad_data(format!("event id {id:?} is not a number")))?;
    let record = tokio::task::spawn_blocking(move || state.store.event(id))
        .await
        .map_err(|error| ApiError::internal(format!("task failed: {error}")))?
        .map_err(store_error)?;
    Ok(Json(
        json!({ "status": "success", "data": event_json(&record) }),
    ))
}
