//! `GET /api/v1/logs/patterns?log=<source>&start=&end=`: a `log` source's patterns with
//! the lines each had in the range and when each was first seen (the dashboard's Logs page).
//!
//! The `log` source writes, at the end of every interval, `log_pattern_lines_per_second{log,
//! pattern, template, program}` for the patterns holding a series of their own, the rest
//! under `pattern="other"`, and `log_lines_per_second{log}`. A value is the interval's lines
//! divided by the time since the source's previous interval, so an interval's lines are its
//! value times the gap to the log's previous interval end. PromQL cannot do that sum
//! without knowing the interval; this route does it from the raw samples: the log's clock
//! is the union of the sample times of those series (each is written every interval) and
//! the last one before `start`; the first interval a log ever wrote takes the gap to the
//! next one (the configured interval), and a log with a single interval has no count
//! (`lines: null`). First seen: when the store registered the pattern's series
//! (`created_ms`, kept across restarts and sample retention), or its first sample in the
//! range when that is older (series imported with past timestamps).
//!
//! Answer: `{start_ms, end_ms, total_lines, other_lines, patterns: [{pattern, template,
//! program, series, lines, first_seen_ms, last_seen_ms}]}`, patterns with the most lines
//! first; `last_seen_ms` is the last interval in the range with lines (null when none).
//! `start` defaults to `end - 1h`, `end` to now.
//!
//! What it misses: patterns without a series of their own (only in `other_lines`), lines
//! older than the raw samples' retention (`start` is moved to it: rollups do not keep the
//! gaps; the answer's `start_ms` says where counting began), and the template past the
//! label's 120 bytes. Cost: one raw read per pattern series over the range, at most
//! `query_max_samples` samples in all (422 beyond: narrow the range).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use lookout_model::clock::now_ms;
use lookout_model::SeriesId;
use lookout_pipeline::index::SeriesEntry;
use lookout_store::Point;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::params::Form;
use crate::state::AppState;

/// The per-pattern rate series of the `log` source.
pub const PATTERN_SERIES: &str = "log_pattern_lines_per_second";
/// The `log` source's all-lines rate, written every interval.
pub const LINES_SERIES: &str = "log_lines_per_second";
/// The `pattern` label of the lines of patterns without a series of their own.
pub const OTHER_PATTERN: &str = "other";
/// How far before `start` the previous interval end is looked for.
const CLOCK_LOOKBACK_MS: i64 = 86_400_000;

/// The time since the previous tick of `clock` (sorted) before `t`; for the first tick,
/// the gap to the next one; `None` when there is a single tick.
pub fn gap_before(clock: &[i64], t: i64) -> Option<i64> {
    let at = clock.partition_point(|&tick| tick < t);
    if at > 0 {
        return Some(t - clock[at - 1]);
    }
    let next = clock[at..].iter().find(|&&tick| tick > t)?;
    Some(next - t)
}

/// Lines a rate series held over its points: Σ value × gap, `None` without a gap.
pub fn lines_of(points: &[Point], clock: &[i64]) -> Option<f64> {
    let mut lines = 0.0;
    for point in points {
        if !point.value.is_finite() || point.value <= 0.0 {
            continue;
        }
        let gap = gap_before(clock, point.ts_ms)?;
        lines += point.value * gap as f64 / 1000.0;
    }
    Some(lines)
}

fn of_log(state: &AppState, name: &str, log: &str) -> Vec<Arc<SeriesEntry>> {
    state.index.select(Some(name), |key| {
        key.labels.get("log").map(String::as_str) == Some(log)
    })
}

/// Reads the raw points of each series, within the sample budget.
fn read(
    state: &AppState,
    ids: &[SeriesId],
    start: i64,
    end: i64,
    budget: &mut usize,
) -> Result<Vec<Vec<Point>>, ApiError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let answer = state
            .store
            .range(&[*id], start, end, None)
            .map_err(|error| ApiError::internal(error.to_string()))?;
        let points = answer
            .into_iter()
            .next()
            .map(|a| a.points)
            .unwrap_or_default();
        if points.len() > *budget {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "execution",
                "the patterns of this log hold more samples in the range than query_max_samples; narrow the range",
            ));
        }
        *budget -= points.len();
        out.push(points);
    }
    Ok(out)
}

fn count(lines: Option<f64>) -> Value {
    json!(lines.map(|lines| lines.round() as u64))
}

