//! `POST /api/v1/predict/{cpu,memory,network,storage}` with `{"value": 95, "series":
//! {"name": ..., "labels": {...}}}`: one observation scored against that series' live
//! model in the engine, or a domain default model when the engine has none.
//!
//! **Live model.** The series is looked up in the series index (read only: an unknown
//! key creates nothing); the engine scores the value on a copy of the series' pipeline
//! ([`lookout_pipeline::Scorer::peek`]) at the later of now and just after the series'
//! newest point, so the live model learns nothing from it and nothing is stored. The
//! answer is an anomaly when the score reaches the series' opening threshold (the
//! tolerance feedback may have raised it) or the series is in an anomaly the value
//! continues.
//!
//! **Domain default** (unknown series, or no `series`): a fixed prior per domain, a
//! Gaussian upper tail of the value against a documented center and scale (see
//! [`DomainPrior`]), mapped to `[0, 1]` by the combiner's own log-likelihood and held
//! against the engine's default opening threshold. It catches values far above what
//! such machines usually show (CPU at 95 %); it knows nothing of this machine's own
//! normal, never flags a low value, and assumes percent for cpu, memory and storage and
//! bytes per second for network. The answer says which model answered.
//!
//! Cost: one index lookup and one pipeline copy on a detection worker (microseconds),
//! run on the blocking pool since it waits for the worker.

use lookout_detect::combiner::{gaussian_tail, log_likelihood, HysteresisConfig};
use lookout_model::{Domain, Labels, SeriesKey};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// Labels one predict body may carry.
pub const MAX_LABELS: usize = 64;
/// Longest metric name, label name or label value accepted (bytes).
pub const MAX_NAME_BYTES: usize = 1024;

/// One metric observation from a predict body.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub value: f64,
    pub series: Option<SeriesKey>,
}

/// A domain's fixed prior: values are scored by how far they sit above `center` in
/// units of `scale`, after `log10(1 + value)` when `log` is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DomainPrior {
    pub center: f64,
    pub scale: f64,
    pub log: bool,
    pub unit: &'static str,
}

/// The default model of each metric domain (documented in the server's README).
pub fn prior(domain: Domain) -> DomainPrior {
    match domain {
        // Utilization in percent: fleets idle around a third; 95 % is far out.
        Domain::Cpu => DomainPrior {
            center: 30.0,
            scale: 13.0,
            log: false,
            unit: "percent",
        },
        Domain::Memory => DomainPrior {
            center: 45.0,
            scale: 10.0,
            log: false,
            unit: "percent",
        },
        Domain::Storage => DomainPrior {
            center: 50.0,
            scale: 9.0,
            log: false,
            unit: "percent",
        },
        // Bytes per second, in decades: ~10 kB/s usual, tens of MB/s far out.
        _ => DomainPrior {
            center: 4.0,
            scale: 0.8,
            log: true,
            unit: "bytes per second",
        },
    }
}

/// Reads `{"value": <finite number>, "series": {"name": ..., "labels": {...}}}`; every
/// problem names its field.
pub fn observation_from_json(value: &Value) -> Result<Observation, String> {
    let object = value
        .as_object()
        .ok_or("the body must be a JSON object {\"value\": ..., \"series\": {...}}")?;
    if let Some(unknown) = object
        .keys()
        .find(|key| !["value", "series", "timestamp"].contains(&key.as_str()))
    {
        return Err(format!(
            "unknown field {unknown:?} (expected value, series, timestamp)"
        ));
    }
    let number = object.get("value").ok_or("missing field \"value\"")?;
    let value = number
        .as_f64()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("field \"value\" must be a finite number, got {number}"))?;
    let series = match object.get("series") {
        None | Some(Value::Null) => None,
        Some(series) => Some(series_from_json(series)?),
    };
    Ok(Observation { value, series })
}

/// An optional unix time in ms (`timestamp`), for the seasonal phase of the live model.
pub fn timestamp_from_json(value: &Value) -> Result<Option<i64>, String> {
    match value.get("timestamp") {
        None | Some(Value::Null) => Ok(None),
        Some(number) => number
            .as_i64()
            .filter(|ms| *ms >= 0)
            .map(Some)
            .ok_or_else(|| format!("field \"timestamp\" must be unix milliseconds, got {number}")),
    }
}

