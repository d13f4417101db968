//! Metadata routes: `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/{name}/values`.
//!
//! Answers come from the in-memory series index; `start`/`end` are accepted for
//! compatibility and validated, but every known series is considered (the index does
//! not know when a series last had data).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::{read_form, select, Matched, SCORE_METRIC, SCORE_METRIC_LABEL};
use crate::error::ApiError;
use crate::state::AppState;

/// Series matching any of the `match[]` selectors (every series, values and scores, when none).
fn matching(
    state: &AppState,
    selectors: &[&str],
    required: bool,
) -> Result<Vec<Matched>, ApiError> {
    if selectors.is_empty() {
        if required {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let mut all = Vec::new();
        for entry in state.index.all() {
            all.push(Matched {
                entry: Arc::clone(&entry),
                is_score: false,
            });
            all.push(Matched {
                entry,
                is_score: true,
            });
        }
        return Ok(all);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for text in selectors {
        let selector = super::parse(text)?;
        for matched in select(state, &selector) {
            if seen.insert((matched.entry.id, matched.is_score)) {
                out.push(matched);
            }
        }
    }
    Ok(out)
}

fn check_times(form: &super::Form) -> Result<(), ApiError> {
    form.time_or("start", 0)?;
    form.time_or("end", 0)?;
    Ok(())
}

/// `GET|POST /api/v1/series?match[]=<selector>...`
pub async fn series(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = read_form(query, &headers, &body)?;
    check_times(&form)?;
    let mut matched = matching(&state, &form.all("match[]"), true)?;
    matched.sort_by_cached_key(|m| m.labels());
    let data: Vec<_> = matched.iter().map(Matched::labels).collect();
    Ok(Json(json!({ "status": "success", "data": data })))
}

/// `GET|POST /api/v1/labels[?match[]=...]`
pub async fn labels(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = read_form(query, &headers, &body)?;
    check_times(&form)?;
    let matched = matching(&state, &form.all("match[]"), false)?;
    let mut names = BTreeSet::new();
    for m in &matched {
        names.insert("__name__".to_string());
        names.extend(m.entry.key.labels.keys().cloned());
        if m.is_score {
            names.insert(SCORE_METRIC_LABEL.to_string());
        }
    }
    Ok(Json(json!({ "status": "success", "data": names })))
}

/// `GET /api/v1/label/{name}/values[?match[]=...]`
pub async fn label_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let form = super::Form::parse(query.as_deref(), b"");
    check_times(&form)?;
    if lookout_model::validate_label_name(&name).is_err() {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let selectors = form.all("match[]");
    let mut values = BTreeSet::new();
    if selectors.is_empty() && name == "__name__" {
        values.extend(state.index.names());
        if !state.index.is_empty() {
            values.insert(SCORE_METRIC.to_string());
        }
    } else {
        for m in matching(&state, &selectors, false)? {
            if let Some(value) = m.labels().remove(&name) {
                values.insert(value);
            }
        }
    }
    Ok(Json(json!({ "status": "success", "data": values })))
}
