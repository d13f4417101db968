//! The OpenAPI 3 document served at `/api/openapi.json`.
//!
//! Written by hand beside the routes; a test compares its operations with
//! [`crate::routes::route_table`] both ways and sends a request to every documented
//! operation, so a route cannot be added or removed without updating this file.

use axum::Json;
use serde_json::{json, Map, Value};

pub(crate) fn param(name: &str, location: &str, required: bool, description: &str) -> Value {
    json!({ "name": name, "in": location, "required": required, "description": description, "schema": { "type": "string" } })
}

pub(crate) fn error_responses() -> Value {
    json!({
        "400": { "description": "Invalid request; the error names the problem.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
    })
}

fn query_responses(description: &str) -> Value {
    let mut responses = success(description);
    responses["422"] = json!({ "description": "Evaluation failed (e.g. duplicate series in a match) or the query exceeded its sample budget; the error gives the figure.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    responses["503"] = json!({ "description": "The query timed out.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    responses
}

/// The answers of a route that reads form parameters from its body, GET as POST
/// (`ingest::routes::read_query_body`): a body over its limit, or past the in-flight body
/// budget shared with ingestion.
fn with_form_body_limits(mut responses: Value) -> Value {
    let error =
        json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
    responses["413"] = json!({ "description": format!("Body over {} bytes.", crate::ingest::routes::MAX_QUERY_BODY_BYTES), "content": error });
    let busy = "The in-flight body budget is spent; retry after Retry-After seconds.";
    let description = match responses["503"]["description"].as_str() {
        Some(timeout) => format!("{timeout} Or: {busy}"),
        None => busy.to_string(),
    };
    responses["503"] = json!({ "description": description, "content": error });
    responses
}

fn ingest_responses(success: &str) -> Value {
    json!({
        success: { "description": "Stored durably (committed) and scored." },
        "400": { "description": "Malformed or invalid input, or over the series limit; nothing of the request stored.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "413": { "description": "Body over the size limit." },
        "415": { "description": "A Content-Type or Content-Encoding the route does not take (remote write: snappy, proto=prometheus.WriteRequest or io.prometheus.write.v2.Request; Influx and JSON: gzip, deflate, zstd or none)." },
        "429": { "description": "Overloaded (engine or store queue full); retry after Retry-After seconds. Nothing stored." },
        "503": { "description": "Shutting down or store failure; retry." },
    })
}

fn query_params() -> Vec<Value> {
    vec![
        param("match[]", "query", false, "Series selector; repeatable."),
        param("start", "query", false, "Unix seconds, RFC 3339 or now-1h."),
        param("end", "query", false, "Unix seconds, RFC 3339 or now."),
    ]
}

fn form_body(fields: &[&str]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| (f.to_string(), json!({ "type": "string" })))
        .collect();
    json!({ "content": { "application/x-www-form-urlencoded": { "schema": { "type": "object", "properties": properties } } } })
}

fn success(description: &str) -> Value {
    let mut responses = error_responses();
    responses["200"] = json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Success" } } } });
    responses
}

pub(crate) fn operation(
    summary: &str,
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: Value,
) -> Value {
    let mut op = json!({ "summary": summary, "parameters": parameters, "responses": responses });
    if let Some(body) = body {
        op["requestBody"] = body;
    }
    op
}

/// The whole document.
pub fn document() -> Value {
    let binary = |media: &str| json!({ "required": true, "content": { media: { "schema": { "type": "string", "format": "binary" } } } });
    // Influx clients flush empty batches: an empty line-protocol body stores nothing, 204.
    let line_protocol = json!({ "required": false, "description": "Line protocol; an empty body stores nothing (204).", "content": { "text/plain": { "schema": { "type": "string", "format": "binary" } } } });
    let influx_params = || {
        vec![param(
            "precision",
            "query",
            false,
            "ns (default), us, ms or s.",
        )]
    };
    let instant = || {
        vec![
            param("query", "query", true, "PromQL expression."),
            param(
                "time",
                "query",
                false,
                "Evaluation time (unix seconds, RFC 3339 or now-5m); default now.",
            ),
        ]
    };
    let range = || {
        vec![
            param("query", "query", true, "PromQL expression."),
            param("start", "query", true, "Unix seconds, RFC 3339 or now-1h."),
            param("end", "query", true, "Unix seconds, RFC 3339 or now."),
            param("step", "query", true, "Seconds or a duration such as 15s."),
        ]
    };
    let id = || param("id", "path", true, "Anomaly id.");
    let mut paths = json!({
        "/api/v1/write": { "post": operation("Prometheus remote write 1.0 (snappy-compressed protobuf WriteRequest).", vec![], Some(binary("application/x-protobuf")), ingest_responses("204")) },
        "/api/v2/write": { "post": operation("InfluxDB line protocol.", influx_params(), Some(line_protocol.clone()), ingest_responses("204")) },
        "/write": { "post": operation("InfluxDB 1.x line protocol.", influx_params(), Some(line_protocol), ingest_responses("204")) },
        "/api/v1/samples": { "post": operation(
            "JSON samples: [{name, labels, timestamp (unix ms or RFC 3339), value}].",
            vec![],
            Some(json!({ "required": true, "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Sample" } } } } })),
            ingest_responses("200"),
        ) },
        "/api/v1/events": {
            "post": operation(
                "Events: a JSON array of {timestamp_ms, kind, domain, severity, entity?, score?, summary?, evidence?}. All or nothing: the first invalid event refuses the request (400 naming its index and the reason). 200 after the commit, with the events' ids.",
                vec![],
                Some(json!({ "required": true, "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } } } } })),
                { let mut r = ingest_responses("200"); r["200"] = json!({ "description": "Stored durably: {accepted, ids}." }); r },
            ),
            "get": operation(
                "Stored events, newest first, paginated.",
                vec![
                    param("from", "query", false, "Unix seconds, RFC 3339 or now-1h; default: to - 24h."),
                    param("to", "query", false, "Unix seconds, RFC 3339 or now; default: now."),
                    param("match[]", "query", false, "Selector over the entity labels, domain, severity and __name__ (the kind); repeatable, any may match."),
                    param("kind", "query", false, "Event kind; repeatable or comma-separated."),
                    param("domain", "query", false, "cpu, memory, network, storage, login, content, traffic, log or other; repeatable or comma-separated."),
                    param("severity", "query", false, "info, warning or critical; repeatable or comma-separated."),
                    param("limit", "query", false, "Events per page, 1..1000; default 100."),
                    param("cursor", "query", false, "next_cursor of the previous page."),
                ],
                None,
                success("{events: [{id, time, timestamp_ms, kind, domain, entity, severity, score, summary, evidence: {fields, counts, examples, first_ms, last_ms}}], next_cursor}."),
            ),
        },
        "/api/v1/events/{id}": { "get": operation("One event.", vec![param("id", "path", true, "Event id.")], None, {
            let mut r = success("The event."); r["404"] = json!({ "description": "No such event." }); r
        }) },
        "/api/v1/series": {
            "get": operation("Series matching the selectors.", query_params(), None, success("Label sets.")),
            "post": operation("Series matching the selectors (form body).", vec![], Some(form_body(&["match[]", "start", "end"])), success("Label sets.")),
        },
        "/api/v1/labels": {
            "get": operation("Label names.", query_params(), None, success("Sorted label names.")),
            "post": operation("Label names (form body).", vec![], Some(form_body(&["match[]", "start", "end"])), success("Sorted label names.")),
        },
        "/api/v1/label/{name}/values": { "get": operation(
            "Values of one label.",
            { let mut p = query_params(); p.insert(0, param("name", "path", true, "Label name; __name__ for metric names.")); p },
            None,
            success("Sorted values."),
        ) },
        "/api/v1/anomalies": { "get": operation(
            "Anomalies overlapping [from, to], newest first.",
            vec![
                param("from", "query", false, "Unix seconds, RFC 3339 or now-1h; default: to - 24h."),
                param("to", "query", false, "Unix seconds, RFC 3339 or now; default: now."),
                param("match", "query", false, "Series selector."),
                param("limit", "query", false, "Default 1000."),
            ],
            None,
            success("Anomalies."),
        ) },
        "/api/v1/anomalies/{id}": { "get": operation("One anomaly with its feedback and the series' tolerance.", vec![id()], None, {
            let mut r = success("The anomaly."); r["404"] = json!({ "description": "No such anomaly." }); r
        }) },
        "/api/v1/anomalies/{id}/feedback": { "post": operation(
            "Label an anomaly; a false positive widens the series' tolerance.",
            vec![id()],
            Some(json!({ "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Feedback" } } } })),
            { let mut r = success("Stored; tolerance before and after."); r["404"] = json!({ "description": "No such anomaly." }); r },
        ) },
        "/api/v1/alerts": { "get": operation(
            "Live alerts (pending, firing, resolving) with the silences muting each; enabled: false without alerting.",
            vec![param("rule", "query", false, "Only this rule's alerts."), param("state", "query", false, "pending, firing or resolving.")],
            None,
            success("{enabled, alerts: [{fingerprint, rule, series, state, severity, labels, annotations, starts_ms, ends_ms, peak_score, evidence, silenced_by}]}."),
        ) },
        "/api/v1/alerts/rules": { "get": operation("Alert rules with their alert counts by state.", vec![], None, success("{enabled, rules}.")) },
        "/api/v1/alerts/rules/{name}": { "get": operation(
            "One alert rule: its anomalies of the last 24 h, its live alerts and its history.",
            vec![param("name", "path", true, "Rule name.")],
            None,
            { let mut r = success("{rule, anomalies, alerts, firing, history}."); r["404"] = json!({ "description": "No such rule." }); r },
        ) },
        "/api/v1/alerts/notifiers": { "get": operation(
            "Delivery status per notifier: pending, delivered and failed outbox rows, and the latest delivery errors (reason, message; never secrets).",
            vec![],
            None,
            success("{enabled, notifiers: [{name, pending, delivered, failed, oldest_pending_ms, last_delivered_ms, recent_errors}]}."),
        ) },
        "/api/v1/silences": {
            "get": operation("Silences and maintenance windows, with whether each is active now.", vec![], None, success("{enabled, silences}.")),
            "post": operation(
                "Create a silence (or, with every_ms, a recurring maintenance window) over alert labels.",
                vec![],
                Some(json!({ "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["matchers", "ends_ms", "author", "comment"], "properties": {
                    "matchers": { "type": "string", "description": "Prometheus selector over the alert's labels, e.g. {host=\"web-1\"}." },
                    "starts_ms": { "type": "integer", "description": "Default: now." },
                    "ends_ms": { "type": "integer" },
                    "every_ms": { "type": "integer", "description": "Repeat period of a maintenance window." },
                    "author": { "type": "string" },
                    "comment": { "type": "string" },
                } } } } })),
                { let mut r = success("The stored silence with its id."); r["503"] = json!({ "description": "Alerting is not enabled." }); r },
            ),
        },
        "/api/v1/silences/{id}/expire": { "post": operation(
            "Expire a silence now.",
            vec![param("id", "path", true, "Silence id.")],
            None,
            { let mut r = success("The expired silence."); r["404"] = json!({ "description": "No such silence." }); r },
        ) },
        "/api/v1/audit": { "get": operation(
            "The newest admin actions (silences created and expired, feedback), newest first; kept in memory (the lasting record is the lookout::audit log). Admin role when [auth] is enabled.",
            vec![],
            None,
            success("{entries: [{time_ms, token, action, object, detail}], capacity}."),
        ) },
        "/api/v1/session": {
            "post": operation(
                "Dashboard sign-in: exchanges an API token for a session cookie (lookout_session; HttpOnly, SameSite=Strict, Secure over TLS). Requests with the cookie other than GET and HEAD must send the returned csrf_token in X-CSRF-Token. 400 when [auth] is off.",
                vec![],
                Some(json!({ "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["token"], "properties": { "token": { "type": "string" } } } } } })),
                { let mut r = error_responses(); r["200"] = json!({ "description": "{name, role, csrf_token}, with Set-Cookie." }); r["401"] = json!({ "description": "Unknown token." }); r },
            ),
            "get": operation(
                "Who the session cookie belongs to: {auth, name, role, csrf_token}; {auth: false} when [auth] is off.",
                vec![],
                None,
                json!({ "200": { "description": "The session's token name and role." }, "401": { "description": "No valid session cookie." } }),
            ),
            "delete": operation(
                "Sign out: closes the session and clears the cookie (needs X-CSRF-Token).",
                vec![],
                None,
                { let mut r = error_responses(); r["200"] = json!({ "description": "{signed_out: true}." }); r["401"] = json!({ "description": "No valid session cookie." }); r["403"] = json!({ "description": "Missing or wrong X-CSRF-Token." }); r },
            ),
        },
        "/api/v1/machines": { "get": operation(
            "Every machine's usage state (idle, underused, normal, surge, sharp_drop) from its CPU series, since when, and a right-sizing hint once idle or underused for [usage] rightsize_after.",
            vec![],
            None,
            success("Machines: [{machine, series, state, since_ms, last_ms, cpu_percent, hint: null | {action, message, threshold_percent, low_since_ms, peak_percent}}]."),
        ) },
        "/metrics": { "get": operation("Prometheus exposition of lookout's health and every series' latest anomaly score.", vec![], None, json!({ "200": { "description": "Text format 0.0.4." } })) },
        "/healthz": { "get": operation("Liveness.", vec![], None, json!({ "200": { "description": "Alive." } })) },
        "/readyz": { "get": operation("Readiness.", vec![], None, json!({ "200": { "description": "Ready." }, "503": { "description": "Starting or stopping." } })) },
        "/api/openapi.json": { "get": operation("This document.", vec![], None, json!({ "200": { "description": "OpenAPI 3 document." } })) },
        "/api/v1/stream": { "get": operation(
            "Live feed for the dashboard (server-sent events): `ready`, then `update` events with the committed points ([t_ms, value, score, lower, upper, anomaly]) of the matching series and anomaly changes (opened, raised, closed), `events` events ({events: [...]}, as in GET /api/v1/events) when asked with `events`, and `lag` ({dropped}) when a slow client lost the oldest batches.",
            vec![
                param("match", "query", false, "Series selector; required unless `events` is given."),
                param("events", "query", false, "all, or a selector over the events' entity labels, domain, severity and __name__ (the kind): committed events."),
                param("points", "query", false, "false: anomaly changes only."),
                param("anomalies", "query", false, "all: anomaly changes of every series, not only the matching ones."),
            ],
            None,
            { let mut r = error_responses(); r["200"] = json!({ "description": "An event stream that lasts until the client or the server closes it.", "content": { "text/event-stream": { "schema": { "type": "string" } } } }); r },
        ) },
        "/api/v1/chart": { "get": operation(
            "Chart data of the matching series (values, not scores) as columns t, v, min, max, score, lower, upper, anomaly, downsampled by the store to max_points per series; plus their anomalies in the range.",
            vec![
                param("match", "query", true, "Series selector."),
                param("start", "query", false, "Default: end - 1h."),
                param("end", "query", false, "Default: now."),
                param("max_points", "query", false, "Points per series, 1..200000; default 1000."),
                param("limit", "query", false, "Series, 1..100; default 20."),
            ],
            None,
            success("{start_ms, end_ms, max_points, matched, series: [{id, key, name, labels, resolution, t, v, min, max, score, lower, upper, anomaly}], anomalies}."),
        ) },
        "/api/v1/overview": { "get": operation(
            "Machines (by host, instance or instance_id label) with status (anomalous, normal, no_data), series count, latest score, open anomalies, anomalies of the last 24 h, per domain group (cpu, memory_storage, network, logins, content, other).",
            vec![],
            None,
            success("{now_ms, totals, machines}."),
        ) },
        "/": { "get": operation("The web dashboard (overview page).", vec![], None, json!({ "200": { "description": "HTML." } })) },
        "/series": { "get": operation(
            "The web dashboard's series explorer.",
            vec![
                param("match", "query", false, "Series selector to show."),
                param("at", "query", false, "Unix ms: show the series around this moment."),
                param("range", "query", false, "15m, 1h, ..., 30d, or FROM..TO."),
            ],
            None,
            json!({ "200": { "description": "HTML." } }),
        ) },
        "/anomalies": { "get": operation("The web dashboard's anomaly list.", vec![], None, json!({ "200": { "description": "HTML." } })) },
        "/alerts": { "get": operation("The web dashboard's alerts and silences.", vec![], None, json!({ "200": { "description": "HTML." } })) },
        "/machines": { "get": operation("The web dashboard's machines and right-sizing hints.", vec![], None, json!({ "200": { "description": "HTML." } })) },
        "/events": { "get": operation("The web dashboard's events, with filters and the evidence of each.", vec![], None, json!({ "200": { "description": "HTML." } })) },
        "/security": { "get": operation(
            "The web dashboard's security page: login failures over time, top attacking addresses, users targeted, login incidents and injection attempts by kind and client.",
            vec![
                param("range", "query", false, "15m, 1h (default), 6h, 24h or 7d."),
                param("id", "query", false, "An event whose evidence to show."),
            ],
            None,
            json!({ "200": { "description": "HTML." } }),
        ) },
        "/assets/{file}": { "get": operation(
            "A file of the dashboard's bundle (content-hashed names, cached for a year).",
            vec![param("file", "path", true, "File name.")],
            None,
            json!({ "200": { "description": "The file." }, "404": { "description": "No such file." } }),
        ) },
    });
    if let (Some(all), Value::Object(query)) =
        (paths.as_object_mut(), query_paths(&instant, &range))
    {
        all.extend(query);
    }
    if let (Some(all), Value::Object(logs)) = (paths.as_object_mut(), logs_paths()) {
        all.extend(logs);
    }
    if let (Some(all), Value::Object(cluster)) =
        (paths.as_object_mut(), crate::cluster::openapi_paths())
    {
        all.extend(cluster);
    }
    // Outside the `paths` literal, which is at the macro's recursion limit.
    if let (Some(all), Value::Object(predict)) =
        (paths.as_object_mut(), crate::predict::openapi::paths())
    {
        all.extend(predict);
    }
    // These handlers read form parameters from the body whatever the method.
    for path in [
        "/api/v1/series",
        "/api/v1/labels",
        "/api/v1/query",
        "/api/v1/query_range",
        "/api/v1/query_exemplars",
    ] {
        for method in ["get", "post"] {
            let responses = &mut paths[path][method]["responses"];
            *responses = with_form_body_limits(responses.take());
        }
    }
    with_auth_responses(&mut paths);
    with_error_shape(&mut paths);
    json!({
        "openapi": "3.0.3",
        "info": { "title": "lookout", "version": env!("CARGO_PKG_VERSION"), "description": "Ingestion, Prometheus-compatible queries and anomalies." },
        "paths": paths,
        "components": { "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "description": "An API token ([auth]); also accepted as `Authorization: Token T`." },
            "basic": { "type": "http", "scheme": "basic", "description": "The API token as the password; the user name empty or the token's name." },
        }, "schemas": {
            "Error": { "type": "object", "properties": { "status": { "type": "string", "enum": ["error"] }, "errorType": { "type": "string" }, "error": { "type": "string" } } },
            "Success": { "type": "object", "properties": { "status": { "type": "string", "enum": ["success"] }, "data": {} } },
            "Sample": { "type": "object", "required": ["name", "value"], "properties": {
                "name": { "type": "string" }, "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                "timestamp": { "oneOf": [{ "type": "number" }, { "type": "string", "format": "date-time" }] }, "value": { "type": "number" } } },
            "Event": { "type": "object", "required": ["timestamp_ms", "kind", "domain", "severity"], "properties": {
                "timestamp_ms": { "type": "integer", "description": "Time of the finding, unix ms." },
                "kind": { "type": "string", "description": "snake_case, e.g. ssh_bruteforce." },
                "domain": { "type": "string", "enum": ["cpu", "memory", "network", "storage", "login", "content", "traffic", "log", "other"] },
                "severity": { "type": "string", "enum": ["info", "warning", "critical"] },
                "entity": { "type": "object", "additionalProperties": { "type": "string" }, "description": "What it is about: host, source_ip, route, ..." },
                "score": { "type": "number", "minimum": 0, "maximum": 1 },
                "summary": { "type": "string" },
                "evidence": { "type": "object", "properties": {
                    "fields": { "type": "object", "additionalProperties": { "type": "string" } },
                    "counts": { "type": "object", "additionalProperties": { "type": "integer" } },
                    "examples": { "type": "array", "items": { "type": "string" } },
                    "first_ms": { "type": "integer" }, "last_ms": { "type": "integer" } } } } },
            "ConnectionRecord": connection_record_schema(),
            "MetricObservation": crate::predict::openapi::metric_observation_schema(),
            "LoginObservation": crate::predict::openapi::login_observation_schema(),
            "ContentObservation": crate::predict::openapi::content_observation_schema(),
            "Prediction": crate::predict::openapi::prediction_schema(),
            "Feedback": { "type": "object", "required": ["label"], "properties": {
                "label": { "type": "string", "enum": ["false_positive", "expected", "incident", "confirmed"] }, "note": { "type": "string" } } },
        } },
    })
}

/// The 41 NSL-KDD features: three strings, the rest numbers ≥ 0; all required.
fn connection_record_schema() -> Value {
    let mut properties = serde_json::Map::new();
    for name in lookout_traffic_model::FEATURE_NAMES {
        let schema = match name {
            "protocol_type" | "service" | "flag" => json!({ "type": "string", "minLength": 1 }),
            _ => json!({ "type": "number", "minimum": 0 }),
        };
        properties.insert(name.to_string(), schema);
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": lookout_traffic_model::FEATURE_NAMES.to_vec(),
        "properties": properties,
    })
}

