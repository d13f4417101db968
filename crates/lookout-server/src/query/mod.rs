//! The subset of the Prometheus HTTP API that Grafana's Prometheus data source and
//! `promtool query` use, for series selectors (no PromQL functions or operators).
//!
//! Routes (GET, and POST with a form body): `/api/v1/series`, `/api/v1/labels`,
//! `/api/v1/label/{name}/values`, `/api/v1/query`, `/api/v1/query_range`, plus
//! `/api/v1/status/buildinfo`. Answers use Prometheus' envelope
//! (`{"status":"success","data":...}`) and error format.
//!
//! ## Anomaly scores as series
//!
//! Every series `name{labels}` has a companion series
//! `lookout_anomaly_score{labels, lookout_metric="name"}` whose samples are the engine's
//! scores (0..1) at the same times. Select it like any series:
//! `lookout_anomaly_score{lookout_metric="node_load1", instance="host:9100"}`. (A
//! `lookout_metric` label of the original series is replaced by the name.)
//!
//! ## Evaluation
//!
//! An instant query returns, per matching series, the newest sample at or before `time`
//! within the lookback window (5 minutes). A range query does the same at every step
//! from `start` to `end`; over long ranges the store's downsampled points (bucket
//! width about half a step, last value of each bucket) stand in for raw samples.

pub mod params;
mod series_api;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use lookout_model::clock::now_ms;
use lookout_model::{Labels, SeriesKey};
use lookout_protocol::selector::{parse_selector, Selector};
use lookout_store::Point;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;
use lookout_pipeline::index::SeriesEntry;
use params::{parse_duration, Form};

pub use series_api::{label_values, labels, series};

/// Name of the companion series that carries anomaly scores.
pub const SCORE_METRIC: &str = "lookout_anomaly_score";
/// Label of a score series that holds the original metric name.
pub const SCORE_METRIC_LABEL: &str = "lookout_metric";

/// One series a selector matched: its values, or its scores.
#[derive(Debug, Clone)]
pub struct Matched {
    pub entry: Arc<SeriesEntry>,
    pub is_score: bool,
}

impl Matched {
    /// The labels the API shows, `__name__` included.
    pub fn labels(&self) -> Labels {
        let mut labels = self.entry.key.labels.clone();
        if self.is_score {
            labels.insert(SCORE_METRIC_LABEL.into(), self.entry.key.name.clone());
            labels.insert("__name__".into(), SCORE_METRIC.into());
        } else {
            labels.insert("__name__".into(), self.entry.key.name.clone());
        }
        labels
    }

    /// The value this series shows for a stored point (`None`: no value, e.g. unscored).
    fn value_of(&self, point: &Point) -> Option<f64> {
        let value = if self.is_score {
            point.score?
        } else {
            point.value
        };
        (!value.is_nan()).then_some(value)
    }
}

/// The key of the score series of `key`.
pub fn score_key(key: &SeriesKey) -> SeriesKey {
    let mut labels = key.labels.clone();
    labels.insert(SCORE_METRIC_LABEL.into(), key.name.clone());
    SeriesKey {
        name: SCORE_METRIC.into(),
        labels,
    }
}

pub(crate) fn parse(text: &str) -> Result<Selector, ApiError> {
    parse_selector(text).map_err(|error| {
        ApiError::bad_data(format!(
            "{error} (in {text:?}; only series selectors such as name{{label=\"value\"}} are supported, no PromQL functions)"
        ))
    })
}

/// Every series (values and scores) that a selector text matches, ordered by labels.
pub(crate) fn select_series(state: &AppState, text: &str) -> Result<Vec<Matched>, ApiError> {
    let selector = parse(text)?;
    Ok(select(state, &selector))
}

pub(crate) fn select(state: &AppState, selector: &Selector) -> Vec<Matched> {
    let name = selector.metric_name();
    let mut matched = Vec::new();
    matched.extend(
        state
            .index
            .select(name, |key| selector.matches(key))
            .into_iter()
            .map(|entry| Matched {
                entry,
                is_score: false,
            }),
    );
    if name.is_none() || name == Some(SCORE_METRIC) {
        let original = selector
            .matchers()
            .iter()
            .find(|m| {
                m.name() == SCORE_METRIC_LABEL
                    && m.op() == lookout_protocol::selector::MatchOp::Equal
            })
            .map(|m| m.value().to_string());
        matched.extend(
            state
                .index
                .select(original.as_deref(), |key| selector.matches(&score_key(key)))
                .into_iter()
                .map(|entry| Matched {
                    entry,
                    is_score: true,
                }),
        );
    }
    matched.sort_by_cached_key(|m| m.labels());
    matched
}

/// Reads the form of a GET (query string) or POST (urlencoded body) request.
pub(crate) fn read_form(
    query: Option<String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Form, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let body: &[u8] = if body.is_empty()
        || content_type.starts_with("application/x-www-form-urlencoded")
    {
        body
    } else {
        return Err(ApiError::bad_data(format!(
            "unsupported content type {content_type:?}; send parameters in the query string or as application/x-www-form-urlencoded"
        )));
    };
    Ok(Form::parse(query.as_deref(), body))
}

fn seconds(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::internal(format!("query task failed: {error}")))?
}

fn required<'a>(form: &'a Form, key: &str) -> Result<&'a str, ApiError> {
    form.get(key)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| ApiError::bad_data(format!("missing parameter {key:?}")))
}

