//! Every ingestion protocol, then the Prometheus query API, against an in-process server.

mod common;

use common::{now_ms, TestServer};
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;
use serde_json::Value;

fn samples(
    key: &SeriesKey,
    start_ms: i64,
    count: usize,
    value: impl Fn(usize) -> f64,
) -> Vec<Sample> {
    (0..count)
        .map(|i| Sample {
            key: key.clone(),
            timestamp_ms: start_ms + i as i64 * 1000,
            value: value(i),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_then_query_range_and_instant() {
    let server = TestServer::start().await;
    let key = SeriesKey::new("node_load1")
        .with_label("instance", "host:9100")
        .with_label("job", "node");
    let start = now_ms() / 1000 * 1000 - 60_000;
    let body = encode_write_request(&samples(&key, start, 30, |i| i as f64 / 10.0));
    let response = server
        .client
        .post(server.url("/api/v1/write"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());

    let path = format!(
        "/api/v1/query_range?query=node_load1&start={}&end={}&step=1",
        start / 1000,
        start / 1000 + 29
    );
    let answer = server.get_json(&path).await;
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["data"]["resultType"], "matrix");
    let result = &answer["data"]["result"][0];
    assert_eq!(result["metric"]["__name__"], "node_load1");
    assert_eq!(result["metric"]["instance"], "host:9100");
    let values = result["values"].as_array().unwrap();
    assert_eq!(values.len(), 30);
    assert_eq!(values[0][1], "0");
    assert_eq!(values[29][1], "2.9");
    assert_eq!(values[29][0].as_f64().unwrap(), (start / 1000 + 29) as f64);

    let instant = server
        .get_json(&format!(
            "/api/v1/query?query=node_load1%7Bjob%3D%22node%22%7D&time={}",
            start / 1000 + 29
        ))
        .await;
    assert_eq!(instant["data"]["resultType"], "vector");
    assert_eq!(instant["data"]["result"][0]["value"][1], "2.9");

    let scores = server
        .get_json(&format!(
            "/api/v1/query_range?query=lookout_anomaly_score%7Blookout_metric%3D%22node_load1%22%7D&start={}&end={}&step=1",
            start / 1000,
            start / 1000 + 29
        ))
        .await;
    let score_series = &scores["data"]["result"][0];
    assert_eq!(score_series["metric"]["__name__"], "lookout_anomaly_score");
    assert_eq!(score_series["metric"]["lookout_metric"], "node_load1");
    assert_eq!(score_series["metric"]["job"], "node");
    let score_values = score_series["values"].as_array().unwrap();
    assert_eq!(score_values.len(), 30, "every sample was scored");
    for point in score_values {
        let score: f64 = point[1].as_str().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{score}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influx_and_json_samples_are_queryable() {
    let server = TestServer::start().await;
    let seconds = now_ms() / 1000 - 10;
    let lines = format!(
        "cpu,host=web-1 usage=0.5,idle=99i {seconds}\ncpu,host=web-1 usage=0.75 {}\n",
        seconds + 1
    );
    let response = server
        .client
        .post(server.url("/api/v2/write?precision=s"))
        .body(lines)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
    let v1 = format!("disk,host=db used=12 {}\n", (seconds + 2) * 1_000_000_000);
    let response = server
        .client
        .post(server.url("/write"))
        .body(v1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());

    let json = format!(
        r#"[{{"name":"queue_depth","labels":{{"queue":"mail"}},"timestamp":{},"value":3}},
            {{"name":"queue_depth","labels":{{"queue":"mail"}},"timestamp":"{}","value":4}}]"#,
        seconds * 1000,
        chrono::DateTime::from_timestamp(seconds + 1, 0)
            .unwrap()
            .to_rfc3339()
    );
    let response = server
        .client
        .post(server.url("/api/v1/samples"))
        .body(json)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["data"]["accepted"], 2);

    let series = server
        .get_json("/api/v1/series?match[]=cpu_usage&match[]=%7Bqueue%3D%22mail%22%7D")
        .await;
    let names: Vec<&str> = series["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["__name__"].as_str().unwrap())
        .collect();
    // `{queue="mail"}` also matches the score companion of queue_depth.
    assert_eq!(names, ["cpu_usage", "lookout_anomaly_score", "queue_depth"]);
    let labels = server.get_json("/api/v1/labels").await;
    let labels: Vec<&str> = labels["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"host") && labels.contains(&"queue") && labels.contains(&"lookout_metric"),
        "{labels:?}"
    );
    let values = server.get_json("/api/v1/label/__name__/values").await;
    let values: Vec<&str> = values["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            "cpu_idle",
            "cpu_usage",
            "disk_used",
            "lookout_anomaly_score",
            "queue_depth"
        ]
    );
    let hosts = server.get_json("/api/v1/label/host/values").await;
    assert_eq!(hosts["data"], serde_json::json!(["db", "web-1"]));

    let form = format!(
        "query=queue_depth&start={seconds}&end={}&step=1s",
        seconds + 1
    );
    let response = server
        .client
        .post(server.url("/api/v1/query_range"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    let values = &answer["data"]["result"][0]["values"];
    assert_eq!(values[0][1], "3");
    assert_eq!(values[1][1], "4");

    let metrics = server.metrics().await;
    assert_eq!(
        common::counter(
            &metrics,
            "lookout_ingest_samples_total{protocol=\"influx\"}"
        ),
        4.0
    );
    assert_eq!(
        common::counter(&metrics, "lookout_ingest_samples_total{protocol=\"json\"}"),
        2.0
    );
    assert!(
        metrics.contains("lookout_anomaly_score{queue=\"mail\",lookout_metric=\"queue_depth\"}"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_errors_use_the_prometheus_format() {
    let server = TestServer::start().await;
    for (path, needle) in [
        (
            "/api/v1/query_range?query=up&start=10&end=5&step=1",
            "end timestamp must not be before start",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            "exceeded maximum resolution",
        ),
        (
            "/api/v1/query?query=sinh(up)",
            "function sinh() at position 0 of the query is not supported",
        ),
        ("/api/v1/query?query=sum(", "parse error"),
        (
            "/api/v1/query_range?query=up&start=yesterday&end=5&step=1",
            "invalid parameter \\\"start\\\"",
        ),
        ("/api/v1/series", "no match[] parameter"),
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let text = response.text().await.unwrap();
        assert!(
            text.contains("\"status\":\"error\"") && text.contains("\"errorType\":\"bad_data\""),
            "{text}"
        );
        assert!(text.contains(needle), "{path}: {text}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart_on_the_same_directory() {
    let server = TestServer::start().await;
    let key = SeriesKey::new("temperature").with_label("room", "lab");
    let start = now_ms() / 1000 * 1000 - 20_000;
    let body = encode_write_request(&samples(&key, start, 10, |i| 20.0 + i as f64));
    assert_eq!(
        server
            .client
            .post(server.url("/api/v1/write"))
            .body(body)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, Default::default(), common::engine()).await;
    let answer = server
        .get_json(&format!(
            "/api/v1/query?query=temperature&time={}",
            start / 1000 + 9
        ))
        .await;
    assert_eq!(answer["data"]["result"][0]["value"][1], "29");
    assert_eq!(answer["data"]["result"][0]["metric"]["room"], "lab");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_waits_while_the_warm_start_replays_history() {
    let server = TestServer::start().await;
    let state = server.server.state();
    state
        .warming
        .store(true, std::sync::atomic::Ordering::Release);
    let body = format!(
        r#"[{{"name":"queue_depth","labels":{{"queue":"mail"}},"timestamp":{},"value":3}}]"#,
        now_ms()
    );
    let refused = server.post("/api/v1/samples", body.clone()).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("relearning stored history"));
    // Queries are answered meanwhile.
    assert_eq!(server.get_json("/api/v1/labels").await["status"], "success");
    state
        .warming
        .store(false, std::sync::atomic::Ordering::Release);
    let accepted = server.post("/api/v1/samples", body).await;
    assert_eq!(accepted.status(), 200);
}

/// A duplicate timestamp with a new value once silently replaced the scored point: the
/// first write of a time wins, a retry is taken (nothing new stored), another value is
/// refused with a 400 that names it while the rest of the request is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_timestamp_keeps_the_first_value_and_a_new_value_is_refused_by_name() {
    let server = TestServer::start().await;
    let key = SeriesKey::new("dup_policy").with_label("host", "a");
    let t = now_ms() / 1000 * 1000 - 10_000;
    let body = |points: &[(i64, f64)]| {
        encode_write_request(
            &points
                .iter()
                .map(|(ts, value)| Sample {
                    key: key.clone(),
                    timestamp_ms: *ts,
                    value: *value,
                })
                .collect::<Vec<_>>(),
        )
    };
    let post = |bytes: Vec<u8>| {
        server
            .client
            .post(server.url("/api/v1/write"))
            .body(bytes)
            .send()
    };
    let first = post(body(&[(t - 1000, 1.0), (t, 5.0)])).await.unwrap();
    assert_eq!(first.status(), 204);
    // A retry of the same write: taken.
    let retry = post(body(&[(t, 5.0)])).await.unwrap();
    assert_eq!(retry.status(), 204, "{}", retry.text().await.unwrap());
    // Another value for the stored time, beside a new point: 400 naming it, the new point stored.
    let conflicting = post(body(&[(t, 9.0), (t + 1000, 6.0)])).await.unwrap();
    assert_eq!(conflicting.status(), 400);
    let error: Value = conflicting.json().await.unwrap();
    let message = error["error"].as_str().unwrap();
    for needle in [
        "partial write: 1 samples",
        "the first write of a time wins",
        "dup_policy{host=\"a\"}",
        &format!("at {t} ms with value 9"),
        "1 samples written",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let answer: Value = server
        .client
        .get(server.url(&format!(
            "/api/v1/query_range?query=dup_policy&start={}&end={}&step=1",
            (t - 1000) as f64 / 1000.0,
            (t + 1000) as f64 / 1000.0
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let values: Vec<&str> = answer["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[1].as_str().unwrap())
        .collect();
    assert_eq!(values, ["1", "5", "6"], "{answer}");
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("lookout_samples_not_scored_total{reason=\"conflicting_value\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lookout_samples_not_scored_total{reason=\"duplicate\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}
