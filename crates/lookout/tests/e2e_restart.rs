//! End to end with the real binary: a restart does not send the detectors back
//! through their warm-up, and machines keep their usage states (warm start from
//! stored history).

mod e2e_support;

use std::time::Duration;

use e2e_support::reqwest::blocking_client;
use e2e_support::{eventually, now_ms, Lookout};

const CONFIG: &str = "[detection]\nprofile = \"default\"\n";

fn post(lookout: &Lookout, samples: &[String]) {
    let response = blocking_client()
        .post(lookout.url("/api/v1/samples"))
        .body(format!("[{}]", samples.join(",")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text());
}

/// The anomalies from `start_ms` to a minute from now.
fn anomalies_since(lookout: &Lookout, start_ms: i64) -> Vec<serde_json::Value> {
    let answer = lookout.get_json(&format!(
        "/api/v1/anomalies?from={}&to={}",
        start_ms / 1000,
        now_ms() / 1000 + 60
    ));
    answer["data"].as_array().cloned().unwrap_or_default()
}

/// One machine of `/api/v1/machines`.
fn machine(lookout: &Lookout, name: &str) -> serde_json::Value {
    let machines = lookout.get_json("/api/v1/machines");
    machines["data"]
        .as_array()
        .and_then(|list| list.iter().find(|m| m["machine"] == name).cloned())
        .unwrap_or_else(|| panic!("no machine {name} in {machines}"))
}

fn sample(name: &str, host: &str, timestamp_ms: i64, value: f64) -> String {
    format!(
        r#"{{"name":"{name}","labels":{{"host":"{host}"}},"timestamp":{timestamp_ms},"value":{value}}}"#
    )
}

#[test]
fn a_restarted_server_scores_with_warm_detectors_and_keeps_usage_states() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = now_ms() - 601 * 10_000;
    let mut history = Vec::new();
    for i in 0..600i64 {
        let at = start + i * 10_000;
        history.push(sample(
            "latency",
            "web",
            at,
            50.0 + ((i * 7919) % 13) as f64 * 0.5,
        ));
        history.push(sample("host_cpu_utilization_percent", "idle-box", at, 0.5));
    }
    let first = Lookout::start(&data, CONFIG);
    post(&first, &history);
    drop(first); // SIGKILL: nothing but the store survives

    let second = Lookout::start(&data, CONFIG);
    let log = second.guard.output();
    assert!(
        log.contains("detectors warmed up from stored history: 2 series, 1200 points, 0 false-positive labels"),
        "{log}"
    );
    // The machine is still idle, since its third stored sample (three idle samples
    // make a machine idle), as it was before the restart.
    let idle_box = machine(&second, "idle-box");
    assert_eq!(idle_box["state"], "idle", "{idle_box}");
    assert_eq!(idle_box["since_ms"], start + 20_000, "{idle_box}");
    // The first live points after the restart are scored by warm detectors: a spike
    // opens an anomaly at once (cold, the series would still be warming up).
    let now = now_ms();
    post(
        &second,
        &[
            sample("latency", "web", now - 2_000, 500.0),
            sample("latency", "web", now - 1_000, 500.0),
        ],
    );
    eventually("an anomaly on the spike", Duration::from_secs(20), || {
        anomalies_since(&second, start)
            .iter()
            .any(|a| a["series"].as_str().unwrap_or("").contains("latency"))
            .then_some(())
    });
}

#[test]
fn warm_start_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Lookout::start(&data, CONFIG);
    post(&first, &[sample("latency", "web", now_ms() - 60_000, 1.0)]);
    drop(first);
    let second = Lookout::start(&data, "[detection]\nwarm_start = \"0s\"\n");
    assert!(!second.guard.output().contains("warmed up"));
}

#[test]
fn an_anomaly_open_at_a_restart_closes_under_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = now_ms() - 700 * 10_000;
    let history: Vec<String> = (0..660i64)
        .map(|i| {
            let value = if i >= 650 {
                500.0
            } else {
                50.0 + ((i * 7919) % 13) as f64 * 0.5
            };
            sample("latency", "db", start + i * 10_000, value)
        })
        .collect();
    let first = Lookout::start(&data, CONFIG);
    post(&first, &history);
    let open_anomaly = eventually("the spike's anomaly, open", Duration::from_secs(20), || {
        anomalies_since(&first, start)
            .into_iter()
            .find(|a| a["end_ms"].is_null())
    });
    // A false positive widens the series' tolerance; it must survive the restart.
    let id = open_anomaly["id"].as_i64().unwrap();
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
    drop(first); // SIGKILL in the middle of the incident

    let second = Lookout::start(&data, CONFIG);
    assert!(
        second.guard.output().contains("1 false-positive labels"),
        "{}",
        second.guard.output()
    );
    let detail = second.get_json(&format!("/api/v1/anomalies/{id}"));
    assert_eq!(
        detail["data"]["tolerance"].as_f64(),
        Some(widened),
        "{detail}"
    );
    // The series calms down after the restart.
    let calm: Vec<String> = (660..700i64)
        .map(|i| sample("latency", "db", start + i * 10_000, 50.0 + (i % 3) as f64))
        .collect();
    post(&second, &calm);
    let closed = eventually("the same anomaly, closed", Duration::from_secs(20), || {
        let list = anomalies_since(&second, start);
        list.iter().all(|a| !a["end_ms"].is_null()).then_some(list)
    });
    assert!(
        closed.iter().any(|a| a["id"] == open_anomaly["id"]),
        "{open_anomaly} not among {closed:?}"
    );
}

#[test]
fn a_right_sizing_hint_built_over_weeks_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Fifteen days of an idle machine's CPU, every 5 minutes, loaded as history.
    let config = dir.path().join("usage.toml");
    std::fs::write(&config, "[usage]\nmachine_labels = [\"column\"]\n").unwrap();
    let csv = dir.path().join("cpu.csv");
    let now_s = now_ms() / 1000;
    let mut text = String::from("timestamp,idle-box\n");
    for i in (0..15 * 288).rev() {
        text.push_str(&format!("{},0.5\n", now_s - 300 - i * 300));
    }
    std::fs::write(&csv, text).unwrap();
    let output = std::process::Command::new(e2e_support::lookout_binary())
        .args(["import", "--name", "host_cpu_utilization_percent"])
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lookout = Lookout::start(&data, "[usage]\nmachine_labels = [\"column\"]\n");
    let idle_box = machine(&lookout, "idle-box");
    assert_eq!(idle_box["state"], "idle", "{idle_box}");
    assert_eq!(idle_box["hint"]["action"], "stop", "{idle_box}");
}
