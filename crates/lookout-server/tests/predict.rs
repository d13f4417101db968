//! The per-domain predict routes over a real engine: a live series' model answers, the
//! model and the store are left as they were, an unknown series gets the domain
//! default, and bad bodies are 400s naming the field.

mod common;

use common::{now_ms, TestServer};
use serde_json::{json, Value};

async fn predict(server: &TestServer, domain: &str, body: Value) -> (u16, Value) {
    let response = server
        .client
        .post(server.url(&format!("/api/v1/predict/{domain}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_domains_use_the_live_model_read_only_or_the_domain_default() {
    let server = TestServer::start().await;
    let start = now_ms() - 400 * 1000;
    let samples: Vec<Value> = (0..400)
        .map(|i| json!({ "name": "host_cpu_utilization_percent", "labels": { "host": "web-1" }, "timestamp": start + i * 1000, "value": 20.0 + (i % 5) as f64 }))
        .collect();
    for chunk in samples.chunks(100) {
        let response = server
            .post("/api/v1/samples", serde_json::to_vec(chunk).unwrap())
            .await;
        assert_eq!(response.status(), 200);
    }
    let series = json!({ "name": "host_cpu_utilization_percent", "labels": { "host": "web-1" } });
    let count = |server: &TestServer| {
        let url =
            server.url("/api/v1/query?query=count_over_time(host_cpu_utilization_percent[1h])");
        let client = server.client.clone();
        async move {
            let answer: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            answer["data"]["result"][0]["value"][1]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let stored_before = count(&server).await;
    let (status, spike) = predict(&server, "cpu", json!({ "value": 95, "series": series })).await;
    assert_eq!(status, 200, "{spike}");
    assert_eq!(spike["explanation"]["model"], "live", "{spike}");
    assert_eq!(spike["anomaly"], true, "{spike}");
    assert_eq!(spike["kind"], "above_expected", "{spike}");
    let (_, usual) = predict(&server, "cpu", json!({ "value": 22, "series": series })).await;
    assert_eq!(usual["anomaly"], false, "{usual}");
    // Asking again gives the same answer: the first question taught the model nothing.
    let (_, again) = predict(&server, "cpu", json!({ "value": 95, "series": series })).await;
    assert_eq!(again["score"], spike["score"]);
    assert_eq!(count(&server).await, stored_before, "nothing was stored");

    let (_, unknown) = predict(
        &server,
        "memory",
        json!({ "value": 99, "series": { "name": "node_memory_used_percent", "labels": { "host": "db-9" } } }),
    )
    .await;
    assert_eq!(
        unknown["explanation"]["model"], "domain_default",
        "{unknown}"
    );
    assert!(unknown["explanation"]["text"]
        .as_str()
        .unwrap()
        .contains("is unknown to this server"));
    assert!(
        server
            .get_json("/api/v1/series?match[]=node_memory_used_percent")
            .await["data"]
            .as_array()
            .unwrap()
            .is_empty(),
        "an unknown series is not created"
    );
    let (_, network) = predict(&server, "network", json!({ "value": 2e9 })).await;
    assert_eq!(
        network["explanation"]["model"], "domain_default",
        "{network}"
    );
    assert_eq!(network["anomaly"], true, "{network}");

    let (status, bad) = predict(&server, "storage", json!({ "value": "full" })).await;
    assert_eq!(status, 400);
    assert!(
        bad["error"].as_str().unwrap().contains("field \"value\""),
        "{bad}"
    );
    let response = server.post("/api/v1/predict/cpu", "{not json").await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("not valid JSON"));
    let huge = vec![b' '; lookout_server::predict::MAX_BODY_BYTES + 10];
    assert_eq!(
        server.post("/api/v1/predict/content", huge).await.status(),
        413
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_content_answer_with_the_rule_and_the_evidence() {
    let server = TestServer::start().await;
    let (status, burst) = predict(
        &server,
        "login",
        json!({ "failures": 6, "distinct_users": 2, "window": "60s" }),
    )
    .await;
    assert_eq!(status, 200, "{burst}");
    assert_eq!(burst["anomaly"], true);
    assert!(burst["explanation"]["text"]
        .as_str()
        .unwrap()
        .contains("ssh_bruteforce"));
    let (_, one) = predict(
        &server,
        "login",
        json!({ "ip": "203.0.113.7", "user": "root", "result": "failure" }),
    )
    .await;
    assert_eq!(one["anomaly"], false);
    let (status, bad) = predict(&server, "login", json!({ "ip": "x", "result": "failure" })).await;
    assert_eq!(status, 400);
    assert!(bad["error"].as_str().unwrap().contains("field \"ip\""));
    let (_, attack) = predict(
        &server,
        "content",
        json!({ "request": "GET /files?name=..%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: shop\r\n\r\n" }),
    )
    .await;
    assert_eq!(attack["anomaly"], true, "{attack}");
    assert_eq!(attack["kind"], "traversal", "{attack}");
    assert!(
        attack["explanation"]["evidence"]
            .as_str()
            .unwrap()
            .contains("../"),
        "{attack}"
    );
    let (status, bad) = predict(&server, "content", json!({ "txt": "a" })).await;
    assert_eq!(status, 400);
    assert!(bad["error"].as_str().unwrap().contains("\"txt\""));
    server.stop().await;
}

/// A window summary with `"failures": null` once reached an `expect` in the handler: the
/// panic dropped the connection without an answer. It is a 400 naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_window_with_null_failures_is_a_400_not_a_dropped_connection() {
    let server = TestServer::start().await;
    let (status, answer) = predict(
        &server,
        "login",
        json!({ "failures": null, "distinct_users": 0, "successes": 0, "window": "60s" }),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("\"failures\""),
        "{answer}"
    );
}

/// The server takes `"series": null` (and a null `timestamp`) as not given and answers
/// from the domain default; the document once declared `series` a non-null object, so a
/// conforming client was told this body is invalid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_observation_with_null_series_is_accepted_and_documented_as_nullable() {
    let server = TestServer::start().await;
    let (status, answer) = predict(
        &server,
        "cpu",
        json!({ "value": 1.0, "series": null, "timestamp": null }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["explanation"]["model"], "domain_default", "{answer}");
    let document = server.get_json("/api/openapi.json").await;
    let properties = &document["components"]["schemas"]["MetricObservation"]["properties"];
    assert_eq!(properties["series"]["nullable"], true, "{properties}");
    assert_eq!(properties["timestamp"]["nullable"], true, "{properties}");
}
