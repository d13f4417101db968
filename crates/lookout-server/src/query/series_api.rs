//! Metadata routes: `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/{name}/values`.
//!
//! Answers come from the in-memory series index; `start`/`end` are accepted for
//! compatibility and validated, but every known series is considered (the index does
//! not know when a series last had data).
//!
//! Limits: at most `max_matchers` `match[]` per request (400), at most
//! `max_series_visited` series looked at while matching (422); matching runs on the
//! blocking pool, never on the async workers.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use super::{read_form, Matched, SCORE_METRIC, SCORE_METRIC_LABEL};
use crate::error::ApiError;
use crate::state::AppState;

/// Series matching any of the `match[]` selectors (every series, values and scores, when none).
///
/// At most `max_matchers` selectors (400 beyond), and at most `max_series_visited`
/// candidates looked at over all of them (422 beyond). Runs on the calling thread: the
/// handlers call it on the blocking pool ([`blocking`]).
fn matching(
    state: &AppState,
    selectors: &[String],
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
    let max_matchers = state.options.max_matchers;
    if selectors.len() > max_matchers {
        return Err(ApiError::bad_data(format!(
            "too many match[] selectors: {} (the limit is max_matchers = {max_matchers})",
            selectors.len()
        )));
    }
    let parsed = selectors
        .iter()
        .map(|text| super::parse(text))
        .collect::<Result<Vec<_>, _>>()?;
    let max_visited = state.options.max_series_visited;
    let visited = Cell::new(0usize);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for selector in &parsed {
        let matched = super::select_within(state, selector, &|| {
            visited.set(visited.get() + 1);
            visited.get() <= max_visited
        });
        if visited.get() > max_visited {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "execution",
                format!(
                    "match[] selectors visit more than {max_visited} series (the limit is \
                     max_series_visited); narrow the selectors or send fewer"
                ),
            ));
        }
        for matched in matched {
            if seen.insert((matched.entry.id, matched.is_score)) {
                out.push(matched);
            }
        }
    }
    Ok(out)
}

/// Runs selector work on the blocking pool, away from the async workers that answer
/// `/healthz` and ingestion.
async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .map_err(|error| ApiError::internal(format!("series matching task failed: {error}")))?
}

fn selectors(form: &super::Form) -> Vec<String> {
    form.all("match[]").into_iter().map(str::to_owned).collect()
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
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body = crate::ingest::routes::read_query_body(&state, &headers, body).await?;
    let form = read_form(query, &headers, &body)?;
    check_times(&form)?;
    let selectors = selectors(&form);
    let data = blocking(&state, move |state| {
        let mut matched = matching(state, &selectors, true)?;
        matched.sort_by_cached_key(|m| m.labels());
        Ok(matched.iter().map(Matched::labels).collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({ "status": "success", "data": data })))
}

/// `GET|POST /api/v1/labels[?match[]=...]`
pub async fn labels(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body = crate::ingest::routes::read_query_body(&state, &headers, body).await?;
    let form = read_form(query, &headers, &body)?;
    check_times(&form)?;
    let selectors = selectors(&form);
    let names = blocking(&state, move |state| {
        let mut names = BTreeSet::new();
        for m in &matching(state, &selectors, false)? {
            names.insert("__name__".to_string());
            names.extend(m.entry.key.labels.keys().cloned());
            if m.is_score {
                names.insert(SCORE_METRIC_LABEL.to_string());
            }
        }
        Ok(names)
    })
    .await?;
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
    let selectors = selectors(&form);
    let values = blocking(&state, move |state| {
        let mut values = BTreeSet::new();
        if selectors.is_empty() && name == "__name__" {
            values.extend(state.index.names());
            if !state.index.is_empty() {
                values.insert(SCORE_METRIC.to_string());
            }
        } else {
            for m in matching(state, &selectors, false)? {
                if let Some(value) = m.labels().remove(&name) {
                    values.insert(value);
                }
            }
        }
        Ok(values)
    })
    .await?;
    Ok(Json(json!({ "status": "success", "data": values })))
}