/// What `[auth]` adds to every operation that needs a role ([`crate::auth::required_role`]):
/// its security schemes, the 401 of a missing or unknown token and the 403 of a role that
/// is not enough (the public routes, health and the dashboard's pages, are left as they
/// are).
fn with_auth_responses(paths: &mut Value) {
    let Some(paths) = paths.as_object_mut() else {
        return;
    };
    let error =
        json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            let Ok(method) = axum::http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            else {
                continue;
            };
            let Some(role) = crate::auth::required_role(&method, path) else {
                continue;
            };
            operation["security"] = json!([{ "bearer": [] }, { "basic": [] }]);
            let responses = &mut operation["responses"];
            if responses.get("401").is_none() {
                responses["401"] = json!({ "description": "[auth] enabled: no token, or an unknown one (with WWW-Authenticate).", "content": error });
            }
            if responses.get("403").is_none() {
                responses["403"] = json!({ "description": format!("[auth] enabled: the token's role is not enough (needs {}).", role.as_str()), "content": error });
            }
        }
    }
}

/// Every error answer but the probes' is in the JSON error shape
/// ([`crate::error_shape`] rewrites those that are not): declared on every 4xx and 5xx
/// response that names no content, so that a client (and a conformance check) knows the
/// body.
fn with_error_shape(paths: &mut Value) {
    let Some(paths) = paths.as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if crate::error_shape::PROBE_PATHS.contains(&path.as_str()) {
            continue;
        }
        let operations = item
            .as_object_mut()
            .into_iter()
            .flat_map(|item| item.values_mut());
        for operation in operations {
            let Some(responses) = operation["responses"].as_object_mut() else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                if (status.starts_with('4') || status.starts_with('5'))
                    && response.get("content").is_none()
                {
                    response["content"] = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } });
                }
            }
        }
    }
}