fn series_from_json(value: &Value) -> Result<SeriesKey, String> {
    let object: &Map<String, Value> = value
        .as_object()
        .ok_or("field \"series\" must be an object {\"name\": ..., \"labels\": {...}}")?;
    if let Some(unknown) = object
        .keys()
        .find(|key| !["name", "labels"].contains(&key.as_str()))
    {
        return Err(format!(
            "unknown field \"series.{unknown}\" (expected series.name, series.labels)"
        ));
    }
    let name = match object.get("name") {
        Some(Value::String(name)) if !name.is_empty() && name.len() <= MAX_NAME_BYTES => name,
        Some(other) => {
            return Err(format!(
                "field \"series.name\" must be a metric name of 1..{MAX_NAME_BYTES} bytes, got {}",
                excerpt(other)
            ))
        }
        None => return Err("missing field \"series.name\"".into()),
    };
    let mut labels = Labels::new();
    match object.get("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            if map.len() > MAX_LABELS {
                return Err(format!(
                    "field \"series.labels\" has {} labels; at most {MAX_LABELS}",
                    map.len()
                ));
            }
            for (label, value) in map {
                let Value::String(text) = value else {
                    return Err(format!(
                        "field \"series.labels.{label}\" must be a string, got {}",
                        excerpt(value)
                    ));
                };
                if label.len() > MAX_NAME_BYTES || text.len() > MAX_NAME_BYTES {
                    return Err(format!(
                        "field \"series.labels\": label names and values are at most {MAX_NAME_BYTES} bytes"
                    ));
                }
                labels.insert(label.clone(), text.clone());
            }
        }
        Some(other) => {
            return Err(format!(
                "field \"series.labels\" must be an object of strings, got {}",
                excerpt(other)
            ))
        }
    }
    SeriesKey::validated(name.clone(), labels).map_err(|error| format!("field \"series\": {error}"))
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 80 {
        format!("{}...", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// The domain default's answer.
pub fn score_with_prior(domain: Domain, value: f64, why_default: &str) -> Value {
    let prior = prior(domain);
    let x = if prior.log {
        value.max(0.0).ln_1p() / std::f64::consts::LN_10
    } else {
        value
    };
    let z = (x - prior.center) / prior.scale;
    let score = if z > 0.0 {
        log_likelihood(1.0 - gaussian_tail(z))
    } else {
        0.0
    };
    let threshold = HysteresisConfig::default().open_at;
    let anomaly = score >= threshold;
    let band_upper = prior.center + 2.0 * prior.scale;
    let (lower, upper) = if prior.log {
        (0.0, 10f64.powf(band_upper) - 1.0)
    } else {
        (0.0, band_upper)
    };
    let text = format!(
        "{why_default}: scored with the {} domain default ({}, typical up to about {}); {} standard deviations above its center, score {score:.3} {} the threshold {threshold}",
        domain.as_str(),
        prior.unit,
        round(upper),
        round(z),
        if anomaly { "reaches" } else { "is below" },
    );
    json!({
        "anomaly": anomaly,
        "score": score,
        "kind": if anomaly { "above_expected" } else { "normal" },
        "explanation": {
            "text": text,
            "model": "domain_default",
            "domain": domain.as_str(),
            "unit": prior.unit,
            "z": z,
            "threshold": threshold,
            "expected": { "lower": lower, "upper": upper },
        },
    })
}

fn round(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Scores one observation: the series' live model when the engine has one, else the
/// domain default. Blocks on the engine: call on the blocking pool.
pub fn predict(
    state: &AppState,
    domain: Domain,
    observation: &Observation,
    timestamp_ms: i64,
) -> Result<Value, ApiError> {
    let Some(key) = &observation.series else {
        return Ok(score_with_prior(
            domain,
            observation.value,
            "no series given",
        ));
    };
    let Some(entry) = state.index.get(key) else {
        return Ok(score_with_prior(
            domain,
            observation.value,
            &format!("series {key} is unknown to this server"),
        ));
    };
    let peek = state
        .scorer
        .peek(entry.id, timestamp_ms, observation.value)
        .map_err(|error| ApiError::internal(format!("scoring failed: {error}")))?;
    let Some(peek) = peek else {
        return Ok(score_with_prior(
            domain,
            observation.value,
            &format!("series {key} has no model in the engine yet"),
        ));
    };
    let verdict = &peek.verdict;
    let anomaly = verdict.is_anomaly || verdict.score >= peek.open_at;
    let kind = if !anomaly {
        "normal"
    } else if verdict.value > verdict.expected_upper {
        "above_expected"
    } else if verdict.value < verdict.expected_lower {
        "below_expected"
    } else {
        "anomalous"
    };
    let detectors: Vec<Value> = verdict
        .explanation
        .detectors
        .iter()
        .map(|d| json!({ "detector": d.detector, "likelihood": d.likelihood, "fired": d.fired }))
        .collect();
    let text = format!(
        "scored against the live model of {key} (newest point {}): expected {}..{}, score {:.3} {} its threshold {:.3}{}",
        crate::anomalies::rfc3339(peek.newest_ms),
        round(verdict.expected_lower),
        round(verdict.expected_upper),
        verdict.score,
        if verdict.score >= peek.open_at { "reaches" } else { "is below" },
        peek.open_at,
        if verdict.is_anomaly && verdict.score < peek.open_at {
            "; the series is in an anomaly this value continues"
        } else {
            ""
        },
    );
    Ok(json!({
        "anomaly": anomaly,
        "score": verdict.score,
        "kind": kind,
        "explanation": {
            "text": text,
            "model": "live",
            "domain": domain.as_str(),
            "series": key.to_string(),
            "threshold": peek.open_at,
            "expected": { "lower": finite(verdict.expected_lower), "upper": finite(verdict.expected_upper) },
            "detectors": detectors,
        },
    }))
}

fn finite(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_value_and_series_and_names_each_bad_field() {
        let body = json!({"value": 95, "series": {"name": "host_cpu_utilization_percent", "labels": {"host": "web-1"}}});
        let observation = observation_from_json(&body).unwrap();
        assert_eq!(observation.value, 95.0);
        let key = observation.series.unwrap();
        assert_eq!(key.labels["host"], "web-1");
        assert_eq!(
            observation_from_json(&json!({"value": 1})).unwrap().series,
            None
        );
        for (body, expected) in [
            (json!({}), "missing field \"value\""),
            (
                json!({"value": "high"}),
                "field \"value\" must be a finite number",
            ),
            (json!({"value": 1, "colour": 2}), "unknown field \"colour\""),
            (
                json!({"value": 1, "series": 3}),
                "field \"series\" must be an object",
            ),
            (
                json!({"value": 1, "series": {}}),
                "missing field \"series.name\"",
            ),
            (
                json!({"value": 1, "series": {"name": "1x"}}),
                "field \"series\": metric name \"1x\"",
            ),
            (
                json!({"value": 1, "series": {"name": "a", "labels": {"h": 1}}}),
                "field \"series.labels.h\" must be a string",
            ),
            (
                json!({"value": 1, "series": {"name": "a", "bogus": 1}}),
                "unknown field \"series.bogus\"",
            ),
            (json!([1]), "the body must be a JSON object"),
        ] {
            let error = observation_from_json(&body).unwrap_err();
            assert!(error.contains(expected), "{body}: {error}");
        }
        let many: Map<String, Value> = (0..=MAX_LABELS)
            .map(|i| (format!("l{i}"), json!("v")))
            .collect();
        let error =
            observation_from_json(&json!({"value": 1, "series": {"name": "a", "labels": many}}))
                .unwrap_err();
        assert!(error.contains("at most 64"), "{error}");
        assert!(timestamp_from_json(&json!({"timestamp": -1})).is_err());
        assert_eq!(
            timestamp_from_json(&json!({"timestamp": 5})).unwrap(),
            Some(5)
        );
    }

    #[test]
    fn the_domain_defaults_flag_far_high_values_only() {
        let high = score_with_prior(Domain::Cpu, 95.0, "no series given");
        assert_eq!(high["anomaly"], true, "{high}");
        assert_eq!(high["kind"], "above_expected");
        assert_eq!(high["explanation"]["model"], "domain_default");
        assert!(high["explanation"]["text"]
            .as_str()
            .unwrap()
            .starts_with("no series given: scored with the cpu domain default"));
        for (domain, usual) in [
            (Domain::Cpu, 40.0),
            (Domain::Memory, 60.0),
            (Domain::Storage, 70.0),
            (Domain::Network, 50_000.0),
        ] {
            let answer = score_with_prior(domain, usual, "x");
            assert_eq!(answer["anomaly"], false, "{domain:?} {answer}");
        }
        for (domain, far) in [
            (Domain::Memory, 99.0),
            (Domain::Storage, 97.0),
            (Domain::Network, 5e8),
        ] {
            let answer = score_with_prior(domain, far, "x");
            assert_eq!(answer["anomaly"], true, "{domain:?} {answer}");
        }
        let low = score_with_prior(Domain::Cpu, 0.0, "x");
        assert_eq!(low["score"], 0.0);
        // Monotone in the value.
        let scores: Vec<f64> = [50.0, 70.0, 85.0, 95.0]
            .iter()
            .map(|v| {
                score_with_prior(Domain::Cpu, *v, "x")["score"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    }
}
