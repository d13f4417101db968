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
