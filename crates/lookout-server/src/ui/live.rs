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

/// What one client asked for, with a memo of which series its selector matches.
struct Subscription {
    selector: Selector,
    points: bool,
    all_anomalies: bool,
    memo: HashMap<SeriesId, bool>,
}

impl Subscription {
    fn wants(&mut self, entry: &SeriesEntry) -> bool {
        let selector = &self.selector;
        *self
            .memo
            .entry(entry.id)
            .or_insert_with(|| selector.matches(&entry.key))
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
    let text = form.get("match").filter(|text| !text.is_empty()).ok_or_else(|| {
        ApiError::bad_data(
            "missing parameter \"match\": a series selector such as cpu{host=\"web-1\"} or {__name__=~\".+\"}",
        )
    })?;
    let selector = crate::query::parse(text)?;
    let subscription = Subscription {
        selector,
        points: form.get("points") != Some("false"),
        all_anomalies: form.get("anomalies") == Some("all"),
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
            selector: lookout_protocol::selector::parse_selector(selector).unwrap(),
            points,
            all_anomalies,
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
}
