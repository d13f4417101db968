//! End to end with the real binary: `serve` saves the detectors' state to the object
//! store when it stops (SIGTERM) and restores it when it starts, so scoring continues
//! from the snapshot without a warm-up replay, and every verdict after the restart is
//! the one a server that never stopped gives.

mod e2e_support;

use std::time::Duration;

use e2e_support::reqwest::blocking_client;
use e2e_support::{lookout_binary, now_ms, Lookout};

const CONFIG: &str = "[detection]\nprofile = \"default\"\n";
const POINTS: i64 = 720;
const SPLIT: i64 = 480;
const STEP_MS: i64 = 10_000;

fn sample(name: &str, host: &str, timestamp_ms: i64, value: f64) -> String {
    format!(
        r#"{{"name":"{name}","labels":{{"host":"{host}"}},"timestamp":{timestamp_ms},"value":{value}}}"#
    )
}

/// Three series, with spikes and a level shift after the split.
fn samples(start: i64, from: i64, to: i64) -> Vec<String> {
    let mut out = Vec::new();
    for i in from..to {
        let at = start + i * STEP_MS;
        let wave = ((i as f64) / 40.0).sin() * 5.0;
        let noise = ((i * 7919) % 13) as f64 * 0.5;
        let spike = if i == 530 || i == 640 { 400.0 } else { 0.0 };
        let shift = if i >= 600 { 30.0 } else { 0.0 };
        out.push(sample("latency", "web", at, 50.0 + wave + noise + spike));
        out.push(sample("latency", "db", at, 20.0 + noise + shift));
        out.push(sample(
            "queue_depth",
            "web",
            at,
            5.0 + (i % 7) as f64 + spike / 10.0,
        ));
    }
    out
}

fn post(lookout: &Lookout, samples: &[String]) {
    for chunk in samples.chunks(600) {
        let response = blocking_client()
            .post(lookout.url("/api/v1/samples"))
            .body(format!("[{}]", chunk.join(",")))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text());
    }
}