/// `GET|POST /api/v1/query?query=<selector>&time=<t>`
pub async fn instant_query(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = read_form(query, &headers, &body)?;
    let time = form.time_or("time", now_ms())?;
    let matched = select_series(&state, required(&form, "query")?)?;
    let result = blocking(move || {
        let ids: Vec<_> = matched.iter().map(|m| m.entry.id).collect();
        let latest = state.store.latest_before(&ids, time, state.options.lookback_ms).map_err(|e| ApiError::internal(e.to_string()))?;
        let mut result = Vec::new();
        for (matched, (_, point)) in matched.iter().zip(latest) {
            let Some(value) = point.as_ref().and_then(|point| matched.value_of(point)) else { continue };
            result.push(json!({ "metric": matched.labels(), "value": [seconds(time), format_value(value)] }));
        }
        Ok(result)
    })
    .await?;
    Ok(Json(
        json!({ "status": "success", "data": { "resultType": "vector", "result": result } }),
    ))
}

/// `GET|POST /api/v1/query_range?query=<selector>&start=&end=&step=`
pub async fn range_query(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = read_form(query, &headers, &body)?;
    let start = form.time("start")?;
    let end = form.time("end")?;
    let step = parse_duration(required(&form, "step")?)
        .map_err(|reason| ApiError::bad_data(format!("invalid parameter \"step\": {reason}")))?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    if step <= 0 {
        return Err(ApiError::bad_data("zero or negative query resolution step widths are not accepted. Try a positive integer"));
    }
    let steps = (end - start) / step + 1;
    if steps > state.options.max_points_per_series as i64 {
        return Err(ApiError::bad_data(format!(
            "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
            state.options.max_points_per_series
        )));
    }
    let matched = select_series(&state, required(&form, "query")?)?;
    let result = blocking(move || {
        let lookback = state.options.lookback_ms;
        let from = start - lookback;
        let ids: Vec<_> = matched.iter().map(|m| m.entry.id).collect();
        let max_points = usize::try_from(steps * 2 + 2).unwrap_or(usize::MAX);
        let answers = state
            .store
            .range(&ids, from, end, Some(max_points))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut result = Vec::new();
        for (matched, answer) in matched.iter().zip(answers) {
            let values = evaluate_steps(
                &answer.points,
                |p| matched.value_of(p),
                start,
                end,
                step,
                lookback,
            );
            if values.is_empty() {
                continue;
            }
            let values: Vec<Value> = values
                .into_iter()
                .map(|(t, v)| json!([seconds(t), format_value(v)]))
                .collect();
            result.push(json!({ "metric": matched.labels(), "values": values }));
        }
        Ok(result)
    })
    .await?;
    Ok(Json(
        json!({ "status": "success", "data": { "resultType": "matrix", "result": result } }),
    ))
}

/// At each step time `t`, the newest point with a value in `(t - lookback, t]`.
pub(crate) fn evaluate_steps(
    points: &[Point],
    value_of: impl Fn(&Point) -> Option<f64>,
    start: i64,
    end: i64,
    step: i64,
    lookback: i64,
) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    let mut next = 0;
    let mut newest: Option<(i64, f64)> = None;
    let mut t = start;
    while t <= end {
        while next < points.len() && points[next].ts_ms <= t {
            if let Some(value) = value_of(&points[next]) {
                newest = Some((points[next].ts_ms, value));
            }
            next += 1;
        }
        if let Some((ts, value)) = newest {
            if ts > t - lookback {
                out.push((t, value));
            }
        }
        t += step;
    }
    out
}

/// `GET /api/v1/status/buildinfo`, which Grafana asks for to learn the server's features.
pub async fn build_info() -> Json<Value> {
    Json(json!({
        "status": "success",
        "data": { "version": env!("CARGO_PKG_VERSION"), "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": "" },
    }))
}

/// A sample value as the Prometheus HTTP API writes it: a string, `NaN`, `+Inf`, `-Inf`,
/// otherwise the shortest decimal without an exponent (Go's `FormatFloat(v, 'f', -1, 64)`).
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_the_prometheus_api_writes_them() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1e-7), "0.0000001");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }

    fn point(ts_ms: i64, value: f64, score: Option<f64>) -> Point {
        Point {
            ts_ms,
            value,
            min: value,
            max: value,
            avg: value,
            count: 1,
            score,
            is_anomaly: false,
            lower: None,
            upper: None,
        }
    }

    #[test]
    fn steps_take_the_newest_point_within_lookback() {
        let points = [
            point(1_000, 1.0, None),
            point(2_500, 2.0, None),
            point(9_000, 3.0, None),
        ];
        let values = evaluate_steps(&points, |p| Some(p.value), 0, 10_000, 2_000, 3_000);
        assert_eq!(values, [(2_000, 1.0), (4_000, 2.0), (10_000, 3.0)]);
    }

    #[test]
    fn points_without_a_value_are_skipped() {
        let points = [point(1_000, 1.0, Some(0.2)), point(2_000, 2.0, None)];
        let scores = evaluate_steps(&points, |p| p.score, 2_000, 2_000, 1_000, 5_000);
        assert_eq!(scores, [(2_000, 0.2)]);
    }

    #[test]
    fn score_keys_carry_the_original_name() {
        let key = SeriesKey::new("node_load1").with_label("job", "node");
        let score = score_key(&key);
        assert_eq!(
            score.to_string(),
            "lookout_anomaly_score{job=\"node\",lookout_metric=\"node_load1\"}"
        );
    }
}
