//! Anomalies from verdicts, feedback that widens tolerance, and the OpenAPI document
//! against the real routes.

mod common;

use common::{now_ms, TestServer};
use serde_json::{json, Value};

/// A steady noisy signal, a burst of huge values, then steady again.
fn signal_with_spike(start_ms: i64) -> Vec<Value> {
    let mut state: u64 = 42;
    let mut noise = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    (0..460)
        .map(|i| {
            let value = if (400..405).contains(&i) { 500.0 } else { 10.0 + noise() };
            json!({ "name": "requests_per_second", "labels": { "route": "/login" }, "timestamp": start_ms + i * 1000, "value": value })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spikes_become_anomalies_and_false_positive_feedback_widens_tolerance() {
    let server = TestServer::start().await;
    let start = now_ms() - 600_000;
    for chunk in signal_with_spike(start).chunks(100) {
        let response = server
            .client
            .post(server.url("/api/v1/samples"))
            .json(&chunk)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    let list = server
        .get_json("/api/v1/anomalies?match=requests_per_second")
        .await;
    let anomalies = list["data"].as_array().unwrap();
    assert!(!anomalies.is_empty(), "the spike is an anomaly: {list}");
    let anomaly = &anomalies[0];
    assert_eq!(anomaly["name"], "requests_per_second");
    assert_eq!(anomaly["labels"]["route"], "/login");
    assert!(
        anomaly["start_ms"].as_i64().unwrap() >= start + 400_000,
        "{anomaly}"
    );
    assert!(anomaly["peak_score"].as_f64().unwrap() > 0.5, "{anomaly}");
    assert_eq!(anomaly["domain"], "traffic");
    assert!(["info", "warning", "critical"].contains(&anomaly["severity"].as_str().unwrap()));
    assert!(
        anomaly["end_ms"].is_i64(),
        "closed once the signal is steady again: {anomaly}"
    );
    let newest_first: Vec<i64> = anomalies
        .iter()
        .map(|a| a["start_ms"].as_i64().unwrap())
        .collect();
    assert!(
        newest_first.windows(2).all(|w| w[0] >= w[1]),
        "{newest_first:?}"
    );

    let id = anomaly["id"].as_i64().unwrap();
    let response = server
        .client
        .post(server.url(&format!("/api/v1/anomalies/{id}/feedback")))
        .json(&json!({ "label": "false_positive", "note": "load test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let before = answer["data"]["tolerance_before"].as_f64().unwrap();
    let after = answer["data"]["tolerance"].as_f64().unwrap();
    assert!(
        after > before,
        "a false positive widens the tolerance: {before} -> {after}"
    );
    let detail = server.get_json(&format!("/api/v1/anomalies/{id}")).await;
    assert_eq!(detail["data"]["anomaly"]["status"], "false_positive");
    assert_eq!(detail["data"]["feedback"][0]["note"], "load test");
    assert_eq!(detail["data"]["tolerance"].as_f64().unwrap(), after);

    let bad = server
        .client
        .post(server.url(&format!("/api/v1/anomalies/{id}/feedback")))
        .json(&json!({ "label": "meh" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("feedback label \\\"meh\\\""));
    let missing = server
        .client
        .post(server.url("/api/v1/anomalies/999999/feedback"))
        .json(&json!({ "label": "expected" }))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_routes() {
    let server = TestServer::start().await;
    let document = server.get_json("/api/openapi.json").await;
    assert_eq!(document["openapi"], "3.0.3");
    let documented = lookout_server::openapi::operations(&document);
    let mut routed: Vec<(String, String)> = lookout_server::route_table()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    routed.sort();
    assert_eq!(
        documented, routed,
        "every route is documented and every documented operation is routed"
    );
    // The table is what the router serves: every operation reaches a handler (a 404 or
    // 405 from routing itself has no JSON error body).
    for (method, path) in &documented {
        let concrete = path.replace("{name}", "job").replace("{id}", "1");
        let request = match method.as_str() {
            "GET" => server.client.get(server.url(&concrete)),
            "POST" => server.client.post(server.url(&concrete)),
            "DELETE" => server.client.delete(server.url(&concrete)),
            other => panic!("unexpected method {other}"),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}");
        if status == 404 {
            assert!(
                body.contains("\"errorType\":\"not_found\""),
                "{method} {path} is not routed: {body}"
            );
        }
    }
    // Every predict route answers a Prediction, and every schema it names exists.
    let schemas = &document["components"]["schemas"];
    for (method, path) in documented
        .iter()
        .filter(|(_, p)| p.starts_with("/api/v1/predict/"))
    {
        let operation = &document["paths"][path][method.to_ascii_lowercase()];
        assert_eq!(
            operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Prediction",
            "{path}"
        );
        let text = operation["requestBody"].to_string();
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            assert!(
                schemas[&name].is_object(),
                "{path} names a missing schema {name}"
            );
        }
    }
    let unknown = server
        .client
        .get(server.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    server.stop().await;
}

/// An empty Influx body is a 204 storing nothing (clients flush empty batches); the
/// document once marked the body required, declaring that request invalid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_line_protocol_is_a_204_and_documented_as_an_optional_body() {
    let server = TestServer::start().await;
    let document = server.get_json("/api/openapi.json").await;
    for path in ["/api/v2/write", "/write"] {
        let response = server.post(path, Vec::new()).await;
        assert_eq!(response.status(), 204, "{path}");
        assert_eq!(
            document["paths"][path]["post"]["requestBody"]["required"], false,
            "{path}"
        );
    }
}

/// The query routes read form parameters from the body (GET as POST) within 2 MiB: over
/// it they answer 413, which the document once left out of every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_routes_document_the_413_of_a_form_body_over_the_limit() {
    let server = TestServer::start().await;
    let document = server.get_json("/api/openapi.json").await;
    let body = "a".repeat(lookout_server::ingest::routes::MAX_QUERY_BODY_BYTES + 1);
    for path in [
        "/api/v1/series",
        "/api/v1/labels",
        "/api/v1/query",
        "/api/v1/query_range",
        "/api/v1/query_exemplars",
    ] {
        for method in ["get", "post"] {
            let request = match method {
                "get" => server.client.get(server.url(path)),
                _ => server.client.post(server.url(path)),
            };
            let response = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 413, "{method} {path}");
            let responses = &document["paths"][path][method]["responses"];
            assert!(responses["413"].is_object(), "{method} {path}: {responses}");
            assert!(responses["503"].is_object(), "{method} {path}: {responses}");
        }
    }
}

/// With `[auth]` on, every route that needs a role answers 401 without a token and 403
/// with a role that is not enough; the document once declared neither anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_that_needs_a_role_documents_its_401_and_403() {
    let server = TestServer::start().await;
    let document = server.get_json("/api/openapi.json").await;
    for (method, path) in lookout_server::route_table() {
        let method_name = method.to_ascii_lowercase();
        let operation = &document["paths"][path][method_name.as_str()];
        let needs_role = lookout_server::auth::required_role(
            &axum::http::Method::from_bytes(method.as_bytes()).unwrap(),
            path,
        )
        .is_some();
        for status in ["401", "403"] {
            assert!(
                !needs_role || operation["responses"][status].is_object(),
                "{method} {path} needs a role but does not document {status}"
            );
        }
        assert_eq!(
            operation["security"].is_array(),
            needs_role,
            "{method} {path}"
        );
    }
}

/// Error answers are all in the JSON error shape (probes aside), but the document named
/// no body for most of them (404s, ingestion's 413/415/429/503): it declares it on every
/// 4xx and 5xx now, and an answer such as a missing asset's 404 is that shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_documented_in_the_json_error_shape() {
    let server = TestServer::start().await;
    let document = server.get_json("/api/openapi.json").await;
    for (method, path) in lookout_server::openapi::operations(&document) {
        if path == "/healthz" || path == "/readyz" {
            continue;
        }
        let responses =
            &document["paths"][&path][method.to_ascii_lowercase().as_str()]["responses"];
        for (status, response) in responses.as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let response = server
        .client
        .get(server.url("/assets/no-such-file.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "error", "{body}");
}
