//! `POST /api/v1/predict/content`: `{"text": "..."}` (one input as the application sees
//! it, after the client's own encoding is undone: a form value, a JSON string) or
//! `{"request": "<raw HTTP request>"}` (request line, headers, blank line, body; every
//! field that carries user content is read), classified by `lookout-inject`'s
//! [`Classifier`] for SQL injection, XSS, path traversal, command and template
//! injection. The answer names the kind, the rule, where it was found and the decoded
//! evidence. Work is bounded by the classifier's [`lookout_inject::Limits`] and the
//! body by [`MAX_CONTENT_BYTES`]; it runs on the blocking pool. Nothing is stored and no
//! event is raised (that is the access-log source's job).

use lookout_inject::{Classifier, Origin, Verdict, ATTACK_THRESHOLD};
use serde_json::{json, Map, Value};

/// Longest `text` or `request` accepted (bytes).
pub const MAX_CONTENT_BYTES: usize = 1 << 20;

/// What a content body asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentQuery {
    Text(String),
    Request(String),
}

/// Reads `{"text": ...}` or `{"request": ...}`; every problem names its field.
pub fn query_from_json(value: &Value) -> Result<ContentQuery, String> {
    let object: &Map<String, Value> = value
        .as_object()
        .ok_or("the body must be a JSON object {\"text\": ...} or {\"request\": ...}")?;
    if let Some(unknown) = object
        .keys()
        .find(|key| !["text", "request"].contains(&key.as_str()))
    {
        return Err(format!(
            "unknown field {unknown:?} (expected text or request)"
        ));
    }
    let string = |field: &str| -> Result<Option<String>, String> {
        match object.get(field) {
            None => Ok(None),
            Some(Value::String(text)) if text.len() <= MAX_CONTENT_BYTES => Ok(Some(text.clone())),
            Some(Value::String(text)) => Err(format!(
                "field {field:?} has {} bytes; at most {MAX_CONTENT_BYTES}",
                text.len()
            )),
            Some(other) => Err(format!(
                "field {field:?} must be a string, got {}",
                match other {
                    Value::Object(_) => "an object".to_string(),
                    Value::Array(_) => "an array".to_string(),
                    other => other.to_string(),
                }
            )),
        }
    };
    match (string("text")?, string("request")?) {
        (Some(_), Some(_)) => {
            Err("give either field \"text\" or field \"request\", not both".into())
        }
        (Some(text), None) => Ok(ContentQuery::Text(text)),
        (None, Some(request)) => Ok(ContentQuery::Request(request)),
        (None, None) => {
            Err("missing field \"text\" (one input) or \"request\" (a raw HTTP request)".into())
        }
    }
}

/// Classifies; a request that cannot be read at all is a 400 naming the `request` field.
pub fn predict(query: &ContentQuery) -> Result<Value, String> {
    let mut classifier = Classifier::default();
    let (verdict, what) = match query {
        ContentQuery::Text(text) => {
            let mut verdict = Verdict::default();
            classifier.field(text.as_bytes(), false, Origin::Input, "text", &mut verdict);
            (verdict, "the text")
        }
        ContentQuery::Request(raw) => (
            classifier
                .classify_request(raw.as_bytes())
                .map_err(|error| format!("field \"request\": {error}"))?,
            "the request",
        ),
    };
    let finding = verdict.finding.as_ref();
    let text = match (verdict.attack, finding) {
        (true, Some(f)) => format!(
            "{} in {what} at {}: rule {} scores {:.3} on {:?}",
            f.kind.as_str(),
            if f.location.is_empty() { "the input" } else { f.location.as_str() },
            f.rule,
            f.score,
            f.evidence
        ),
        (false, Some(f)) => format!(
            "no attack in {what}: the strongest rule, {} ({}), scores {:.3}, below {ATTACK_THRESHOLD}",
            f.rule,
            f.kind.as_str(),
            f.score
        ),
        _ => format!("no attack in {what}: no rule matched"),
    };
    Ok(json!({
        "anomaly": verdict.attack,
        "score": verdict.score,
        "kind": verdict.kind().map(|k| k.as_str()),
        "explanation": {
            "text": text,
            "threshold": ATTACK_THRESHOLD,
            "rule": finding.map(|f| f.rule),
            "location": finding.map(|f| f.location.as_str()),
            "evidence": finding.filter(|_| verdict.attack).map(|f| f.evidence.as_str()),
            "fields": verdict.fields,
            "truncated": verdict.truncated,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(body: Value) -> Value {
        predict(&query_from_json(&body).unwrap()).unwrap()
    }

    #[test]
    fn names_the_attack_kind_and_its_evidence() {
        let sqli = ask(json!({"text": "1' OR '1'='1' -- "}));
        assert_eq!(sqli["anomaly"], true, "{sqli}");
        assert_eq!(sqli["kind"], "sqli");
        assert!(
            sqli["explanation"]["evidence"]
                .as_str()
                .unwrap()
                .contains("OR"),
            "{sqli}"
        );
        let xss = ask(
            json!({"request": "GET /search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1\r\nHost: a\r\n\r\n"}),
        );
        assert_eq!(xss["kind"], "xss", "{xss}");
        assert!(
            xss["explanation"]["location"]
                .as_str()
                .unwrap()
                .contains("q"),
            "{xss}"
        );
        let benign = ask(json!({"text": "blue running shoes size 42"}));
        assert_eq!(benign["anomaly"], false, "{benign}");
        assert_eq!(benign["kind"], Value::Null);
    }

    #[test]
    fn bad_bodies_name_the_field() {
        for (body, expected) in [
            (json!({}), "missing field \"text\""),
            (json!({"text": 3}), "field \"text\" must be a string"),
            (json!({"text": "a", "request": "b"}), "not both"),
            (json!({"body": "a"}), "unknown field \"body\""),
        ] {
            let error = query_from_json(&body).unwrap_err();
            assert!(error.contains(expected), "{body}: {error}");
        }
        let big = "a".repeat(MAX_CONTENT_BYTES + 1);
        assert!(query_from_json(&json!({ "text": big }))
            .unwrap_err()
            .contains("at most"));
        let error = predict(&ContentQuery::Request(String::new())).unwrap_err();
        assert!(
            error.starts_with("field \"request\": empty request"),
            "{error}"
        );
    }
}
