//! `POST /api/v1/predict/{cpu,memory,network,storage,login,content}`: one observation
//! scored without a running source and without storing anything. Every answer is
//! `{"anomaly": bool, "score": 0..1, "kind": ..., "explanation": {"text": ..., ...}}`; a
//! bad body is a 400 naming the field; bodies are at most [`MAX_BODY_BYTES`]; scoring
//! runs on the blocking pool.
//!
//! - metric domains ([`metric`]): `{"value": 95, "series": {"name", "labels"}}` against
//!   the series' live model, or the domain default;
//! - `network` also takes one connection record (the 41 NSL-KDD features as a JSON
//!   object) scored with a trained traffic model: `?model=NAME` picks it (default:
//!   `default`), loaded from the models directory on first use and kept loaded (see
//!   [`models`]). Every field is required; numbers must be finite and ≥ 0,
//!   `protocol_type`, `service` and `flag` non-empty strings. A body with a `value` field
//!   is the metric form;
//! - `login` ([`login`]): one attempt or a window summary, by the login detectors' rules;
//! - `content` ([`content`]): a text or a raw HTTP request, by the injection classifier.

pub mod content;
pub mod login;
pub mod metric;
pub mod models;
pub mod openapi;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use bytes::Bytes;
use lookout_model::Domain;
use lookout_traffic_model::record::{
    numeric_names, parse_numeric, FLAG_COLUMN, NUMERIC_FEATURES, PROTOCOL_COLUMN, SERVICE_COLUMN,
};
use lookout_traffic_model::{ConnectionRecord, FEATURE_NAMES};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::state::AppState;
use models::ModelStoreError;

/// The model used without `?model=`.
pub const DEFAULT_MODEL: &str = "default";

#[derive(Debug, Deserialize)]
pub struct PredictParams {
    model: Option<String>,
}

/// The record of a JSON object, every problem naming its field.
pub fn record_from_json(value: &Value) -> Result<ConnectionRecord, String> {
    let object: &Map<String, Value> = value
        .as_object()
        .ok_or("the body must be a JSON object of the 41 connection features")?;
    if let Some(unknown) = object
        .keys()
        .find(|key| !FEATURE_NAMES.contains(&key.as_str()))
    {
        return Err(format!(
            "unknown field {unknown:?} (expected the 41 NSL-KDD features: duration, protocol_type, service, flag, src_bytes, ...)"
        ));
    }
    let field = |name: &str| {
        object
            .get(name)
            .ok_or_else(|| format!("missing field {name:?}"))
    };
    let text = |column: usize| -> Result<String, String> {
        let name = FEATURE_NAMES[column];
        match field(name)? {
            Value::String(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
            other => Err(format!(
                "field {name:?} must be a non-empty string, got {other}"
            )),
        }
    };
    let mut numeric = [0.0; NUMERIC_FEATURES];
    for (slot, name) in numeric_names().enumerate() {
        let value = field(name)?;
        let number = value
            .as_f64()
            .ok_or_else(|| format!("field {name:?} must be a number, got {value}"))?;
        numeric[slot] = parse_numeric(&number.to_string())
            .map_err(|problem| format!("field {name:?}: {problem}: {value}"))?;
    }
    Ok(ConnectionRecord {
        protocol: text(PROTOCOL_COLUMN)?,
        service: text(SERVICE_COLUMN)?,
        flag: text(FLAG_COLUMN)?,
        numeric,
    })
}

/// Largest predict body (a raw request of [`content::MAX_CONTENT_BYTES`] grows when
/// escaped into JSON); larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The body as JSON, or a 400 saying where it is not.
fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_data(format!("the body is not valid JSON: {error}")))
}

/// Runs a scoring step on the blocking pool.
async fn blocking(
    work: impl FnOnce() -> Result<Value, ApiError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::internal(format!("scoring failed: {error}")))?
        .map(Json)
}

/// The metric form of a domain: `{"value": ..., "series": {...}}`.
pub async fn predict_metric(
    domain: Domain,
    state: Arc<AppState>,
    body: Value,
) -> Result<Json<Value>, ApiError> {
    let observation = metric::observation_from_json(&body).map_err(ApiError::bad_data)?;
    let timestamp = metric::timestamp_from_json(&body)
        .map_err(ApiError::bad_data)?
        .unwrap_or_else(lookout_model::clock::now_ms);
    blocking(move || metric::predict(&state, domain, &observation, timestamp)).await
}

pub async fn predict_cpu(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    predict_metric(Domain::Cpu, state, json_body(&body)?).await
}

pub async fn predict_memory(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    predict_metric(Domain::Memory, state, json_body(&body)?).await
}

pub async fn predict_storage(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    predict_metric(Domain::Storage, state, json_body(&body)?).await
}

