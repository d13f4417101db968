//! Alerting's routes. Anomaly changes reach `lookout-alert` through the pipeline's
//! alerting subscriber (`lookout_pipeline::alerting`, a back-pressure subscriber on the
//! fan-out thread), attached by [`crate::Server::attach_alerts`].
//!
//! - `GET /api/v1/alerts?rule=&state=`: live alerts (pending, firing, resolving), each with
//!   the silences muting it;
//! - `GET /api/v1/alerts/rules`: the rules with their alert counts;
//! - `GET /api/v1/alerts/rules/{name}`: one rule, its anomalies (last 24 h, series matching
//!   its selector), its live alerts and its history;
//! - `GET /api/v1/alerts/notifiers`: per notifier: pending/delivered/failed rows and the
//!   latest delivery errors (reason and message; never a URL, header or password);
//! - `GET /api/v1/silences`, `POST /api/v1/silences` (`{matchers, starts_ms, ends_ms,
//!   every_ms?, author, comment}`), `POST /api/v1/silences/{id}/expire`.
//!
//! Without alerting attached ([`crate::Server::attach_alerts`]) the lists are empty.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use lookout_alert::{AlertHandle, Silence};
use lookout_model::clock::now_ms;
use lookout_model::SeriesId;
use lookout_protocol::exposition::ExpositionWriter;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::anomalies::AnomalyView;
use crate::auth::{caller_of, Caller};
use crate::error::ApiError;
use crate::query::params::Form;
use crate::query::select_series;
use crate::state::AppState;

fn handle(state: &AppState) -> Option<AlertHandle> {
    state.alerts.get().cloned()
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::internal(format!("task failed: {error}")))?
}

fn db_error(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("alert database: {error}"))
}

fn success(data: Value) -> Json<Value> {
    Json(json!({ "status": "success", "data": data }))
}

/// An alert as the API shows it, with the silences muting it now.
fn alert_json(
    alert: &lookout_alert::AlertInstance,
    silences: &lookout_alert::silence::SilenceSet,
) -> Value {
    let mut value = serde_json::to_value(alert).unwrap_or(Value::Null);
    value["state"] = json!(alert.state.as_str());
    value["series"] = json!(alert.series.to_string());
    value["silenced_by"] = json!(silences.silencing(alert, now_ms()));
    value
}

fn silence_set(handle: &AlertHandle) -> Result<lookout_alert::silence::SilenceSet, ApiError> {
    let mut set = lookout_alert::silence::SilenceSet::default();
    for silence in handle.db.silences().map_err(db_error)? {
        let _ = set.upsert(silence);
    }
    Ok(set)
}