fn patterns(state: &AppState, log: &str, start: i64, end: i64) -> Result<Value, ApiError> {
    let start = start.max(state.store.raw_horizon_ms());
    let series = of_log(state, PATTERN_SERIES, log);
    let totals = of_log(state, LINES_SERIES, log);
    let ids: Vec<SeriesId> = series.iter().chain(&totals).map(|e| e.id).collect();
    let mut budget = state.options.query_max_samples;
    let points = read(state, &ids, start, end, &mut budget)?;
    let mut clock: BTreeSet<i64> = points.iter().flatten().map(|p| p.ts_ms).collect();
    let previous = state
        .store
        .latest_before(&ids, start.saturating_sub(1), CLOCK_LOOKBACK_MS)
        .map_err(|error| ApiError::internal(error.to_string()))?;
    if let Some(tick) = previous
        .iter()
        .filter_map(|(_, p)| p.map(|p| p.ts_ms))
        .max()
    {
        clock.insert(tick);
    }
    let clock: Vec<i64> = clock.into_iter().collect();
    let total_lines = (!totals.is_empty())
        .then(|| {
            points[series.len()..]
                .iter()
                .map(|points| lines_of(points, &clock))
                .try_fold(0.0, |sum, lines| lines.map(|lines| sum + lines))
        })
        .flatten();
    let mut other_lines = Some(0.0);
    let mut rows = Vec::new();
    for (entry, points) in series.iter().zip(&points) {
        let lines = lines_of(points, &clock);
        let label = |name: &str| entry.key.labels.get(name).cloned().unwrap_or_default();
        let pattern = label("pattern");
        if pattern == OTHER_PATTERN {
            other_lines = other_lines.zip(lines).map(|(a, b)| a + b);
            continue;
        }
        let created = state
            .store
            .series_info(entry.id)
            .map(|info| info.created_ms);
        let first_sample = points.first().map(|p| p.ts_ms);
        let first_seen = match (created, first_sample) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let last_seen = points
            .iter()
            .rev()
            .find(|p| p.value.is_finite() && p.value > 0.0)
            .map(|p| p.ts_ms);
        rows.push((
            lines.unwrap_or(0.0),
            json!({
                "pattern": pattern,
                "template": label("template"),
                "program": label("program"),
                "series": entry.key.to_string(),
                "lines": count(lines),
                "first_seen_ms": first_seen,
                "last_seen_ms": last_seen,
            }),
        ));
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(json!({
        "start_ms": start,
        "end_ms": end,
        "total_lines": count(total_lines),
        "other_lines": count(other_lines),
        "patterns": rows.into_iter().map(|(_, row)| row).collect::<Vec<_>>(),
    }))
}

/// `GET /api/v1/logs/patterns`
pub async fn log_patterns(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(query.as_deref(), b"");
    let log = form
        .get("log")
        .filter(|text| !text.is_empty())
        .ok_or_else(|| ApiError::bad_data("missing parameter \"log\": the source, e.g. log#0"))?
        .to_string();
    let end = form.time_or("end", now_ms())?;
    let start = form.time_or("start", end - 3_600_000)?;
    if start > end {
        return Err(ApiError::bad_data(
            "invalid parameters: \"start\" is after \"end\"",
        ));
    }
    let data = tokio::task::spawn_blocking(move || patterns(&state, &log, start, end))
        .await
        .map_err(|error| ApiError::internal(format!("patterns task failed: {error}")))??;
    Ok(Json(json!({ "status": "success", "data": data })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(ts_ms: i64, value: f64) -> Point {
        Point {
            ts_ms,
            value,
            min: value,
            max: value,
            avg: value,
            count: 1,
            score: None,
            is_anomaly: false,
            lower: None,
            upper: None,
        }
    }

    #[test]
    fn a_gap_is_the_time_since_the_previous_tick_or_to_the_next_for_the_first() {
        let clock = [1_000, 2_000, 4_000];
        assert_eq!(gap_before(&clock, 2_000), Some(1_000));
        assert_eq!(gap_before(&clock, 4_000), Some(2_000));
        assert_eq!(gap_before(&clock, 1_000), Some(1_000));
        assert_eq!(gap_before(&[5_000], 5_000), None);
    }

    #[test]
    fn lines_are_rates_times_their_gaps() {
        let clock = [1_000, 2_000, 4_000];
        let points = [point(1_000, 2.0), point(2_000, 0.0), point(4_000, 2.5)];
        assert_eq!(lines_of(&points, &clock), Some(7.0));
        assert_eq!(lines_of(&[point(5_000, 3.0)], &[5_000]), None);
        assert_eq!(lines_of(&[point(5_000, 0.0)], &[5_000]), Some(0.0));
    }
}
