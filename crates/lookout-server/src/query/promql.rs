//! `/api/v1/query` and `/api/v1/query_range`: PromQL through `lookout-promql`, off the
//! async workers (the blocking pool), bounded by the per-query sample budget and a
//! timeout, answered in Prometheus' JSON shapes. Also the routes Grafana's Prometheus
//! data source probes: `/api/v1/query_exemplars` (always empty: lookout keeps no
//! exemplars), `/api/v1/metadata`, `/api/v1/status/{buildinfo,flags,config,runtimeinfo}`.
//!
//! Errors: a parse error or an unsupported construct is 400 `bad_data` naming it and
//! its position; an evaluation error (duplicate series in a match, ...) 422
//! `execution`; a query over the sample budget 422 with the budget; a query that
//! cannot reserve samples from the budget shared by every query in flight
//! (`max_query_samples_total`) 503 with `Retry-After`; a timeout 503 `timeout`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout_model::clock::now_ms;
use lookout_promql::{EvalError, InstantValue, Labels, QueryOptions};
use serde_json::{json, Map, Value};

use super::params::parse_duration;
use super::source::StoreSource;
use super::{format_value, read_form, required, seconds};
use crate::error::ApiError;
use crate::state::AppState;

fn options(state: &AppState) -> QueryOptions {
    QueryOptions {
        lookback_ms: state.options.lookback_ms,
        max_samples: state.options.query_max_samples,
        timeout: Some(state.options.query_timeout),
        shared: Some(Arc::clone(&state.query_budget)),
        ..QueryOptions::default()
    }
}

fn api_error(error: EvalError, retry_after_seconds: u64) -> ApiError {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match &error {
        EvalError::Parse(_) | EvalError::Unsupported { .. } => {
            ApiError::bad_data(error.to_string())
        }
        EvalError::Execution(_) | EvalError::TooManySamples { .. } => {
            ApiError::new(unprocessable, "execution", error.to_string())
        }
        EvalError::Overloaded { .. } => ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            error.to_string(),
            retry_after_seconds,
        ),
        EvalError::Timeout { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            error.to_string(),
        ),
        EvalError::Source(_) => ApiError::internal(error.to_string()),
    }
}

fn metric(labels: &Labels) -> Value {
    let mut map = Map::new();
    for (name, value) in labels.iter() {
        map.insert(name.to_string(), Value::String(value.to_string()));
    }
    Value::Object(map)
}

/// Runs an evaluation on the blocking pool, cut off at the query timeout.
async fn evaluate<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&AppState, &QueryOptions) -> Result<T, EvalError> + Send + 'static,
) -> Result<T, ApiError> {
    let timeout = state.options.query_timeout;
    let retry_after = state.options.retry_after_seconds;
    let state = Arc::clone(state);
    let task = tokio::task::spawn_blocking(move || {
        let options = options(&state);
        work(&state, &options)
    });
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result.map_err(|error| api_error(error, retry_after)),
        Ok(Err(error)) => Err(ApiError::internal(format!("query task failed: {error}"))),
        Err(_) => Err(api_error(
            EvalError::Timeout {
                timeout_ms: timeout.as_millis() as u64,
            },
            retry_after,
        )),
    }
}

/// `GET|POST /api/v1/query?query=<PromQL>&time=<t>`
pub async fn instant_query(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = crate::ingest::routes::read_query_body(&state, &headers, body).await?;
    let form = read_form(query, &headers, &body)?;
    let time = form.time_or("time", now_ms())?;
    let text = required(&form, "query")?.to_string();
    let started = Instant::now();
    // Evaluated and written on the blocking pool: a vector over every series or a range
    // selector's matrix is large, and building its JSON is work for no async worker.
    let answer = evaluate(&state, move |state, options| {
        let answer = lookout_promql::instant_query(&StoreSource { state }, &text, time, options)?;
        Ok(instant_answer(answer, time))
    })
    .await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "instant query"
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], answer).into_response())
}

/// The JSON text of an instant query's answer at `time`.
fn instant_answer(answer: InstantValue, time: i64) -> Vec<u8> {
    let t = seconds(time);
    let (kind, result) = match answer {
        InstantValue::Scalar(v) => ("scalar", json!([t, format_value(v)])),
        InstantValue::String(s) => ("string", json!([t, s])),
        InstantValue::Vector(elements) => (
            "vector",
            Value::Array(
                elements
                    .iter()
                    .map(|(labels, v)| json!({ "metric": metric(labels), "value": [t, format_value(*v)] }))
                    .collect(),
            ),
        ),
        InstantValue::Matrix(series) => (
            "matrix",
            Value::Array(
                series
                    .iter()
                    .map(|s| {
                        let values: Vec<Value> = s
                            .samples
                            .iter()
                            .map(|(ts, v)| json!([seconds(*ts), format_value(*v)]))
                            .collect();
                        json!({ "metric": metric(&s.labels), "values": values })
                    })
                    .collect(),
            ),
        ),
    };
    let answer = json!({ "status": "success", "data": { "resultType": kind, "result": result } });
    serde_json::to_vec(&answer).expect("a JSON value always serializes")
}

/// `GET|POST /api/v1/query_range?query=<PromQL>&start=&end=&step=`
pub async fn range_query(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = crate::ingest::routes::read_query_body(&state, &headers, body).await?;
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
    let text = required(&form, "query")?.to_string();
    let (series, held) = evaluate(&state, move |state, options| {
        lookout_promql::range_query_holding(
            &StoreSource { state },
            &text,
            start,
            end,
            step,
            options,
        )
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        stream_matrix(series, held),
    )
        .into_response())
}

