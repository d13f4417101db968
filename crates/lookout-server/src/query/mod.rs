//! The Prometheus HTTP API that Grafana's Prometheus data source and `promtool query`
//! use: PromQL queries (`promql`), metadata routes (`series_api`), status probes.
//!
//! Routes (GET, and POST with a form body): `/api/v1/query`, `/api/v1/query_range`,
//! `/api/v1/query_exemplars`, `/api/v1/series`, `/api/v1/labels`,
//! `/api/v1/label/{name}/values`, `/api/v1/metadata`, `/api/v1/status/{buildinfo,flags,
//! config,runtimeinfo}`. Answers use Prometheus' envelope
//! (`{"status":"success","data":...}`) and error format.
//!
//! ## Anomaly scores as series
//!
//! Every series `name{labels}` has a companion series
//! `lookout_anomaly_score{labels, lookout_metric="name"}` whose samples are the engine's
//! scores (0..1) at the same times. Select it like any series, aggregate it, join it:
//! `max by (instance) (lookout_anomaly_score{domain="cpu"}) > 0.9`. (A
//! `lookout_metric` label of the original series is replaced by the name.)
//!
//! ## Evaluation
//!
//! `lookout-promql` evaluates with Prometheus' semantics over the store's raw samples
//! (see `source`): the lookback window, staleness, `offset`, `@`, subqueries,
//! operators, aggregations and functions; a range query's value at time t only ever
//! comes from samples at or before t.

pub mod params;
mod promql;
mod series_api;
pub mod source;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use lookout_model::{Labels, SeriesKey};
use lookout_protocol::selector::{parse_selector, Selector};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;
use lookout_pipeline::index::SeriesEntry;
use params::Form;

pub use promql::{
    build_info, config, flags, instant_query, metadata, query_exemplars, range_query, runtime_info,
};
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
            "{error} (in {text:?}; match[] takes series selectors such as name{{label=\"value\"}})"
        ))
    })
}

/// Every series (values and scores) that a selector text matches, ordered by labels.
pub(crate) fn select_series(state: &AppState, text: &str) -> Result<Vec<Matched>, ApiError> {
    let selector = parse(text)?;
    Ok(select(state, &selector))
}

pub(crate) fn select(state: &AppState, selector: &Selector) -> Vec<Matched> {
    select_within(state, selector, &|| true)
}

/// [`select`], calling `visit` for each candidate looked at; once it answers false the
/// remaining candidates are skipped (the caller's budget is spent).
pub(crate) fn select_within(
    state: &AppState,
    selector: &Selector,
    visit: &dyn Fn() -> bool,
) -> Vec<Matched> {
    let name = selector.metric_name();
    let mut matched = Vec::new();
    matched.extend(
        state
            .index
            .select(name, |key| visit() && selector.matches(key))
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
                .select(original.as_deref(), |key| {
                    visit() && selector.matches(&score_key(key))
                })
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

fn required<'a>(form: &'a Form, key: &str) -> Result<&'a str, ApiError> {
    form.get(key)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| ApiError::bad_data(format!("missing parameter {key:?}")))
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
