//! The dashboard's live feed: `GET /api/v1/stream?match=<selector>` as server-sent events.
//!
//! The pipeline's live subscriber ([`LiveSubscriber`], in `lookout-pipeline`) hands
//! every accepted request's points (value, score, band, anomaly flag) and anomaly
//! changes (opened, raised, closed) to [`LiveFeed::publish`], only while somebody
//! listens. Batches travel through a bounded `tokio::sync::broadcast` channel of
//! [`CHANNEL_BATCHES`] batches, shared by every client. A client that falls
//! that far behind loses the oldest batches (never blocking ingestion): it receives a
//! `lag` event with the number it missed, and `lookout_live_dropped_batches_total` counts
//! them, so the page can refetch.
//!
//! Events (JSON `data`):
//! - `ready`: `{"match": "<selector>"}` once subscribed;
//! - `update`: `{"series": [{"id", "key", "points": [[t_ms, value, score, lower, upper,
//!   anomaly 0|1], ...]}], "anomalies": [{"change": "opened"|"raised"|"closed", "series_id",
//!   "series", "start_ms", "end_ms", "score"}]}` with only the series the selector matches
//!   (`points=false` leaves points out, `anomalies=all` sends every series' anomaly changes);
//! - `events`: `{"events": [<event as in GET /api/v1/events>, ...]}`, committed events, to
//!   clients that asked with `events=all` or `events=<selector>` (matched against the
//!   event's entity labels, `domain`, `severity` and `__name__` = its kind); with
//!   `events`, `match` may be left out (no points, no anomaly changes);
//! - `lag`: `{"dropped": n}`.
//!
//! Streams end when the server shuts down ([`LiveFeed::close`]), so open dashboards do
//! not hold a graceful shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use lookout_model::SeriesId;
use lookout_pipeline::index::SeriesEntry;
pub use lookout_pipeline::live::{
    AnomalyChange, LiveBatch, LiveFeed, LivePoint, LiveSubscriber, CHANNEL_BATCHES,
};
use lookout_protocol::selector::Selector;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::query::params::Form;
use crate::state::AppState;

/// Which events a client wants.
enum EventFilter {
    All,
    Matching(Selector),
}

/// What one client asked for, with a memo of which series its selector matches.
struct Subscription {
    /// `None`: no series (a client of events only).
    selector: Option<Selector>,
    points: bool,
    all_anomalies: bool,
    events: Option<EventFilter>,
    memo: HashMap<SeriesId, bool>,
}

impl Subscription {
    fn wants(&mut self, entry: &SeriesEntry) -> bool {
        let Some(selector) = &self.selector else {
            return false;
        };
        *self
            .memo
            .entry(entry.id)
            .or_insert_with(|| selector.matches(&entry.key))
    }

    /// The `events` event's data for one batch, or `None` when no event is wanted.
    fn render_events(&self, batch: &LiveBatch) -> Option<Value> {
        let filter = self.events.as_ref()?;
        let events: Vec<Value> = batch
            .events
            .iter()
            .filter(|record| match filter {
                EventFilter::All => true,
                EventFilter::Matching(selector) => {
                    selector.matches(&lookout_alert::event_alerts::event_match_key(&record.event))
                }
            })
            .map(crate::events::event_json)
            .collect();
        (!events.is_empty()).then(|| json!({ "events": events }))
    }

    /// The `update` event's data for one batch, or `None` when nothing matched.
    fn render(&mut self, batch: &LiveBatch) -> Option<Value> {
        let mut series: Vec<(Arc<SeriesEntry>, Vec<Value>)> = Vec::new();
        let mut position: HashMap<SeriesId, usize> = HashMap::new();
        if self.points {
            for point in &batch.points {
                if !self.wants(&point.entry) {
                    continue;
                }
                let slot = *position.entry(point.entry.id).or_insert_with(|| {
                    series.push((Arc::clone(&point.entry), Vec::new()));
                    series.len() - 1
                });
                series[slot].1.push(json!([
                    point.ts_ms,
                    point.value,
                    point.score,
                    point.lower,
                    point.upper,
                    u8::from(point.is_anomaly)
                ]));
            }
        }
        let mut anomalies = Vec::new();
        for change in &batch.anomalies {
            if self.all_anomalies || self.wants(&change.entry) {
                anomalies.push(json!({
                    "change": change.change,
                    "series_id": change.entry.id.0,
                    "series": change.entry.key.to_string(),
                    "start_ms": change.start_ms,
                    "end_ms": change.end_ms,
                    "score": change.score,
                }));
            }
        }
        if series.is_empty() && anomalies.is_empty() {
            return None;
        }
        let series: Vec<Value> = series
            .into_iter()
            .map(|(entry, points)| json!({ "id": entry.id.0, "key": entry.key.to_string(), "points": points }))
            .collect();
        Some(json!({ "series": series, "anomalies": anomalies }))
    }
}

