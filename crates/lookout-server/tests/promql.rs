//! PromQL through the HTTP API of an in-process server: functions, aggregations and
//! joins over ingested series and their anomaly scores, the budget and the probes.

mod common;

use std::time::Duration;

use common::{now_ms, TestServer};
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;
use lookout_server::ServerOptions;
use serde_json::Value;

/// Two hosts' CPU counters (1 and 2 per second) every 10 s for 10 minutes, ending at
/// `end_ms` (a multiple of 10 s).
async fn load(server: &TestServer, end_ms: i64) {
    let mut samples = Vec::new();
    for (host, per_second) in [("a", 1.0), ("b", 2.0)] {
        let key = SeriesKey::new("cpu_seconds_total")
            .with_label("host", host)
            .with_label("domain", "cpu");
        for i in 0..=60 {
            let t = end_ms - 600_000 + i * 10_000;
            samples.push(Sample {
                key: key.clone(),
                timestamp_ms: t,
                value: per_second * (i * 10) as f64,
            });
        }
    }
    let response = server
        .post("/api/v1/write", encode_write_request(&samples))
        .await;
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
}

fn query(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn value(element: &Value) -> f64 {
    element["value"][1].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_aggregations_and_scores_answer_like_prometheus() {
    let server = TestServer::start().await;
    let end = now_ms() / 10_000 * 10_000 - 10_000;
    load(&server, end).await;
    let at = end as f64 / 1000.0;

    // rate over [1m] at the last sample: 7 samples 10 s apart, edges 0 s away: exact.
    let answer = server
        .get_json(&format!(
            "/api/v1/query?query={}&time={at}",
            query("sum by (host) (rate(cpu_seconds_total[1m]))")
        ))
        .await;
    assert_eq!(answer["data"]["resultType"], "vector");
    let mut result = answer["data"]["result"].as_array().unwrap().clone();
    result.sort_by_key(|e| e["metric"]["host"].as_str().unwrap().to_string());
    assert_eq!(result.len(), 2);
    assert_eq!(result[0]["metric"], serde_json::json!({ "host": "a" }));
    assert!((value(&result[0]) - 1.0).abs() < 1e-9, "{result:?}");
    assert!((value(&result[1]) - 2.0).abs() < 1e-9);

    // Scalar arithmetic and the scalar result type.
    let answer = server
        .get_json(&format!("/api/v1/query?query={}&time={at}", query("1 + 1")))
        .await;
    assert_eq!(answer["data"]["resultType"], "scalar");
    assert_eq!(answer["data"]["result"][1], "2");

    // Anomaly scores are a series: aggregate them, compare them, join them with values.
    let answer = server
        .get_json(&format!(
            "/api/v1/query?query={}&time={at}",
            query("max by (host) (lookout_anomaly_score{domain=\"cpu\"}) >= 0")
        ))
        .await;
    assert_eq!(
        answer["data"]["result"].as_array().unwrap().len(),
        2,
        "{answer}"
    );
    let answer = server
        .get_json(&format!(
            "/api/v1/query?query={}&time={at}",
            query("cpu_seconds_total and on (host) (lookout_anomaly_score{lookout_metric=\"cpu_seconds_total\"} <= 1)")
        ))
        .await;
    assert_eq!(
        answer["data"]["result"].as_array().unwrap().len(),
        2,
        "{answer}"
    );

    // A range query at a 30 s step never shows a sample from after the step's time:
    // at end - 25 s the newest sample is at end - 30 s.
    let start = (end - 85_000) as f64 / 1000.0;
    let answer = server
        .get_json(&format!(
            "/api/v1/query_range?query={}&start={start}&end={}&step=30",
            query("cpu_seconds_total{host=\"a\"}"),
            (end - 25_000) as f64 / 1000.0
        ))
        .await;
    let values = answer["data"]["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    for point in values {
        let t = point[0].as_f64().unwrap();
        let v: f64 = point[1].as_str().unwrap().parse().unwrap();
        let newest_sample_s = ((t * 1000.0) as i64 - (end - 600_000)) / 10_000 * 10;
        assert_eq!(v, newest_sample_s as f64, "value at {t}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_problem_with_the_right_status() {
    let options = ServerOptions {
        query_max_samples: 100,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    let end = now_ms() / 10_000 * 10_000 - 10_000;
    load(&server, end).await;
    let at = end as f64 / 1000.0;
    let cases = [
        (
            "cpu_seconds_total[10m]",
            422,
            "execution",
            "more than 100 samples",
        ),
        (
            "sinh(cpu_seconds_total)",
            400,
            "bad_data",
            "function sinh() at position 0",
        ),
        (
            "cpu_seconds_total + on (domain) cpu_seconds_total",
            422,
            "execution",
            "duplicate series",
        ),
        ("sum(", 400, "bad_data", "parse error"),
    ];
    for (text, status, kind, needle) in cases {
        let response = server
            .client
            .get(server.url(&format!("/api/v1/query?query={}&time={at}", query(text))))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{text}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errorType"], kind, "{text}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{text}: {body}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_probes_are_answered() {
    let options = ServerOptions {
        query_timeout: Duration::from_secs(30),
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    load(&server, now_ms() / 10_000 * 10_000 - 10_000).await;
    let exemplars = server
        .get_json(&format!(
            "/api/v1/query_exemplars?query={}",
            query("rate(cpu_seconds_total[5m])")
        ))
        .await;
    assert_eq!(exemplars["data"], serde_json::json!([]));
    let metadata = server.get_json("/api/v1/metadata").await;
    assert_eq!(metadata["data"]["cpu_seconds_total"][0]["type"], "unknown");
    assert!(metadata["data"]["lookout_anomaly_score"].is_array());
    let one = server
        .get_json("/api/v1/metadata?metric=cpu_seconds_total")
        .await;
    assert_eq!(one["data"].as_object().unwrap().len(), 1);
    let flags = server.get_json("/api/v1/status/flags").await;
    assert_eq!(flags["data"]["query.timeout"], "30s");
    assert_eq!(flags["data"]["query.lookback-delta"], "300s");
    let runtime = server.get_json("/api/v1/status/runtimeinfo").await;
    assert_eq!(runtime["data"]["timeSeriesCount"], 2);
    let config = server.get_json("/api/v1/status/config").await;
    assert_eq!(config["data"]["yaml"], "");
    server.stop().await;
}

/// A range answer was written whole on an async worker (holding it, and `/healthz`,
/// while millions of points were formatted) and kept in memory beside the series; it is
/// now written on the blocking pool and sent in chunks. Many chunks' worth must arrive
/// complete and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_answer_of_many_chunks_arrives_whole() {
    let server = TestServer::start().await;
    let end_ms = now_ms() / 10_000 * 10_000;
    let mut samples = Vec::new();
    for host in 0..200 {
        let key = SeriesKey::new("wide").with_label("host", format!("h{host}"));
        for i in 0..360 {
            samples.push(Sample {
                key: key.clone(),
                timestamp_ms: end_ms - 3_600_000 + i * 10_000,
                value: (host * 1000 + i) as f64,
            });
        }
    }
    let response = server
        .post("/api/v1/write", encode_write_request(&samples))
        .await;
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
    let (start, end) = ((end_ms - 3_600_000) / 1000, end_ms / 1000);
    let text = server
        .client
        .get(server.url(&format!(
            "/api/v1/query_range?query=wide&start={start}&end={end}&step=1"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.len() > 4 * (256 << 10),
        "{} bytes: not many chunks",
        text.len()
    );
    let answer: Value = serde_json::from_str(&text).expect("one whole JSON answer");
    let result = answer["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 200);
    for series in result {
        let host: i64 = series["metric"]["host"].as_str().unwrap()[1..]
            .parse()
            .unwrap();
        let values = series["values"].as_array().unwrap();
        assert_eq!(
            values.len(),
            3_601,
            "every step has a value within the lookback"
        );
        let last = values.last().unwrap()[1].as_str().unwrap();
        assert_eq!(last.parse::<f64>().unwrap(), (host * 1000 + 359) as f64);
    }
    server.stop().await;
}
