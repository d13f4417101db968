//! The predict routes' part of the OpenAPI document: one operation per domain and the
//! schemas of their bodies and answer.

use serde_json::{json, Value};

use crate::openapi::{error_responses, operation, param};

fn body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn answers(description: &str) -> Value {
    let mut responses = error_responses();
    responses["200"] = json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Prediction" } } } });
    responses["413"] = json!({ "description": format!("The body is larger than {} bytes.", super::MAX_BODY_BYTES) });
    responses
}

fn metric_operation(domain: &str, unit: &str) -> Value {
    json!({ "post": operation(
        &format!("Score one {domain} value without storing it: against the live model of `series` (a copy of it, which is left unchanged) or, when the series is unknown or not given, the {domain} domain default (a fixed prior, values in {unit}); `explanation.model` says which (`live` or `domain_default`)."),
        vec![],
        Some(body(json!({ "$ref": "#/components/schemas/MetricObservation" }))),
        answers("{anomaly, score, kind: normal | above_expected | below_expected | anomalous, explanation: {text, model, domain, series, threshold, expected: {lower, upper}, detectors}}."),
    ) })
}

/// `/api/v1/predict/{cpu,memory,network,storage,login,content}`.
pub fn paths() -> Value {
    let mut network = operation(
        "Score one network observation. A connection record (the 41 NSL-KDD features) is scored with a trained traffic model (`lookout train traffic`): anomaly (attack or not), score 0..1, kind (normal, known_attack: the classifier flags it, novel: only its distance from normal traffic does) and an explanation (classifier score, novelty, categories unseen in training, most deviating features). A body with `value` is a metric observation, scored like /api/v1/predict/cpu (domain default in bytes per second).",
        vec![param("model", "query", false, "Traffic model name for a connection record; default: default.")],
        Some(body(json!({ "oneOf": [
            { "$ref": "#/components/schemas/ConnectionRecord" },
            { "$ref": "#/components/schemas/MetricObservation" },
        ] }))),
        answers("{anomaly, score, kind, explanation}; for a record: explanation {text, model, model_kind, threshold, classifier_score, novelty, unseen: [{feature, value}], deviations: [{feature, value, z}]}."),
    );
    network["responses"]["404"] =
        json!({ "description": "No such traffic model (connection records only)." });
    json!({
        "/api/v1/predict/cpu": metric_operation("cpu", "percent"),
        "/api/v1/predict/memory": metric_operation("memory", "percent"),
        "/api/v1/predict/storage": metric_operation("storage", "percent"),
        "/api/v1/predict/network": { "post": network },
        "/api/v1/predict/login": { "post": operation(
            "Judge one login attempt or a window summary with the login detectors' default rules (fail2ban 5 failures within 10m, fast bucket 5 per 10s, slow bucket 10 per 60s, 5 distinct users within 10m, a success after 5 failures within 10m). A summary is replayed with its failures evenly spread over the window from one address; every rule that fires is named. One attempt alone never makes an attack.",
            vec![],
            Some(body(json!({ "$ref": "#/components/schemas/LoginObservation" }))),
            answers("{anomaly, score, kind: ssh_success_after_failures | ssh_bruteforce_fast | ssh_bruteforce | ssh_bruteforce_slow | ssh_user_enumeration | normal | login_failure | login_success, explanation: {text, rules: [{kind, rule}], assumption}}."),
        ) },
        "/api/v1/predict/content": { "post": operation(
            "Classify one input (`text`) or one raw HTTP request (`request`: request line, headers, blank line, body) for SQL injection, XSS, path traversal, command injection and template injection.",
            vec![],
            Some(body(json!({ "$ref": "#/components/schemas/ContentObservation" }))),
            answers("{anomaly, score, kind: sqli | xss | traversal | cmdi | ssti | null, explanation: {text, threshold, rule, location, evidence, fields, truncated}}."),
        ) },
    })
}

pub fn metric_observation_schema() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["value"], "properties": {
        "value": { "type": "number" },
        // `null` is taken as not given, for `series` and its `labels` as for `timestamp`.
        "series": { "type": "object", "nullable": true, "additionalProperties": false, "required": ["name"], "description": "null or absent: the domain default.", "properties": {
            "name": { "type": "string", "maxLength": super::metric::MAX_NAME_BYTES },
            "labels": { "type": "object", "nullable": true, "maxProperties": super::metric::MAX_LABELS, "additionalProperties": { "type": "string" } } } },
        "timestamp": { "type": "integer", "nullable": true, "minimum": 0, "description": "Unix ms the value is for (default, also for null: now; never before the series' newest point)." } } })
}

pub fn login_observation_schema() -> Value {
    json!({ "oneOf": [
        { "type": "object", "additionalProperties": false, "required": ["ip", "result"], "properties": {
            "ip": { "type": "string", "description": "IPv4 or IPv6 address." },
            "user": { "type": "string", "nullable": true },
            "result": { "type": "string", "enum": ["failure", "success"] } } },
        { "type": "object", "additionalProperties": false, "required": ["failures", "window"], "properties": {
            "failures": { "type": "integer", "minimum": 0, "maximum": super::login::MAX_FAILURES },
            "distinct_users": { "type": "integer", "nullable": true, "minimum": 0, "maximum": super::login::MAX_FAILURES, "description": "Default (also for null) 1; at most failures." },
            "window": { "type": "string", "description": "Duration the failures span, e.g. 60s (1ms..7d)." },
            "successes": { "type": "integer", "nullable": true, "minimum": 0, "maximum": 1000, "description": "Successful logins from the same address at the window's end; default (also for null) 0." } } },
    ] })
}

pub fn content_observation_schema() -> Value {
    let max = super::content::MAX_CONTENT_BYTES;
    json!({ "oneOf": [
        { "type": "object", "additionalProperties": false, "required": ["text"], "properties": { "text": { "type": "string", "maxLength": max } } },
        { "type": "object", "additionalProperties": false, "required": ["request"], "properties": { "request": { "type": "string", "maxLength": max } } },
    ] })
}

pub fn prediction_schema() -> Value {
    json!({ "type": "object", "required": ["anomaly", "score", "kind", "explanation"], "properties": {
        "anomaly": { "type": "boolean" },
        "score": { "type": "number", "minimum": 0, "maximum": 1 },
        "kind": { "type": "string", "nullable": true },
        "explanation": { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } } } })
}
