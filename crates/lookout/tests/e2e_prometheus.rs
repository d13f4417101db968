//! End to end with real peers: node_exporter scraped every second by a real Prometheus
//! that remote-writes to the real `lookout serve`; the series arrive with their labels and
//! scores, and `promtool query range` against lookout's query API returns them.
//!
//! Needs the Debian packages `prometheus` (prometheus, promtool) and
//! `prometheus-node-exporter`. Missing peers fail the test under `CI=true`, else skip it.

mod e2e_support;

use std::process::Command;
use std::time::Duration;

use e2e_support::{eventually, find_peer, free_port, now_ms, ChildGuard, Lookout};

const CONFIG: &str = "[server]\nmax_series = 100000\n\n[detection]\nprofile = \"default\"\n";

#[test]
fn prometheus_remote_writes_node_exporter_series_and_promtool_reads_them_back() {
    let Some(node_exporter) = find_peer("prometheus-node-exporter", "prometheus-node-exporter")
    else {
        return;
    };
    let Some(prometheus) = find_peer("prometheus", "prometheus") else {
        return;
    };
    let Some(promtool) = find_peer("promtool", "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), CONFIG);

    let exporter_port = free_port();
    let _exporter = ChildGuard::spawn(
        "node_exporter",
        Command::new(&node_exporter).arg(format!("--web.listen-address=127.0.0.1:{exporter_port}")),
        &dir.path().join("node_exporter.log"),
    );
    let prometheus_config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n\
         remote_write:\n  - url: http://127.0.0.1:{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n",
        lookout.port
    );
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, prometheus_config).unwrap();
    let prometheus_port = free_port();
    let prometheus_guard = ChildGuard::spawn(
        "prometheus",
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}")),
        &dir.path().join("prometheus.log"),
    );

    let started = now_ms();
    let labels = eventually(
        "node_load1 from Prometheus in lookout",
        Duration::from_secs(90),
        || {
            let answer = lookout.get_json("/api/v1/series?match[]=node_load1");
            answer["data"]
                .as_array()
                .and_then(|series| series.first().cloned())
        },
    );
    assert_eq!(labels["job"], "node", "{labels}");
    assert_eq!(
        labels["instance"],
        format!("127.0.0.1:{exporter_port}"),
        "{labels}"
    );
    let score = eventually("a score for node_load1", Duration::from_secs(60), || {
        let answer = lookout.get_json(
            "/api/v1/query?query=lookout_anomaly_score%7Blookout_metric%3D%22node_load1%22%7D",
        );
        let result = answer["data"]["result"].as_array()?.first()?.clone();
        Some(result)
    });
    assert_eq!(score["metric"]["job"], "node", "{score}");
    let value: f64 = score["value"][1].as_str().unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&value), "{score}");
    // A few more scrapes, so the range has several points.
    eventually("three node_load1 samples", Duration::from_secs(60), || {
        let path = format!(
            "/api/v1/query_range?query=node_load1&start={}&end={}&step=1",
            started / 1000 - 5,
            now_ms() / 1000
        );
        let answer = lookout.get_json(&path);
        (answer["data"]["result"][0]["values"].as_array()?.len() >= 3).then_some(())
    });
    let metrics = lookout.metrics();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("lookout_anomaly_score{")
                && line.contains("lookout_metric=\"node_load1\"")),
        "/metrics exposes node_load1's score"
    );
    // Every family of lookout's own /metrics is written by one writer: the whole text
    // parses, and no family is declared twice.
    lookout_protocol::exposition::parse_exposition(metrics.as_bytes(), 0)
        .expect("lookout's /metrics parses as the text exposition format");
    let mut declared: Vec<&str> = metrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    let families = declared.len();
    declared.sort_unstable();
    declared.dedup();
    assert_eq!(
        declared.len(),
        families,
        "a family is declared twice: {declared:?}"
    );

    let end = now_ms() / 1000;
    let output = Command::new(&promtool)
        .args([
            "query",
            "range",
            "--start",
            &(started / 1000 - 5).to_string(),
            "--end",
            &end.to_string(),
            "--step",
            "1s",
        ])
        .arg(&lookout.base)
        .arg("node_load1")
        .output()
        .expect("running promtool");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "promtool failed: {stdout}\n{stderr}"
    );
    assert!(stdout.contains("node_load1{"), "promtool output: {stdout}");
    assert!(
        stdout.contains(&format!("instance=\"127.0.0.1:{exporter_port}\"")),
        "promtool output: {stdout}"
    );
    assert!(stdout.contains(" @["), "promtool printed samples: {stdout}");
    drop(prometheus_guard);
}