fn event(name: &str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// `GET /api/v1/stream?match=<selector>[&points=false][&anomalies=all]`
pub async fn stream(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let form = Form::parse(query.as_deref(), b"");
    let events = match form.get("events").filter(|text| !text.is_empty()) {
        None => None,
        Some("all") => Some(EventFilter::All),
        Some(text) => Some(EventFilter::Matching(crate::query::parse(text)?)),
    };
    let text = form.get("match").filter(|text| !text.is_empty());
    if text.is_none() && events.is_none() {
        return Err(ApiError::bad_data(
            "missing parameter \"match\": a series selector such as cpu{host=\"web-1\"} or {__name__=~\".+\"} (or \"events\" for events only)",
        ));
    }
    let selector = text.map(crate::query::parse).transpose()?;
    let text = text.unwrap_or("").to_string();
    let subscription = Subscription {
        selector,
        points: form.get("points") != Some("false"),
        all_anomalies: form.get("anomalies") == Some("all"),
        events,
        memo: HashMap::new(),
    };
    let receiver = state.live.subscribe();
    let closed = state.live.closed();
    let ready = event("ready", &json!({ "match": text }));
    let updates = futures::stream::unfold(
        (state, receiver, closed, subscription),
        |(state, mut receiver, mut closed, mut subscription)| async move {
            loop {
                if *closed.borrow() {
                    return None;
                }
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    _ = closed.changed() => return None,
                };
                let next = match received {
                    Ok(batch) if !batch.events.is_empty() => {
                        match subscription.render_events(&batch) {
                            Some(data) => event("events", &data),
                            None => continue,
                        }
                    }
                    Ok(batch) => match subscription.render(&batch) {
                        Some(data) => event("update", &data),
                        None => continue,
                    },
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        state.live.record_dropped(missed);
                        event("lag", &json!({ "dropped": missed }))
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                return Some((Ok(next), (state, receiver, closed, subscription)));
            }
        },
    );
    let events =
        futures::StreamExt::chain(futures::stream::once(async move { Ok(ready) }), updates);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use lookout_model::SeriesKey;

    use super::*;

    fn entry(id: i64, host: &str) -> Arc<SeriesEntry> {
        Arc::new(SeriesEntry::new(
            SeriesId(id),
            SeriesKey::new("cpu").with_label("host", host),
        ))
    }

    fn point(entry: &Arc<SeriesEntry>, ts_ms: i64, is_anomaly: bool) -> LivePoint {
        LivePoint {
            entry: Arc::clone(entry),
            ts_ms,
            value: 1.5,
            score: Some(0.25),
            lower: Some(1.0),
            upper: None,
            is_anomaly,
        }
    }

    fn subscription(selector: &str, points: bool, all_anomalies: bool) -> Subscription {
        Subscription {
            selector: Some(lookout_protocol::selector::parse_selector(selector).unwrap()),
            points,
            all_anomalies,
            events: None,
            memo: HashMap::new(),
        }
    }

    #[test]
    fn a_client_gets_only_the_series_its_selector_matches_grouped() {
        let (a, b) = (entry(1, "a"), entry(2, "b"));
        let batch = LiveBatch {
            points: vec![point(&a, 1, false), point(&b, 1, false), point(&a, 2, true)],
            anomalies: vec![AnomalyChange {
                change: "opened",
                entry: Arc::clone(&b),
                start_ms: 1,
                end_ms: None,
                score: Some(0.99),
            }],
            events: Vec::new(),
        };
        let data = subscription("cpu{host=\"a\"}", true, false)
            .render(&batch)
            .unwrap();
        assert_eq!(data["series"].as_array().unwrap().len(), 1);
        assert_eq!(data["series"][0]["id"], 1);
        assert_eq!(
            data["series"][0]["points"],
            json!([[1, 1.5, 0.25, 1.0, null, 0], [2, 1.5, 0.25, 1.0, null, 1]])
        );
        assert_eq!(data["anomalies"], json!([]));

        let overview = subscription("cpu{host=\"a\"}", false, true)
            .render(&batch)
            .unwrap();
        assert_eq!(overview["series"], json!([]));
        assert_eq!(overview["anomalies"][0]["change"], "opened");
        assert_eq!(overview["anomalies"][0]["series"], "cpu{host=\"b\"}");

        assert!(subscription("mem", true, false).render(&batch).is_none());
    }

    #[test]
    fn event_clients_get_the_events_they_asked_for() {
        use lookout_model::{Domain, Event, EventId, EventRecord, Severity};
        let record = |id: i64, kind: &str, host: &str| EventRecord {
            id: EventId(id),
            event: Event::new(id, kind, Domain::Login, Severity::Warning).with_entity("host", host),
        };
        let batch = LiveBatch {
            events: vec![
                record(1, "ssh_bruteforce", "a"),
                record(2, "syn_flood", "b"),
            ],
            ..LiveBatch::default()
        };
        let mut all = subscription("cpu", true, false);
        assert!(all.render_events(&batch).is_none(), "not asked for");
        all.events = Some(EventFilter::All);
        let data = all.render_events(&batch).unwrap();
        assert_eq!(data["events"].as_array().unwrap().len(), 2);
        let mut some = subscription("cpu", true, false);
        some.events = Some(EventFilter::Matching(
            lookout_protocol::selector::parse_selector("ssh_bruteforce{host=\"a\"}").unwrap(),
        ));
        let data = some.render_events(&batch).unwrap();
        assert_eq!(data["events"][0]["id"], 1);
        assert_eq!(data["events"][0]["kind"], "ssh_bruteforce");
        some.selector = None;
        assert!(!some.wants(&entry(1, "a")), "no selector: no series");
    }
}
