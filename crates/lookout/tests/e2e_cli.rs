//! End to end with the real binary: `check-config`, `import`, and `serve` with its
//! host source.

mod e2e_support;

use std::process::Command;
use std::time::Duration;

use e2e_support::{eventually, lookout_binary, now_ms, Lookout};

#[test]
fn check_config_accepts_a_good_file_and_lists_every_error_of_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[server]\nlisten = \"127.0.0.1:9999\"\n\n[[source]]\ntype = \"host\"\ninterval = \"5s\"\n",
    )
    .unwrap();
    let output = Command::new(lookout_binary())
        .arg("check-config")
        .arg(&good)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("OK") && stdout.contains("1 source"),
        "{stdout}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = \"nowhere\"\nbogus = 1\n\n[[source]]\ntype = \"host\"\ninterval = \"5x\"\n").unwrap();
    let output = Command::new(lookout_binary())
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a bad file exits non-zero");
    let name = bad.display().to_string();
    for (line, key) in [(2, "listen"), (3, "bogus"), (7, "interval")] {
        let located = format!("{name}:{line}:");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&located) && l.contains(key)),
            "{located} … {key} in:\n{stderr}"
        );
    }
}

#[test]
fn import_loads_csv_history_that_serve_then_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("history.csv");
    let start_s = now_ms() / 1000 - 3 * 86_400;
    let mut text = String::from("timestamp,cpu,memory used\n");
    for i in 0..600 {
        text.push_str(&format!(
            "{},{},{}\n",
            start_s + i * 60,
            10 + i % 7,
            1000 + i
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let output = Command::new(lookout_binary())
        .args(["import"])
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data)
        .args(["--config"])
        .arg(write_config(dir.path()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("600 rows of 2 series") && stdout.contains("1200 samples stored"),
        "{stdout}"
    );

    let lookout = Lookout::start(&data, "[detection]\nprofile = \"default\"\n");
    let path = format!(
        "/api/v1/query_range?query=memory_used&start={}&end={}&step=60",
        start_s,
        start_s + 599 * 60
    );
    let answer = lookout.get_json(&path);
    let values = answer["data"]["result"][0]["values"]
        .as_array()
        .expect("imported series");
    assert_eq!(values.len(), 600);
    assert_eq!(values[599][1], "1599");
    let scores = lookout.get_json(&format!(
        "/api/v1/query?query=lookout_anomaly_score%7Blookout_metric%3D%22cpu%22%7D&time={}",
        start_s + 599 * 60
    ));
    assert!(
        scores["data"]["result"][0]["value"][1].is_string(),
        "imported history was scored: {scores}"
    );
}

#[test]
fn import_refuses_a_data_directory_that_serve_is_using() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("history.csv");
    std::fs::write(&csv, "timestamp,cpu\n1700000000,1\n1700000060,2\n").unwrap();
    let lookout = Lookout::start(&data, "[detection]\nprofile = \"default\"\n");
    let output = Command::new(lookout_binary())
        .args(["import"])
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "import must fail: {stderr}");
    assert!(
        stderr.contains("in use by process") && stderr.contains(&data.display().to_string()),
        "{stderr}"
    );
    // The server is unharmed and still answers.
    let answer = lookout.get_json("/api/v1/series?match[]=cpu");
    assert_eq!(answer["status"], "success", "{answer}");
}

fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("import.toml");
    std::fs::write(&path, "[detection]\nprofile = \"default\"\n").unwrap();
    path
}

#[test]
fn serve_collects_this_hosts_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        "[[source]]\ntype = \"host\"\ninterval = \"1s\"\n\n[detection]\nprofile = \"default\"\n";
    let lookout = Lookout::start(&dir.path().join("data"), config);
    let series = eventually("host metrics", Duration::from_secs(30), || {
        let answer = lookout.get_json("/api/v1/series?match[]=host_memory_used_bytes");
        answer["data"]
            .as_array()
            .and_then(|series| series.first().cloned())
    });
    assert!(series["host"].is_string(), "host label: {series}");
    eventually("a score for host memory", Duration::from_secs(30), || {
        let answer = lookout.get_json("/api/v1/query?query=lookout_anomaly_score%7Blookout_metric%3D%22host_memory_used_bytes%22%7D");
        answer["data"]["result"]
            .as_array()
            .filter(|result| !result.is_empty())
            .map(|_| ())
    });
}

#[test]
fn serve_applies_detection_settings_and_overrides_per_series() {
    let dir = tempfile::tempdir().unwrap();
    // The override's minimum deviation (1000 × the expected value) vetoes every
    // anomaly of the matching series; the other series keeps the profile's settings.
    let config = "[detection]\nprofile = \"default\"\nparams = { robust_z = { window = 60 } }\n\n\
                  [[detection.override]]\nmatch = '{host=\"calm\"}'\nmin_deviation = 1000.0\n";
    let lookout = Lookout::start(&dir.path().join("data"), config);
    let client = e2e_support::reqwest::blocking_client();
    let start = now_ms() - 700 * 10_000;
    let mut samples = Vec::new();
    for host in ["calm", "loud"] {
        for i in 0..700i64 {
            let value = if i >= 690 {
                500.0
            } else {
                50.0 + ((i * 7919) % 13) as f64 * 0.5
            };
            samples.push(format!(
                r#"{{"name":"spiky","labels":{{"host":"{host}"}},"timestamp":{},"value":{value}}}"#,
                start + i * 10_000
            ));
        }
    }
    let response = client
        .post(lookout.url("/api/v1/samples"))
        .body(format!("[{}]", samples.join(",")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text());
    let anomalies = eventually(
        "an anomaly on the loud series",
        Duration::from_secs(20),
        || {
            let answer = lookout.get_json(&format!(
                "/api/v1/anomalies?from={}&to={}",
                start / 1000,
                now_ms() / 1000 + 60
            ));
            let list = answer["data"].as_array().cloned().unwrap_or_default();
            list.iter()
                .any(|a| a["series"].as_str().unwrap_or("").contains("loud"))
                .then_some(list)
        },
    );
    assert!(
        anomalies
            .iter()
            .all(|a| !a["series"].as_str().unwrap_or("").contains("calm")),
        "the override's series opened an anomaly: {anomalies:?}"
    );
}

#[test]
fn check_config_reports_detector_parameters_that_do_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[detection]\nparams = { robust_z = { windw = 60 } }\n",
    )
    .unwrap();
    let output = Command::new(lookout_binary())
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("params.robust_z: unknown field `windw`"),
        "{stderr}"
    );
}
