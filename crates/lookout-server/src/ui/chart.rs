//! `GET /api/v1/chart?match=<selector>&start=&end=&max_points=&limit=`: what a chart draws.
//!
//! The Prometheus range query carries values only; a dashboard chart also needs the
//! expected band, the score and which points were anomalous. This answers, per matching
//! series (values, not their score companions; at most `limit`, default 20, ≤ 100), the
//! store's points in `[start, end]` (default the last hour) as columns, downsampled by the
//! store to at most `max_points` (default 1,000, ≤ 200,000) per series: a bucket shows its
//! last value, its min and max, its highest score, whether any sample in it was anomalous,
//! and the widest band. Also the anomalies of those series overlapping the range.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::Json;
use lookout_model::clock::now_ms;
use lookout_store::{Point, Resolution};
use serde_json::{json, Value};

use crate::anomalies::AnomalyView;
use crate::error::ApiError;
use crate::query::params::Form;
use crate::query::select_series;
use crate::state::AppState;

const DEFAULT_MAX_POINTS: usize = 1_000;
const MAX_MAX_POINTS: usize = 200_000;
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

fn count(form: &Form, key: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    match form.get(key) {
        None | Some("") => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_data(format!(
                "invalid parameter {key:?}: {text:?} is not a count from 1 to {max}"
            ))),
        },
    }
}

fn resolution_name(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Raw => "raw",
        Resolution::Minute => "1m",
        Resolution::Hour => "1h",
    }
}

/// The points as columns (`t`, `v`, `min`, `max`, `score`, `lower`, `upper`, `anomaly`);
/// NaN and missing values are `null`.
pub fn columns(points: &[Point]) -> Value {
    let finite = |v: f64| v.is_finite().then_some(v);
    json!({
        "t": points.iter().map(|p| p.ts_ms).collect::<Vec<_>>(),
        "v": points.iter().map(|p| finite(p.value)).collect::<Vec<_>>(),
        "min": points.iter().map(|p| finite(p.min)).collect::<Vec<_>>(),
        "max": points.iter().map(|p| finite(p.max)).collect::<Vec<_>>(),
        "score": points.iter().map(|p| p.score).collect::<Vec<_>>(),
        "lower": points.iter().map(|p| p.lower.and_then(finite)).collect::<Vec<_>>(),
        "upper": points.iter().map(|p| p.upper.and_then(finite)).collect::<Vec<_>>(),
        "anomaly": points.iter().map(|p| u8::from(p.is_anomaly)).collect::<Vec<_>>(),
    })
}

pub async fn chart(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(query.as_deref(), b"");
    let text = form
        .get("match")
        .filter(|text| !text.is_empty())
        .ok_or_else(|| ApiError::bad_data("missing parameter \"match\": a series selector"))?;
    let end = form.time_or("end", now_ms())?;
    let start = form.time_or("start", end - 3_600_000)?;
    if start > end {
        return Err(ApiError::bad_data(
            "invalid parameters: \"start\" is after \"end\"",
        ));
    }
    let max_points = count(&form, "max_points", DEFAULT_MAX_POINTS, MAX_MAX_POINTS)?;
    let limit = count(&form, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let matched: Vec<_> = select_series(&state, text)?
        .into_iter()
        .filter(|m| !m.is_score)
        .collect();
    let total = matched.len();
    let shown: Vec<_> = matched.into_iter().take(limit).collect();
    let data = tokio::task::spawn_blocking(move || {
        let ids: Vec<_> = shown.iter().map(|m| m.entry.id).collect();
        let ranges = state
            .store
            .range(&ids, start, end, Some(max_points))
            .map_err(|error| ApiError::internal(error.to_string()))?;
        let anomalies = if ids.is_empty() {
            Vec::new()
        } else {
            state
                .store
                .anomalies(start, end, Some(&ids), 1_000)
                .map_err(|error| ApiError::internal(error.to_string()))?
        };
        let series: Vec<Value> = shown
            .iter()
            .zip(ranges)
            .map(|(matched, answer)| {
                let mut value = columns(&answer.points);
                value["id"] = json!(matched.entry.id.0);
                value["key"] = json!(matched.entry.key.to_string());
                value["name"] = json!(matched.entry.key.name);
                value["labels"] = json!(matched.entry.key.labels);
                value["resolution"] = json!(resolution_name(answer.resolution));
                value
            })
            .collect();
        let anomalies: Vec<AnomalyView> = anomalies.into_iter().map(AnomalyView::from).collect();
        Ok::<_, ApiError>(json!({
            "start_ms": start,
            "end_ms": end,
            "max_points": max_points,
            "matched": total,
            "series": series,
            "anomalies": anomalies,
        }))
    })
    .await
    .map_err(|error| ApiError::internal(format!("chart task failed: {error}")))??;
    Ok(Json(json!({ "status": "success", "data": data })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_turn_missing_and_non_finite_values_into_null() {
        let point = Point {
            ts_ms: 5,
            value: f64::NAN,
            min: 1.0,
            max: 2.0,
            avg: 1.5,
            count: 2,
            score: Some(0.5),
            is_anomaly: true,
            lower: Some(0.0),
            upper: None,
        };
        let value = columns(&[point]);
        assert_eq!(
            value,
            json!({ "t": [5], "v": [null], "min": [1.0], "max": [2.0], "score": [0.5], "lower": [0.0], "upper": [null], "anomaly": [1] })
        );
    }
}
