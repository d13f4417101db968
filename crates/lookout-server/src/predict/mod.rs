//! `POST /api/v1/predict/network`: scores one connection record (the 41 NSL-KDD
//! features as a JSON object) with a trained traffic model.
//!
//! `?model=NAME` picks the model (default: `default`), loaded from the models directory
//! on first use and kept loaded (see [`models`]). Every field is required; numbers must be
//! finite and ≥ 0, `protocol_type`, `service` and `flag` non-empty strings; an unknown or
//! bad field is a 400 naming it. Loading and scoring run on the blocking pool (a k-NN
//! model scans its training set per record).

pub mod models;

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
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

pub async fn predict_network(
    State(state): State<Arc<AppState>>,
    Query(params): Query<PredictParams>,
    body: Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let record = record_from_json(&body).map_err(ApiError::bad_data)?;
    let Some(models) = state.traffic_models.clone() else {
        return Err(ApiError::not_found(
            "this server has no traffic models directory",
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