pub async fn predict_login(body: Bytes) -> Result<Json<Value>, ApiError> {
    let query = login::query_from_json(&json_body(&body)?).map_err(ApiError::bad_data)?;
    blocking(move || Ok(login::predict(&query))).await
}

pub async fn predict_content(body: Bytes) -> Result<Json<Value>, ApiError> {
    let query = content::query_from_json(&json_body(&body)?).map_err(ApiError::bad_data)?;
    blocking(move || content::predict(&query).map_err(ApiError::bad_data)).await
}

pub async fn predict_network(
    State(state): State<Arc<AppState>>,
    Query(params): Query<PredictParams>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = json_body(&body)?;
    if body.get("value").is_some() {
        return predict_metric(Domain::Network, state, body).await;
    }
    let record = record_from_json(&body).map_err(ApiError::bad_data)?;
    let Some(models) = state.traffic_models.clone() else {
        return Err(ApiError::not_found(
            "this server has no object store for traffic models",
        ));
    };
    let name = params.model.unwrap_or_else(|| DEFAULT_MODEL.to_string());
    tokio::task::spawn_blocking(move || {
        let model = models.get(&name).map_err(|error| match error {
            ModelStoreError::BadName(_) => ApiError::bad_data(error.to_string()),
            ModelStoreError::NotFound { .. } => ApiError::not_found(error.to_string()),
            _ => ApiError::internal(error.to_string()),
        })?;
        let assessment = model.assess(&record);
        let prediction = assessment.prediction;
        let mut text = match assessment.kind {
            "known_attack" => format!(
                "the {} classifier scores it {:.3}, like the attacks it was trained on",
                model.kind.name(),
                assessment.classifier_score
            ),
            "novel" => format!(
                "farther from normal traffic than {:.1} % of normal records (the classifier alone scores {:.3})",
                100.0 * assessment.novelty.unwrap_or(1.0),
                assessment.classifier_score
            ),
            _ => format!(
                "scores {:.3}, below the threshold {}",
                prediction.score, model.threshold
            ),
        };
        if !assessment.unseen.is_empty() {
            let unseen: Vec<String> = assessment
                .unseen
                .iter()
                .map(|(feature, value)| format!("{feature}={value}"))
                .collect();
            text.push_str(&format!("; never seen in training: {}", unseen.join(", ")));
        }
        Ok(Json(json!({
            "anomaly": prediction.attack,
            "score": prediction.score,
            "kind": assessment.kind,
            "explanation": {
                "text": text,
                "model": name,
                "model_kind": model.kind.name(),
                "threshold": model.threshold,
                "classifier_score": assessment.classifier_score,
                "novelty": assessment.novelty,
                "unseen": assessment.unseen.iter().map(|(f, v)| json!({ "feature": f, "value": v })).collect::<Vec<_>>(),
                "deviations": assessment.deviations.iter().map(|(f, v, z)| json!({ "feature": f, "value": v, "z": z })).collect::<Vec<_>>(),
            },
        })))
    })
    .await
    .map_err(|error| ApiError::internal(format!("scoring failed: {error}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Value {
        let mut object = Map::new();
        for name in FEATURE_NAMES {
            object.insert(name.to_string(), json!(0));
        }
        object.insert("protocol_type".into(), json!("tcp"));
        object.insert("service".into(), json!("http"));
        object.insert("flag".into(), json!("SF"));
        object.insert("src_bytes".into(), json!(215));
        Value::Object(object)
    }

    #[test]
    fn decodes_the_41_fields_and_names_a_bad_one() {
        let decoded = record_from_json(&record()).unwrap();
        assert_eq!(decoded.service, "http");
        assert_eq!(decoded.numeric[1], 215.0);
        let mut bad = record();
        bad["src_bytes"] = json!("lots");
        assert!(record_from_json(&bad)
            .unwrap_err()
            .contains("\"src_bytes\" must be a number"));
        bad["src_bytes"] = json!(-3);
        assert!(record_from_json(&bad)
            .unwrap_err()
            .contains("\"src_bytes\": negative"));
        let mut missing = record();
        missing.as_object_mut().unwrap().remove("flag");
        assert_eq!(
            record_from_json(&missing).unwrap_err(),
            "missing field \"flag\""
        );
        let mut extra = record();
        extra["bogus"] = json!(1);
        assert!(record_from_json(&extra)
            .unwrap_err()
            .starts_with("unknown field \"bogus\""));
        let mut empty = record();
        empty["service"] = json!("");
        assert!(record_from_json(&empty)
            .unwrap_err()
            .contains("\"service\" must be a non-empty string"));
        assert!(record_from_json(&json!([1, 2])).is_err());
    }
}