/// Every stored score from `from_ms` on, per series, as the query API returns them.
fn scores(lookout: &Lookout, from_ms: i64, to_ms: i64) -> Vec<(String, Vec<serde_json::Value>)> {
    let answer = lookout.get_json(&format!(
        "/api/v1/query_range?query=lookout_anomaly_score&start={}&end={}&step=10",
        from_ms / 1000,
        to_ms / 1000
    ));
    let mut series: Vec<(String, Vec<serde_json::Value>)> = answer["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|s| {
            (
                s["metric"].to_string(),
                s["values"].as_array().cloned().unwrap_or_default(),
            )
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series
}

/// The anomalies that started from `from_ms` on: (series, start).
fn anomalies(lookout: &Lookout, from_ms: i64) -> Vec<(String, i64)> {
    let answer = lookout.get_json(&format!(
        "/api/v1/anomalies?from={}&to={}",
        from_ms / 1000,
        now_ms() / 1000 + 60
    ));
    let mut found: Vec<(String, i64)> = answer["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|a| Some((a["series"].as_str()?.to_string(), a["start_ms"].as_i64()?)))
        .filter(|(_, start)| *start >= from_ms)
        .collect();
    found.sort();
    found
}

/// The first timestamp of the history the tests post: aligned to the step, early enough
/// for all `POINTS` to lie in the past.
fn history_start() -> i64 {
    (now_ms() - (POINTS + 10) * STEP_MS) / STEP_MS * STEP_MS
}

/// Starts a server on `data`, posts `history`, stops it with SIGTERM (which saves the
/// detector snapshot) and returns its log; the stop must be clean.
fn serve_and_stop(data: &std::path::Path, history: &[String]) -> String {
    let mut server = Lookout::start(data, CONFIG);
    post(&server, history);
    let (clean, log) = server
        .guard
        .signal_and_wait("TERM", Duration::from_secs(60));
    assert!(clean, "{log}");
    log
}

#[test]
fn a_restart_continues_scoring_from_the_snapshot_like_an_uninterrupted_server() {
    let dir = tempfile::tempdir().unwrap();
    let start = history_start();
    let before = samples(start, 0, SPLIT);
    let after = samples(start, SPLIT, POINTS);
    let split_ms = start + SPLIT * STEP_MS;
    let end_ms = start + (POINTS - 1) * STEP_MS;

    // The server that never stops.
    let uninterrupted = Lookout::start(&dir.path().join("a"), CONFIG);
    post(&uninterrupted, &before);
    post(&uninterrupted, &after);
    let expected_scores = scores(&uninterrupted, split_ms, end_ms);
    let expected_anomalies = anomalies(&uninterrupted, split_ms);
    assert_eq!(expected_scores.len(), 3, "{expected_scores:?}");
    assert!(
        expected_scores
            .iter()
            .all(|(_, values)| values.len() == (POINTS - SPLIT) as usize),
        "one score per point after the split: {:?}",
        expected_scores
            .iter()
            .map(|(s, v)| (s, v.len()))
            .collect::<Vec<_>>()
    );
    assert!(!expected_anomalies.is_empty(), "the spikes open anomalies");

    // The server that stops after the first part and starts again.
    let data = dir.path().join("b");
    let log = serve_and_stop(&data, &before);
    assert!(
        log.contains("detector snapshot saved as snapshots/detectors version 1: 3 series up to "),
        "{log}"
    );
    let second = Lookout::start(&data, CONFIG);
    let log = second.guard.output();
    assert!(
        log.contains("detectors restored from snapshots/detectors version 1: 3 series up to "),
        "{log}"
    );
    assert!(
        !log.contains("warmed up from stored history"),
        "nothing replayed: {log}"
    );
    post(&second, &after);
    assert_eq!(
        scores(&second, split_ms, end_ms),
        expected_scores,
        "every score after the restart is the uninterrupted server's"
    );
    assert_eq!(anomalies(&second, split_ms), expected_anomalies);

    // The snapshot is an object of the store like the models.
    let output = std::process::Command::new(lookout_binary())
        .args(["model", "show", "snapshots/detectors", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("version 1: detector-snapshot format 1"),
        "{shown}"
    );
}

#[test]
fn a_kill_leaves_the_older_snapshot_and_the_history_after_it_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = history_start();
    serve_and_stop(&data, &samples(start, 0, 300));
    let second = Lookout::start(&data, CONFIG);
    post(&second, &samples(start, 300, 400));
    drop(second); // SIGKILL: no new snapshot
    let third = Lookout::start(&data, CONFIG);
    let log = third.guard.output();
    assert!(
        log.contains("detectors restored from snapshots/detectors version 1: 3 series"),
        "{log}"
    );
    assert!(
        log.contains("detectors warmed up from stored history: 3 series, 300 points"),
        "the 100 points per series after the snapshot are replayed: {log}"
    );
}

#[test]
fn feedback_held_by_the_snapshot_is_not_applied_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = (now_ms() - 700 * STEP_MS) / STEP_MS * STEP_MS;
    let history: Vec<String> = (0..660i64)
        .map(|i| {
            let value = if i >= 650 {
                500.0
            } else {
                50.0 + ((i * 7919) % 13) as f64 * 0.5
            };
            sample("latency", "db", start + i * STEP_MS, value)
        })
        .collect();
    let mut first = Lookout::start(&data, CONFIG);
    post(&first, &history);
    let open = e2e_support::eventually("the spike's anomaly", Duration::from_secs(20), || {
        let answer = first.get_json(&format!(
            "/api/v1/anomalies?from={}&to={}",
            start / 1000,
            now_ms() / 1000 + 60
        ));
        answer["data"].as_array()?.first().cloned()
    });
    let id = open["id"].as_i64().unwrap();
    let response = blocking_client()
        .post(first.url(&format!("/api/v1/anomalies/{id}/feedback")))
        .header("content-type", "application/json")
        .body(r#"{"label":"false_positive","note":"deploy"}"#)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let widened = response.json().unwrap()["data"]["tolerance"]
        .as_f64()
        .unwrap();
    let (clean, log) = first.guard.signal_and_wait("TERM", Duration::from_secs(60));
    assert!(clean, "{log}");
    let second = Lookout::start(&data, CONFIG);
    let log = second.guard.output();
    assert!(log.contains("detectors restored from"), "{log}");
    let detail = second.get_json(&format!("/api/v1/anomalies/{id}"));
    assert_eq!(
        detail["data"]["tolerance"].as_f64(),
        Some(widened),
        "widened once, as before the restart: {detail}"
    );
}

#[test]
fn history_imported_after_a_snapshot_still_warms_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = history_start();
    serve_and_stop(&data, &samples(start, 0, 300));
    // Older history of a series the snapshot does not hold, loaded while stopped.
    let csv = dir.path().join("disk.csv");
    let mut text = String::from("timestamp,sda\n");
    for i in 0..200 {
        text.push_str(&format!(
            "{},{}\n",
            (start + i * STEP_MS) / 1000,
            40 + i % 5
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let output = std::process::Command::new(lookout_binary())
        .args(["import", "--name", "disk_busy_percent"])
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let second = Lookout::start(&data, CONFIG);
    let log = second.guard.output();
    assert!(
        log.contains("detectors restored from snapshots/detectors version 1: 3 series"),
        "{log}"
    );
    assert!(
        log.contains("detectors warmed up from stored history: 1 series, 200 points"),
        "only the imported series is replayed: {log}"
    );
}
