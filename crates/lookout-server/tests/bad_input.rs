//! Bad input: each case gets a 4xx naming the problem, is counted by reason in
//! `/metrics`, stores nothing of its request, and leaves earlier data alone.

mod common;

use std::sync::Arc;

use common::{counter, now_ms, TestServer};
use lookout_model::{Sample, SeriesId, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;
use lookout_server::scorer::Point;
use lookout_server::{ScoreCallback, Scorer, ScorerError, ScorerStats, ServerOptions};

struct Case {
    path: &'static str,
    body: Vec<u8>,
    status: u16,
    reason: &'static str,
    message: &'static str,
}

fn json_body(samples: &str) -> Vec<u8> {
    samples.as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_is_refused_named_and_counted() {
    let options = ServerOptions {
        max_body_bytes: 4096,
        max_series: 3,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    let now = now_ms();
    let good = format!(r#"[{{"name":"kept","labels":{{"a":"1"}},"timestamp":{now},"value":1}}]"#);
    let response = server
        .client
        .post(server.url("/api/v1/samples"))
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let nan = encode_write_request(&[Sample {
        key: SeriesKey::new("m"),
        timestamp_ms: now,
        value: f64::NAN,
    }]);
    let cases = [
        Case {
            path: "/api/v1/write",
            body: b"definitely not snappy".to_vec(),
            status: 400,
            reason: "malformed_snappy",
            message: "snappy",
        },
        Case {
            path: "/api/v1/write",
            body: snap::raw::Encoder::new()
                .compress_vec(&[0x0a, 0xff, 0xff, 0xff])
                .unwrap(),
            status: 400,
            reason: "malformed_protobuf",
            message: "protobuf",
        },
        Case {
            path: "/api/v2/write",
            body: b"cpu,host=a usage=\n".to_vec(),
            status: 400,
            reason: "malformed_line",
            message: "line 1",
        },
        Case {
            path: "/api/v1/samples",
            body: b"[{".to_vec(),
            status: 400,
            reason: "malformed_json",
            message: "invalid JSON",
        },
        Case {
            path: "/api/v1/write",
            body: nan,
            status: 400,
            reason: "non_finite_value",
            message: "not a finite number",
        },
        Case {
            path: "/api/v1/samples",
            body: json_body(&format!(
                r#"[{{"name":"m","timestamp":{},"value":1}}]"#,
                now + 86_400_000
            )),
            status: 400,
            reason: "timestamp_out_of_range",
            message: "beyond the future limit",
        },
        Case {
            // A valid sample beside an invalid one: the request is refused whole.
            path: "/api/v1/samples",
            body: json_body(&format!(
                r#"[{{"name":"partial","timestamp":{now},"value":1}},{{"name":"m","labels":{{"bad-label":"x"}},"timestamp":{now},"value":1}}]"#
            )),
            status: 400,
            reason: "invalid_label_name",
            message: "\\\"bad-label\\\"",
        },
        Case {
            path: "/api/v1/samples",
            body: vec![b' '; 5000],
            status: 413,
            reason: "body_too_large",
            message: "over the limit of 4096 bytes",
        },
        Case {
            path: "/api/v1/samples",
            body: json_body(&format!(
                r#"[{{"name":"s1","timestamp":{now},"value":1}},{{"name":"s2","timestamp":{now},"value":1}},{{"name":"s3","timestamp":{now},"value":1}}]"#
            )),
            status: 400,
            reason: "series_limit",
            message: "over the limit of 3",
        },
    ];
    for case in &cases {
        let response = server
            .client
            .post(server.url(case.path))
            .body(case.body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, case.status, "{}: {text}", case.reason);
        assert!(text.contains(case.reason), "{}: {text}", case.reason);
        assert!(text.contains(case.message), "{}: {text}", case.reason);
    }
    let metrics = server.metrics().await;
    for case in &cases {
        let line = format!(
            "lookout_ingest_rejected_requests_total{{reason=\"{}\"}}",
            case.reason
        );
        assert_eq!(counter(&metrics, &line), 1.0, "{line}");
    }
    let partial = server.get_json("/api/v1/series?match[]=partial").await;
    assert_eq!(
        partial["data"],
        serde_json::json!([]),
        "nothing of a refused request is stored"
    );
    let kept = server
        .get_json(&format!(
            "/api/v1/query?query=kept&time={}",
            now as f64 / 1000.0
        ))
        .await;
    assert_eq!(
        kept["data"]["result"][0]["value"][1], "1",
        "earlier data is untouched"
    );
    server.stop().await;
}

/// An engine whose queues are always full.
struct Saturated;

impl Scorer for Saturated {
    fn submit(&self, _points: Vec<Point>, _on_done: ScoreCallback) -> Result<(), ScorerError> {
        Err(ScorerError::Overloaded("every worker queue is full".into()))
    }
    fn false_positive(&self, _series: SeriesId) -> Result<(), ScorerError> {
        Ok(())
    }
    fn tolerance(&self, _series: SeriesId) -> Result<Option<f64>, ScorerError> {
        Ok(None)
    }
    fn stats(&self) -> Result<ScorerStats, ScorerError> {
        Ok(ScorerStats::default())
    }
    fn shutdown(&self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_answers_429_with_retry_after() {
    let server = TestServer::start_with(ServerOptions::default(), Arc::new(Saturated)).await;
    let body = format!(r#"[{{"name":"m","timestamp":{},"value":1}}]"#, now_ms());
    let response = server
        .client
        .post(server.url("/api/v1/samples"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.text().await.unwrap().contains("engine_overloaded"));
    let metrics = server.metrics().await;
    assert_eq!(
        counter(
            &metrics,
            "lookout_ingest_rejected_samples_total{reason=\"engine_overloaded\"}"
        ),
        1.0
    );
    let series = server.get_json("/api/v1/query?query=m").await;
    assert_eq!(series["data"]["result"], serde_json::json!([]));
    server.stop().await;
}

/// Regression: answers that never reached a handler (an unknown path, a wrong method,
/// a body over a route's limit) were plain text or empty, not the JSON error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_outside_the_handlers_are_json_too() {
    let server = TestServer::start_with(ServerOptions::default(), common::engine()).await;
    let too_big = vec![b'x'; lookout_server::predict::MAX_BODY_BYTES + 1];
    let requests = [
        (
            server.client.get(server.url("/api/v1/no_such_route")),
            404,
            "not_found",
        ),
        (
            server.client.delete(server.url("/api/v1/query")),
            405,
            "bad_data",
        ),
        (
            server
                .client
                .post(server.url("/api/v1/predict/network"))
                .header("content-type", "application/json")
                .body(too_big),
            413,
            "bad_data",
        ),
    ];
    for (request, status, error_type) in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["errorType"], error_type);
        assert!(!body["error"].as_str().unwrap().is_empty(), "{body}");
    }
}