/// Every operation of the document as (METHOD, path).
pub fn operations(document: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for method in item
                .as_object()
                .into_iter()
                .flat_map(|methods| methods.keys())
            {
                out.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out.sort();
    out
}

pub async fn document_route() -> Json<Value> {
    Json(document())
}

/// The PromQL query routes and the probes Grafana makes.
/// The Logs page and the route only it uses, and the Network page (which reads the
/// query and events routes).
fn logs_paths() -> Value {
    json!({
        "/api/v1/logs/patterns": { "get": operation(
            "A log source's patterns (log_pattern_lines_per_second) with the lines each had in the range (rates times the source's interval gaps, from raw samples) and when each was first seen.",
            vec![
                param("log", "query", true, "The source, as its log label: log#0."),
                param("start", "query", false, "Default: end - 1h (never before the raw samples' retention)."),
                param("end", "query", false, "Default: now."),
            ],
            None,
            success("{start_ms, end_ms, total_lines, other_lines, patterns: [{pattern, template, program, series, lines, first_seen_ms, last_seen_ms}]}."),
        ) },
        "/logs": { "get": operation(
            "The web dashboard's Logs page: per source and virtual host, request rate by status class, latency quantiles with their expected bands and anomalies, top routes and clients now against the last hour's median, log patterns with counts and first-seen times, recent log events with evidence.",
            vec![
                param("log", "query", false, "The source (log label)."),
                param("vhost", "query", false, "The virtual host (access logs)."),
                param("range", "query", false, "15m, 1h (default), 6h, 24h or 7d."),
                param("id", "query", false, "An event whose evidence to show."),
            ],
            None,
            json!({ "200": { "description": "HTML." } }),
        ) },
        "/network": { "get": operation(
            "The web dashboard's Network page: per capture point, packets per second by protocol and by TCP flag with their expected bands and anomalies, top sources and destinations now against the last hour's median, the attack timeline (flood, scan and connection events) and each attack's evidence.",
            vec![
                param("point", "query", false, "The capture point: interface=<name> (live) or capture=<file> (lookout pcap)."),
                param("range", "query", false, "15m, 1h (default), 6h, 24h or 7d."),
                param("id", "query", false, "An event whose evidence to show."),
            ],
            None,
            json!({ "200": { "description": "HTML." } }),
        ) },
    })
}

fn query_paths(instant: &dyn Fn() -> Vec<Value>, range: &dyn Fn() -> Vec<Value>) -> Value {
    json!({
        "/api/v1/query": {
            "get": operation("Instant PromQL query (Prometheus semantics: lookback, staleness, offset, @, operators, aggregations, functions, subqueries; lookout_anomaly_score is a series). 400: parse error or unsupported construct, naming it and its position; 422: evaluation error or sample budget exceeded; 503: timeout.", instant(), None, query_responses("A vector, scalar, string or matrix.")),
            "post": operation("Instant PromQL query (form body).", vec![], Some(form_body(&["query", "time"])), query_responses("A vector, scalar, string or matrix.")),
        },
        "/api/v1/query_range": {
            "get": operation("Range PromQL query, evaluated at start, start + step, ... end (at most 11,000 steps). Errors as /api/v1/query.", range(), None, query_responses("A matrix.")),
            "post": operation("Range PromQL query (form body).", vec![], Some(form_body(&["query", "start", "end", "step"])), query_responses("A matrix.")),
        },
        "/api/v1/query_exemplars": {
            "get": operation("Exemplars: the query is checked, the answer is always empty (lookout stores no exemplars).", vec![param("query", "query", true, "PromQL."), param("start", "query", false, "Unix seconds or RFC 3339."), param("end", "query", false, "Unix seconds or RFC 3339.")], None, success("An empty list.")),
            "post": operation("Exemplars (form body).", vec![], Some(form_body(&["query", "start", "end"])), success("An empty list.")),
        },
        "/api/v1/metadata": { "get": operation(
            "Metric metadata: every metric name with type unknown (lookout keeps no metadata).",
            vec![param("metric", "query", false, "Only this metric."), param("limit", "query", false, "Most metrics returned.")],
            None,
            success("{name: [{type, help, unit}]}."),
        ) },
        "/api/v1/status/buildinfo": { "get": operation("Version information.", vec![], None, success("Build information.")) },
        "/api/v1/status/flags": { "get": operation("Query flags: lookback delta, sample budget, timeout.", vec![], None, success("Flag values.")) },
        "/api/v1/status/config": { "get": operation("Prometheus configuration: empty (lookout is configured by its TOML file).", vec![], None, success("{yaml: \"\"}.")) },
        "/api/v1/status/runtimeinfo": { "get": operation("Runtime information: raw retention and series count.", vec![], None, success("{storageRetention, timeSeriesCount}.")) },
    })
}
