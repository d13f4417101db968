//! End to end with the real binary: `lookout demo` on a fast schedule. Every injected
//! incident must be detected on the right series within its stated delay, the quiet
//! series must stay (mostly) quiet, and the idle and underused machines must get
//! right-sizing hints. The figures are printed (run with `--nocapture`) and stated in
//! `docs/demo.md`.

mod e2e_support;

use std::process::Command;
use std::time::Duration;

use e2e_support::{eventually, free_port, lookout_binary, ChildGuard};
use serde_json::Value;

/// Longest accepted delay from an incident's start to its first anomaly, in simulated
/// minutes (one point per minute).
fn allowed_delay_minutes(kind: &str) -> i64 {
    match kind {
        "memory_leak" => 20,
        "disk_fill" => 10,
        _ => 5,
    }
}

/// An anomaly that starts this long after an incident ended still belongs to it (the
/// return to normal is a change too).
const GRACE_MS: i64 = 30 * 60_000;

/// Most anomalies accepted on the replay's quiet series (72 series × 4 hours).
const MAX_FALSE_ALARMS: usize = 16;

#[test]
fn the_demo_incidents_are_detected_and_quiet_series_stay_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut demo = ChildGuard::spawn(
        "lookout demo",
        Command::new(lookout_binary())
            .args([
                "demo",
                "--no-host",
                "--history",
                "3d",
                "--live-window",
                "4h",
            ])
            .args(["--speed", "480", "--gap", "30m", "--rightsize-after", "1d"])
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&data),
        &dir.path().join("demo.log"),
    );
    eventually(
        "the demo to catch up with real time",
        Duration::from_secs(300),
        || {
            if let Some(output) = demo.exited_output() {
                panic!("lookout demo exited:\n{output}");
            }
            demo.output()
                .contains("caught up with real time")
                .then_some(())
        },
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = e2e_support::reqwest::blocking_client();
    let get = |path: &str| -> Value {
        let response = client.get(format!("{base}{path}")).send().expect("GET");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().expect("JSON")
    };
    let schedule: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("demo-schedule.json")).unwrap())
            .unwrap();
    let live_start = schedule["live_start_ms"].as_i64().unwrap();
    let live_end = schedule["live_end_ms"].as_i64().unwrap();
    let history_start = schedule["history_start_ms"].as_i64().unwrap();
    // The last points may still be on their way through the engine and the store.
    std::thread::sleep(Duration::from_secs(3));
    let anomalies = get(&format!(
        "/api/v1/anomalies?from={}&to={}&limit=100000",
        history_start / 1000,
        live_end / 1000 + 3600
    ))["data"]
        .as_array()
        .cloned()
        .unwrap();

    let mut explained = std::collections::BTreeSet::new();
    let mut report = Vec::new();
    let incidents = schedule["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 7, "{schedule}");
    for incident in incidents {
        let kind = incident["kind"].as_str().unwrap();
        let start = incident["start_ms"].as_i64().unwrap();
        let end = incident["end_ms"].as_i64().unwrap();
        let series: Vec<&str> = incident["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let hits: Vec<&Value> = anomalies
            .iter()
            .filter(|a| series.contains(&a["series"].as_str().unwrap()))
            .filter(|a| {
                let at = a["start_ms"].as_i64().unwrap();
                at >= start && at <= end + GRACE_MS
            })
            .collect();
        explained.extend(hits.iter().map(|a| a["id"].as_i64().unwrap()));
        let first = hits.iter().map(|a| a["start_ms"].as_i64().unwrap()).min();
        let delay = first.map(|at| (at - start) / 60_000);
        report.push(format!(
            "{kind} on {}: {}",
            incident["machine"],
            delay.map_or("MISSED".to_string(), |d| format!("detected after {d} min"))
        ));
        let Some(delay) = delay else {
            panic!(
                "{kind} ({series:?}) was not detected:\n{}",
                report.join("\n")
            );
        };
        assert!(
            delay <= allowed_delay_minutes(kind),
            "{kind} detected after {delay} min, more than {} min",
            allowed_delay_minutes(kind)
        );
    }
    let false_alarms: Vec<String> = anomalies
        .iter()
        .filter(|a| a["start_ms"].as_i64().unwrap() >= live_start)
        .filter(|a| !explained.contains(&a["id"].as_i64().unwrap()))
        .map(|a| {
            format!(
                "{} at +{} min",
                a["series"],
                (a["start_ms"].as_i64().unwrap() - live_start) / 60_000
            )
        })
        .collect();
    let history_day = anomalies
        .iter()
        .filter(|a| {
            let at = a["start_ms"].as_i64().unwrap();
            at < live_start && at >= live_start - 86_400_000
        })
        .count();
    println!(
        "demo detection report:\n{}\nfalse alarms in the 4 h replay (72 series): {}\n{}\nanomalies in the last history day (no incidents): {history_day}",
        report.join("\n"),
        false_alarms.len(),
        false_alarms.join("\n")
    );
    assert!(
        false_alarms.len() <= MAX_FALSE_ALARMS,
        "{} false alarms:\n{}",
        false_alarms.len(),
        false_alarms.join("\n")
    );

    let machines = get("/api/v1/machines")["data"].as_array().cloned().unwrap();
    assert_eq!(machines.len(), 12, "{machines:?}");
    let hint = |name: &str| {
        machines
            .iter()
            .find(|m| m["machine"] == name)
            .and_then(|m| m["hint"]["action"].as_str().map(String::from))
    };
    assert_eq!(hint("batch-4").as_deref(), Some("stop"), "{machines:?}");
    assert_eq!(hint("web-5").as_deref(), Some("downsize"), "{machines:?}");
    assert_eq!(hint("web-1"), None);
    let states = get("/api/v1/query?query=lookout_usage_state_code");
    assert_eq!(
        states["data"]["result"].as_array().map(Vec::len),
        Some(12),
        "{states}"
    );
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("lookout_usage_state{machine=\"batch-4\",state=\"idle\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lookout_rightsizing_candidate{machine=\"web-5\",action=\"downsize\"} 1")
    );
}
