//! Resource limits (#16): `match[]` caps and the series-visited budget, the global
//! query sample budget, the global in-flight body budget.

mod common;

use common::{now_ms, TestServer};
use lookout_server::ServerOptions;
use serde_json::Value;

/// Stores `count` series `m{i="..."}` with one sample each.
async fn load_series(server: &TestServer, count: usize) {
    let now = now_ms();
    let samples: Vec<String> = (0..count)
        .map(|i| format!(r#"{{"name":"m","labels":{{"i":"{i}"}},"timestamp":{now},"value":1}}"#))
        .collect();
    let response = server
        .post("/api/v1/samples", format!("[{}]", samples.join(",")))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn post_form(server: &TestServer, path: &str, form: String) -> (u16, Value) {
    let response = server
        .client
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_selectors_are_capped_and_budgeted() {
    let options = ServerOptions {
        max_matchers: 5,
        max_series_visited: 50,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    load_series(&server, 20).await;

    // Within both limits: answered.
    let (status, body) = post_form(&server, "/api/v1/series", "match[]=m".into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 20);

    // More selectors than max_matchers: 400 naming the limit, on every metadata route.
    let many = (0..6)
        .map(|i| format!("match[]=m{{i=\"{i}\"}}"))
        .collect::<Vec<_>>();
    for path in ["/api/v1/series", "/api/v1/labels"] {
        let (status, body) = post_form(&server, path, many.join("&")).await;
        assert_eq!(status, 400, "{path}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("max_matchers = 5"), "{path}: {error}");
    }
    let response = server
        .client
        .get(server.url(&format!("/api/v1/label/i/values?{}", many.join("&"))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Within max_matchers but visiting 3 × 20 series > 50: 422 naming the budget.
    let three = "match[]=m&match[]=m{i=\"1\"}&match[]=m{i!=\"2\"}".to_string();
    let (status, body) = post_form(&server, "/api/v1/series", three).await;
    assert_eq!(status, 422, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("max_series_visited"), "{error}");

    // The server still answers after the refusals.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    server.stop().await;
}
