//! `GET /api/v1/logs/patterns`: a log source's pattern series pushed as the `log` source
//! writes them, counted back into lines per pattern with their first-seen times.

mod common;

use common::{now_ms, TestServer};
use serde_json::{json, Value};

fn sample(name: &str, labels: Value, timestamp: i64, value: f64) -> Value {
    json!({ "name": name, "labels": labels, "timestamp": timestamp, "value": value })
}

/// Pushes one interval of the `log` source: each pattern's lines over the time since the
/// previous interval (the first one taken as 1 s long, the source's interval).
async fn interval(server: &TestServer, t: i64, seconds: f64, lines: [(&Value, f64); 4]) {
    let mut samples = Vec::new();
    let mut all = 0.0;
    for (labels, n) in lines {
        samples.push(sample(
            "log_pattern_lines_per_second",
            labels.clone(),
            t,
            n / seconds,
        ));
        if labels["log"] == "log#0" {
            all += n;
        }
    }
    samples.push(sample(
        "log_lines_per_second",
        json!({ "log": "log#0" }),
        t,
        all / seconds,
    ));
    let response = server
        .post("/api/v1/samples", serde_json::to_vec(&samples).unwrap())
        .await;
    assert!(response.status().is_success(), "{}", response.status());
}

/// Sleeps until the wall clock reaches `t` (ms).
async fn wait_until(t: i64) {
    let left = t - now_ms();
    if left > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(left as u64)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_are_counted_from_their_rates_and_the_logs_interval_gaps() {
    let server = TestServer::start().await;
    let lost = json!({ "log": "log#0", "pattern": "17", "template": "ERROR db connection lost <*>", "program": "app" });
    let login = json!({ "log": "log#0", "pattern": "4", "template": "user <*> logged in", "program": "app" });
    let other = json!({ "log": "log#0", "pattern": "other" });
    let elsewhere =
        json!({ "log": "log#1", "pattern": "17", "template": "ERROR db connection lost <*>" });
    // Three intervals, as the source writes them: stamped when they close, 1 s and 2 s
    // apart. The stamps are exact (each posted once its time has come): the first
    // interval's gap is taken from the next one, and a late second post once made it
    // longer than the 1 s its rate was written for (46 lines counted instead of 45).
    let t0 = now_ms();
    let (t1, t2) = (t0 + 1_000, t0 + 3_000);
    let lines = |a, b, c| [(&lost, a), (&login, b), (&other, c), (&elsewhere, 100.0)];
    interval(&server, t0, 1.0, lines(2.0, 10.0, 1.0)).await;
    wait_until(t1).await;
    interval(&server, t1, 1.0, lines(0.0, 8.0, 0.0)).await;
    wait_until(t2).await;
    interval(&server, t2, 2.0, lines(5.0, 18.0, 1.0)).await;

    let start = (t0 - 10_000) as f64 / 1000.0;
    let answer = server
        .get_json(&format!("/api/v1/logs/patterns?log=log%230&start={start}"))
        .await;
    let data = &answer["data"];
    assert_eq!(data["total_lines"], 45, "{data}");
    assert_eq!(data["other_lines"], 2, "{data}");
    let patterns = data["patterns"].as_array().unwrap();
    assert_eq!(patterns.len(), 2, "log#1's pattern is not log#0's: {data}");
    assert_eq!(patterns[0]["pattern"], "4", "most lines first");
    assert_eq!(patterns[0]["lines"], 36);
    let lost = &patterns[1];
    assert_eq!(lost["lines"], 7);
    assert_eq!(lost["template"], "ERROR db connection lost <*>");
    assert_eq!(lost["program"], "app");
    assert_eq!(lost["first_seen_ms"], t0, "its first interval");
    assert_eq!(lost["last_seen_ms"], t2);
    assert!(lost["series"]
        .as_str()
        .unwrap()
        .starts_with("log_pattern_lines_per_second{"));

    // A range from the second interval on: the gap before its first interval comes from
    // the interval before the range, and first seen is when the store registered the
    // series (moments after its first interval).
    let start = (t0 + 500) as f64 / 1000.0;
    let answer = server
        .get_json(&format!("/api/v1/logs/patterns?log=log%230&start={start}"))
        .await;
    let lost = answer["data"]["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pattern"] == "17")
        .cloned()
        .unwrap();
    assert_eq!(lost["lines"], 5);
    let registered = lost["first_seen_ms"].as_i64().unwrap();
    assert!(
        (t0..t1).contains(&registered),
        "{} ms after t0",
        registered - t0
    );

    // A log without intervals has no patterns; the source is required.
    let none = server.get_json("/api/v1/logs/patterns?log=log%239").await;
    assert_eq!(none["data"]["patterns"], json!([]));
    assert_eq!(none["data"]["total_lines"], Value::Null);
    let missing = server
        .client
        .get(server.url("/api/v1/logs/patterns"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 400);
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("\"log\""),
        "{body}"
    );
    server.stop().await;
}