pub async fn list_alerts(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let form = Form::parse(query.as_deref(), b"");
    let rule = form.get("rule").map(str::to_string);
    let wanted_state = form.get("state").map(str::to_string);
    let Some(handle) = handle(&state) else {
        return Ok(success(json!({ "enabled": false, "alerts": [] })));
    };
    let alerts = blocking(move || {
        let silences = silence_set(&handle)?;
        let alerts = handle.db.alerts(rule.as_deref()).map_err(db_error)?;
        Ok(alerts
            .iter()
            .filter(|alert| {
                wanted_state
                    .as_deref()
                    .is_none_or(|s| s == alert.state.as_str())
            })
            .map(|alert| alert_json(alert, &silences))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(success(json!({ "enabled": true, "alerts": alerts })))
}

fn rule_json(rule: &lookout_alert::CompiledRule) -> Value {
    json!({
        "name": rule.name,
        "match": rule.rule.selector,
        "min_score": rule.min_score,
        "for": humantime_text(rule.for_duration),
        "severity": rule.severity.as_str(),
        "labels": rule.labels,
        "annotations": rule.annotations,
        "notify": rule.notify,
        "repeat_interval": humantime_text(rule.repeat_interval),
        "group_by": rule.group_by,
    })
}

fn humantime_text(duration: std::time::Duration) -> String {
    if duration.is_zero() {
        return "0s".into();
    }
    lookout_alert::content::human_duration(duration)
}

pub async fn list_rules(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let Some(handle) = handle(&state) else {
        return Ok(success(json!({ "enabled": false, "rules": [] })));
    };
    let rules = blocking(move || {
        let alerts = handle.db.alerts(None).map_err(db_error)?;
        Ok(handle
            .rules
            .iter()
            .map(|rule| {
                let mut value = rule_json(rule);
                let mine = alerts.iter().filter(|a| a.rule == rule.name);
                let mut counts = std::collections::BTreeMap::<&str, usize>::new();
                for alert in mine {
                    *counts.entry(alert.state.as_str()).or_default() += 1;
                }
                value["alerts"] = json!(counts);
                value
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(success(json!({ "enabled": true, "rules": rules })))
}

pub async fn get_rule(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::not_found(format!("no alert rule is named {name:?}"));
    let Some(handle) = handle(&state) else {
        return Err(not_found());
    };
    let Some(rule) = handle.rules.iter().find(|rule| rule.name == name).cloned() else {
        return Err(not_found());
    };
    let matched = select_series(&state, &rule.rule.selector).unwrap_or_default();
    let series: Vec<SeriesId> = matched
        .iter()
        .filter(|m| !m.is_score)
        .map(|m| m.entry.id)
        .collect();
    let store_state = Arc::clone(&state);
    let data = blocking(move || {
        let now = now_ms();
        let anomalies = if series.is_empty() {
            Vec::new()
        } else {
            store_state
                .store
                .anomalies(now - 86_400_000, now, Some(&series), 200)
                .map_err(|error| ApiError::internal(error.to_string()))?
        };
        let silences = silence_set(&handle)?;
        let alerts = handle.db.alerts(Some(&rule.name)).map_err(db_error)?;
        let history = handle.db.history(&rule.name, 200).map_err(db_error)?;
        Ok(json!({
            "rule": rule_json(&rule),
            "anomalies": anomalies.into_iter().map(AnomalyView::from).collect::<Vec<_>>(),
            "alerts": alerts.iter().map(|a| alert_json(a, &silences)).collect::<Vec<_>>(),
            "firing": alerts.iter().filter(|a| a.state == lookout_alert::AlertState::Firing).count(),
            "history": history,
        }))
    })
    .await?;
    Ok(success(data))
}

pub async fn notifiers(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let Some(handle) = handle(&state) else {
        return Ok(success(json!({ "enabled": false, "notifiers": [] })));
    };
    let data = blocking(move || {
        let status = handle
            .db
            .notifier_status(&handle.notifier_names)
            .map_err(db_error)?;
        let mut out = Vec::new();
        for entry in status {
            let errors = handle
                .db
                .delivery_errors(Some(&entry.name), 20)
                .map_err(db_error)?;
            let mut value = serde_json::to_value(&entry).unwrap_or(Value::Null);
            value["recent_errors"] = json!(errors);
            value["deliveries_total"] = json!(handle.metrics.deliveries(&entry.name));
            out.push(value);
        }
        Ok(out)
    })
    .await?;
    Ok(success(json!({ "enabled": true, "notifiers": data })))
}

pub async fn list_silences(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let Some(handle) = handle(&state) else {
        return Ok(success(json!({ "enabled": false, "silences": [] })));
    };
    let silences = blocking(move || handle.db.silences().map_err(db_error)).await?;
    let now = now_ms();
    let views: Vec<Value> = silences
        .iter()
        .map(|silence| {
            let mut value = serde_json::to_value(silence).unwrap_or(Value::Null);
            value["active"] = json!(silence.active_at(now));
            value
        })
        .collect();
    Ok(success(json!({ "enabled": true, "silences": views })))
}

/// Body of `POST /api/v1/silences`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    pub matchers: String,
    #[serde(default)]
    pub starts_ms: Option<i64>,
    pub ends_ms: i64,
    #[serde(default)]
    pub every_ms: Option<i64>,
    pub author: String,
    pub comment: String,
}

fn disabled() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "alerting is not enabled on this server",
    )
}

pub async fn create_silence(
    State(state): State<Arc<AppState>>,
    caller: Option<axum::Extension<Caller>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: SilenceBody = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_data(format!(
            "invalid silence: {error}; expected {{\"matchers\": \"{{host=\\\"web-1\\\"}}\", \"starts_ms\", \"ends_ms\", \"every_ms\" (optional, maintenance window period), \"author\", \"comment\"}}"
        ))
    })?;
    let handle = handle(&state).ok_or_else(disabled)?;
    let caller = caller_of(caller);
    let now = now_ms();
    let silence = Silence {
        id: 0,
        matchers: body.matchers.trim().to_string(),
        starts_ms: body.starts_ms.unwrap_or(now),
        ends_ms: body.ends_ms,
        every_ms: body.every_ms,
        author: body.author,
        comment: body.comment,
        created_ms: now,
        expired_ms: None,
        created_by: caller.name.clone(),
    };
    silence
        .validate()
        .map_err(|error| ApiError::bad_data(format!("invalid silence: {error}")))?;
    let max_ms = state.options.max_silence_ms;
    let window_ms = silence.ends_ms.saturating_sub(silence.starts_ms);
    if window_ms > max_ms {
        return Err(ApiError::bad_data(format!(
            "invalid silence: it lasts {}, longer than the limit of {} ([server] max_silence_duration)",
            humantime_text(std::time::Duration::from_millis(window_ms as u64)),
            humantime_text(std::time::Duration::from_millis(max_ms as u64))
        )));
    }
    let stored = blocking(move || handle.add_silence(silence).map_err(db_error)).await?;
    let detail = format!(
        "{} from {} to {}",
        stored.matchers, stored.starts_ms, stored.ends_ms
    );
    state.audit.record(
        &caller,
        "silence.create",
        format!("silence {}", stored.id),
        detail,
    );
    Ok(success(serde_json::to_value(stored).unwrap_or(Value::Null)))
}

pub async fn expire_silence(
    State(state): State<Arc<AppState>>,
    caller: Option<axum::Extension<Caller>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_data(format!("silence id {id:?} is not a number")))?;
    let Some(handle) = handle(&state) else {
        return Err(ApiError::not_found(format!("silence {id} not found")));
    };
    let expired = blocking(move || handle.expire_silence(id).map_err(db_error)).await?;
    let caller = caller_of(caller);
    match expired {
        Some(silence) => {
            let object = format!("silence {id}");
            state
                .audit
                .record(&caller, "silence.expire", object, silence.matchers.clone());
            Ok(success(
                serde_json::to_value(silence).unwrap_or(Value::Null),
            ))
        }
        None => Err(ApiError::not_found(format!("silence {id} not found"))),
    }
}

/// Alerting's lines of `/metrics` (nothing without alerting).
pub fn render_metrics(state: &AppState, out: &mut ExpositionWriter) {
    if let Some(handle) = state.alerts.get() {
        handle.metrics.render(out);
    }
}
