//! Samples as a JSON array, for scripts and quick integrations:
//!
//! ```json
//! [{"name": "cpu_utilization", "labels": {"host": "web-1"}, "timestamp": 1700000000000, "value": 0.93},
//!  {"name": "queue_depth", "timestamp": "2023-11-14T22:13:20Z", "value": 12}]
//! ```
//!
//! `name` (string) and `value` (number) are required. `labels` is an optional object of
//! strings. `timestamp` is optional (the caller's `now_ms` when absent or `null`) and is
//! either Unix milliseconds (a number; a fraction is floored) or an RFC 3339 string.
//! Unknown keys are errors, so that a typo (`"lables"`) does not silently drop labels.
//!
//! A request is all-or-nothing: any bad element refuses the whole array, and the error
//! names every bad element (up to [`crate::MAX_REPORTED_ERRORS`]) by index and field,
//! e.g. `[2].value: expected a number, got a string`. Names are checked later by
//! [`crate::SampleLimits`], like every other format.

use lookout_model::{Labels, Sample, SeriesKey};
use serde_json::{Map, Value};

use crate::batch::Batch;
use crate::error::{ErrorList, ProtocolError};

const FIELDS: &str = "name, labels, timestamp, value";

/// Parses a JSON array of samples; samples without a timestamp get `now_ms`.
pub fn parse_json_samples(body: &[u8], now_ms: i64) -> Result<Batch, ProtocolError> {
    let document: Value =
        serde_json::from_slice(body).map_err(|error| ProtocolError::MalformedJson {
            errors: vec![format!("invalid JSON: {error}")],
            total: 1,
        })?;
    let Value::Array(elements) = document else {
        return Err(ProtocolError::MalformedJson {
            errors: vec![format!(
                "expected a JSON array of samples, got {}",
                kind(&document)
            )],
            total: 1,
        });
    };
    let mut batch = Batch::default();
    batch.samples.reserve(elements.len());
    let mut errors = ErrorList::new();
    for (index, element) in elements.into_iter().enumerate() {
        match parse_element(element, now_ms) {
            Ok(sample) => batch.samples.push(sample),
            Err(message) => errors.push(format!("[{index}]{message}")),
        }
    }
    if errors.is_empty() {
        Ok(batch)
    } else {
        Err(ProtocolError::MalformedJson {
            errors: errors.errors,
            total: errors.total,
        })
    }
}

/// One element; the error starts with the field path after the index (`.value: ...`).
fn parse_element(element: Value, now_ms: i64) -> Result<Sample, String> {
    let Value::Object(mut object) = element else {
        return Err(format!(
            ": expected an object with {FIELDS}, got {}",
            kind(&element)
        ));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "name" | "labels" | "timestamp" | "value"))
    {
        return Err(format!(": unknown field {unknown:?} (expected {FIELDS})"));
    }
    let name = match object.remove("name") {
        Some(Value::String(name)) if !name.is_empty() => name,
        Some(Value::String(_)) => return Err(".name: must not be empty".into()),
        Some(other) => return Err(format!(".name: expected a string, got {}", kind(&other))),
        None => return Err(".name: missing".into()),
    };
    let labels = match object.remove("labels") {
        None | Some(Value::Null) => Labels::new(),
        Some(Value::Object(labels)) => parse_labels(labels)?,
        Some(other) => {
            return Err(format!(
                ".labels: expected an object of strings, got {}",
                kind(&other)
            ))
        }
    };
    let value = match object.remove("value") {
        Some(Value::Number(number)) => number.as_f64().ok_or(".value: number out of range")?,
        Some(other) => return Err(format!(".value: expected a number, got {}", kind(&other))),
        None => return Err(".value: missing".into()),
    };
    let timestamp_ms = match object.remove("timestamp") {
        None | Some(Value::Null) => now_ms,
        Some(timestamp) => parse_timestamp(&timestamp)?,
    };
    Ok(Sample {
        key: SeriesKey { name, labels },
        timestamp_ms,
        value,
    })
}

fn parse_labels(object: Map<String, Value>) -> Result<Labels, String> {
    let mut labels = Labels::new();
    for (name, value) in object {
        match value {
            Value::String(value) => {
                labels.insert(name, value);
            }
            other => {
                return Err(format!(
                    ".labels.{name}: expected a string, got {}",
                    kind(&other)
                ))
            }
        }
    }
    Ok(labels)
}

