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

/// Opens a connection and sends the headers of a `Content-Length: 1000000` POST and
/// `sent` bytes of its body, then holds it open (dropping the stream cancels it).
async fn partial_body(server: &TestServer, sent: usize) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/samples HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Polls `probe` (a 40,000-byte body) until its status satisfies `done`, for at most a
/// generous minute.
async fn poll_status(server: &TestServer, done: impl Fn(u16) -> bool) -> reqwest::Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let response = server.post("/api/v1/samples", vec![b' '; 40_000]).await;
        if done(response.status().as_u16()) || std::time::Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflight_body_budget_refuses_and_is_given_back_on_cancel() {
    let options = ServerOptions {
        max_body_bytes: 1 << 20,
        max_inflight_body_bytes: 100_000,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    // Two connections hold 40,000 bytes each of bodies that never finish.
    let first = partial_body(&server, 40_000).await;
    let second = partial_body(&server, 40_000).await;
    // Once both are buffered, a third 40,000-byte body does not fit: 503 naming it.
    let response = poll_status(&server, |status| status == 503).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("max_inflight_body_bytes"), "{error}");
    let metrics = server.metrics().await;
    assert!(metrics.contains("inflight_body_budget"), "{metrics}");

    // Cancelled requests give their bytes back: the same body is read again (and
    // refused as JSON, not for the budget).
    drop(first);
    drop(second);
    let response = poll_status(&server, |status| status != 503).await;
    assert_eq!(response.status(), 400, "{}", response.text().await.unwrap());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_sample_budget_is_shared_across_queries() {
    let options = ServerOptions {
        max_query_samples_total: 10,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    load_series(&server, 20).await;
    // 20 samples do not fit the 10 the queries in flight may share: 503, Retry-After.
    let at = now_ms() as f64 / 1000.0;
    let response = server
        .client
        .get(server.url(&format!("/api/v1/query?query=m&time={at}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("max_query_samples_total"), "{error}");
    // A query within the shared budget is answered.
    let response = server
        .client
        .get(server.url(&format!("/api/v1/query?query=m{{i=\"3\"}}&time={at}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await;
}