/// Bytes of JSON a range answer is sent in.
const ANSWER_CHUNK_BYTES: usize = 256 << 10;

/// Chunks of a range answer the writer may be ahead of the client.
const ANSWER_CHUNKS_AHEAD: usize = 4;

/// A matrix answer written on the blocking pool and sent as it is written: a range
/// answer holds up to millions of points, and writing them on an async worker once held
/// it (and `/healthz`) for as long as that took, while the whole text sat in memory
/// beside the series. The writer stays at most [`ANSWER_CHUNKS_AHEAD`] chunks of
/// [`ANSWER_CHUNK_BYTES`] ahead of the client and stops when the client goes away.
/// `held` keeps the answer's points counted in the shared query budget until the last
/// chunk is handed over (or the client went away), as long as the series are in memory.
fn stream_matrix(
    series: Vec<lookout_promql::RangeSeries>,
    held: lookout_promql::budget::HeldSamples,
) -> Body {
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(ANSWER_CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut chunk = String::with_capacity(ANSWER_CHUNK_BYTES + 4096);
        chunk.push_str(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
        for (index, s) in series.iter().enumerate() {
            if index > 0 {
                chunk.push(',');
            }
            write_series(&mut chunk, &s.labels, &s.points);
            if chunk.len() >= ANSWER_CHUNK_BYTES {
                let full =
                    std::mem::replace(&mut chunk, String::with_capacity(ANSWER_CHUNK_BYTES + 4096));
                if sender.blocking_send(Ok(full.into())).is_err() {
                    return; // the client went away
                }
            }
        }
        chunk.push_str("]}}");
        drop(series);
        let _ = sender.blocking_send(Ok(chunk.into()));
        drop(held);
    });
    Body::from_stream(futures::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    ))
}

/// `{"metric":{...},"values":[[t,"v"],...]}` written straight into `out` (a range
/// answer holds millions of points; a JSON tree of them costs more than the query).
fn write_series(out: &mut String, labels: &Labels, points: &[(i64, f64)]) {
    use std::fmt::Write;
    out.push_str(r#"{"metric":"#);
    out.push_str(&metric(labels).to_string());
    out.push_str(r#","values":["#);
    for (index, (t, v)) in points.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{},\"{}\"]", *t as f64 / 1000.0, format_value(*v));
    }
    out.push_str("]}");
}

/// `GET|POST /api/v1/query_exemplars`: the query is checked, the answer is empty
/// (lookout stores no exemplars).
pub async fn query_exemplars(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body = crate::ingest::routes::read_query_body(&state, &headers, body).await?;
    let form = read_form(query, &headers, &body)?;
    lookout_promql::parse(required(&form, "query")?).map_err(|error| api_error(error, 0))?;
    form.time_or("start", 0)?;
    form.time_or("end", 0)?;
    Ok(Json(json!({ "status": "success", "data": [] })))
}

/// `GET /api/v1/metadata[?metric=&limit=]`: every metric name with type `unknown`
/// (lookout keeps no metric metadata).
pub async fn metadata(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let form = super::params::Form::parse(query.as_deref(), b"");
    let limit = match form.get("limit").filter(|l| !l.is_empty()) {
        Some(text) => text.parse::<i64>().map_err(|_| {
            ApiError::bad_data(format!(
                "invalid parameter \"limit\": {text:?} is not an integer"
            ))
        })?,
        None => -1,
    };
    let wanted = form.get("metric").filter(|m| !m.is_empty());
    let mut names = state.index.names();
    if !state.index.is_empty() {
        names.insert(super::SCORE_METRIC.to_string());
    }
    let mut data = Map::new();
    for name in names {
        if wanted.is_some_and(|w| w != name) {
            continue;
        }
        if limit >= 0 && data.len() as i64 >= limit {
            break;
        }
        let help = if name == super::SCORE_METRIC {
            "Anomaly score (0..1) of the series named by lookout_metric."
        } else {
            ""
        };
        data.insert(
            name,
            json!([{ "type": "unknown", "help": help, "unit": "" }]),
        );
    }
    Ok(Json(json!({ "status": "success", "data": data })))
}

/// `GET /api/v1/status/buildinfo`, which Grafana asks for to learn the server's features.
pub async fn build_info() -> Json<Value> {
    Json(json!({
        "status": "success",
        "data": { "version": env!("CARGO_PKG_VERSION"), "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": "" },
    }))
}

/// `GET /api/v1/status/flags`: the query flags that mean something here.
pub async fn flags(State(state): State<Arc<AppState>>) -> Json<Value> {
    let lookback = format!("{}s", state.options.lookback_ms / 1000);
    let timeout = format!("{}s", state.options.query_timeout.as_secs());
    Json(json!({
        "status": "success",
        "data": {
            "query.lookback-delta": lookback,
            "query.max-samples": state.options.query_max_samples.to_string(),
            "query.timeout": timeout,
        },
    }))
}

/// `GET /api/v1/status/config`: lookout has no Prometheus configuration file.
pub async fn config() -> Json<Value> {
    Json(json!({ "status": "success", "data": { "yaml": "" } }))
}

/// `GET /api/v1/status/runtimeinfo`: the fields Grafana reads.
pub async fn runtime_info(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "success",
        "data": {
            "storageRetention": format!("{}d", state.store.config().raw_retention.as_secs() / 86_400),
            "timeSeriesCount": state.index.len(),
        },
    }))
}