fn parse_timestamp(timestamp: &Value) -> Result<i64, String> {
    match timestamp {
        Value::Number(number) => {
            if let Some(ms) = number.as_i64() {
                return Ok(ms);
            }
            match number.as_f64() {
                Some(ms) if ms.is_finite() && ms.abs() < 9.0e18 => Ok(ms.floor() as i64),
                _ => Err(format!(
                    ".timestamp: {number} is out of range for Unix milliseconds"
                )),
            }
        }
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| time.timestamp_millis())
            .map_err(|error| format!(".timestamp: {text:?} is not an RFC 3339 time ({error})")),
        other => Err(format!(
            ".timestamp: expected Unix milliseconds or an RFC 3339 string, got {}",
            kind(other)
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RejectReason;

    const NOW: i64 = 1_700_000_000_000;

    fn errors(body: &str) -> Vec<String> {
        match parse_json_samples(body.as_bytes(), NOW).unwrap_err() {
            ProtocolError::MalformedJson { errors, .. } => errors,
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn parses_samples_with_every_timestamp_form() {
        let body = r#"[
            {"name": "cpu", "labels": {"host": "web-1"}, "timestamp": 1700000000123, "value": 0.5},
            {"name": "cpu", "timestamp": "2023-11-14T22:13:20.5+01:00", "value": -3},
            {"name": "mem", "timestamp": 1700000000123.9, "value": 1e3},
            {"name": "disk", "labels": null, "timestamp": null, "value": 7}
        ]"#;
        let batch = parse_json_samples(body.as_bytes(), NOW).unwrap();
        let expected = vec![
            Sample {
                key: SeriesKey::new("cpu").with_label("host", "web-1"),
                timestamp_ms: 1_700_000_000_123,
                value: 0.5,
            },
            Sample {
                key: SeriesKey::new("cpu"),
                timestamp_ms: 1_699_996_400_500,
                value: -3.0,
            },
            Sample {
                key: SeriesKey::new("mem"),
                timestamp_ms: 1_700_000_000_123,
                value: 1000.0,
            },
            Sample {
                key: SeriesKey::new("disk"),
                timestamp_ms: NOW,
                value: 7.0,
            },
        ];
        assert_eq!(batch.samples, expected);
    }

    #[test]
    fn empty_array_is_an_empty_batch() {
        assert!(parse_json_samples(b"[]", NOW).unwrap().samples.is_empty());
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let error = parse_json_samples(b"[{\"name\": }]", NOW).unwrap_err();
        assert_eq!(error.reason(), RejectReason::MalformedJson);
        assert_eq!(
            error.to_string(),
            "malformed JSON samples: 1 error; invalid JSON: expected value at line 1 column 11"
        );
    }

    #[test]
    fn a_non_array_document_is_refused() {
        assert_eq!(
            errors(r#"{"name": "x"}"#),
            ["expected a JSON array of samples, got an object"]
        );
    }

    #[test]
    fn every_field_error_names_index_and_field() {
        let cases = [
            (
                r#"[1]"#,
                "[0]: expected an object with name, labels, timestamp, value, got a number",
            ),
            (r#"[{"value": 1}]"#, "[0].name: missing"),
            (
                r#"[{"name": "", "value": 1}]"#,
                "[0].name: must not be empty",
            ),
            (
                r#"[{"name": 5, "value": 1}]"#,
                "[0].name: expected a string, got a number",
            ),
            (r#"[{"name": "m"}]"#, "[0].value: missing"),
            (
                r#"[{"name": "m", "value": "1"}]"#,
                "[0].value: expected a number, got a string",
            ),
            (
                r#"[{"name": "m", "value": 1, "labels": []}]"#,
                "[0].labels: expected an object of strings, got an array",
            ),
            (
                r#"[{"name": "m", "value": 1, "labels": {"a": 1}}]"#,
                "[0].labels.a: expected a string, got a number",
            ),
            (
                r#"[{"name": "m", "value": 1, "timestamp": true}]"#,
                "[0].timestamp: expected Unix milliseconds or an RFC 3339 string, got a boolean",
            ),
            (
                r#"[{"name": "m", "value": 1, "timestamp": "yesterday"}]"#,
                "[0].timestamp: \"yesterday\" is not an RFC 3339 time (premature end of input)",
            ),
            (
                r#"[{"name": "m", "value": 1, "timestamp": 1e300}]"#,
                "[0].timestamp: 1e+300 is out of range for Unix milliseconds",
            ),
            (
                r#"[{"name": "m", "value": 1, "lables": {}}]"#,
                "[0]: unknown field \"lables\" (expected name, labels, timestamp, value)",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(errors(body), [expected], "{body}");
        }
    }

    #[test]
    fn all_bad_elements_are_reported_and_nothing_is_accepted() {
        let body = r#"[{"name": "ok", "value": 1}, {"name": "m"}, {"name": "ok", "value": 2}, {"value": 3}]"#;
        assert_eq!(errors(body), ["[1].value: missing", "[3].name: missing"]);
    }
}
