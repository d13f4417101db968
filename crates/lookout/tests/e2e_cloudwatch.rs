//! End to end: the real `lookout serve` with two cloudwatch sources, one on moto's server
//! mode (a local AWS emulator with EC2 instances and CloudWatch datapoints created by
//! boto3) and one on a closed port. The first one's series arrive with their labels and
//! scores, backfilled over the last hours; the second one logs a clear error naming its
//! endpoint, and the server keeps serving.
//!
//! Needs `moto[server]` in the peers venv (`tests/peers/install-cloudwatch.sh`): skipped
//! without it, a failure under CI=true.

mod e2e_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use e2e_support::{eventually, free_port, peers_venv as venv, Lookout, MotoServer};

#[test]
fn cloudwatch_series_from_moto_get_labels_and_scores_while_a_broken_source_is_reported() {
    let Some(moto) = MotoServer::start("tests/peers/install-cloudwatch.sh") else {
        return;
    };
    let endpoint = moto.endpoint.clone();
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lookout-sources/tests/moto/fixture.py");
    let output = Command::new(venv().join("bin/python"))
        .arg(fixture)
        .args([
            "fleet",
            "--count",
            "2",
            "--minutes",
            "120",
            "--endpoint",
            &endpoint,
        ])
        .args(["--metrics", "CPUUtilization,NetworkIn"])
        .output()
        .expect("running fixture.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fleet: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let last_point_s = fleet["start"].as_i64().unwrap() + 119 * 60;

    // The only test of this file: the child inherits these credentials.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "e2e-secret-value");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let closed = format!("http://127.0.0.1:{}", free_port());
    let config = format!(
        "[server]\nmax_series = 10000\n\n\
         [[source]]\ntype = \"cloudwatch\"\nendpoint = \"{endpoint}\"\ninterval = \"2s\"\n\
         metrics = [\"CPUUtilization\", \"NetworkIn\"]\nbackfill = \"3h\"\n\n\
         [[source]]\ntype = \"cloudwatch\"\nendpoint = \"{closed}\"\ninterval = \"1s\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), &config);

    let series = eventually("the instances' CPU series", Duration::from_secs(60), || {
        let answer = lookout.get_json("/api/v1/series?match[]=aws_ec2_cpu_utilization");
        let series = answer["data"].as_array()?.clone();
        (series.len() == 2).then_some(series)
    });
    let ids: Vec<&str> = fleet["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    for labels in &series {
        assert!(
            ids.contains(&labels["instance_id"].as_str().unwrap()),
            "{labels}"
        );
        assert_eq!(labels["instance_type"], "t3.micro", "{labels}");
        assert_eq!(labels["region"], "us-east-1", "{labels}");
        assert_eq!(labels["tag_name"], "web", "{labels}");
    }
    // Two hours of backfill: 120 points per series, scored by the engine.
    let range = eventually("the backfilled range", Duration::from_secs(60), || {
        let path = format!(
            "/api/v1/query_range?query=aws_ec2_network_in&start={}&end={}&step=60",
            last_point_s - 119 * 60,
            last_point_s
        );
        let answer = lookout.get_json(&path);
        let result = answer["data"]["result"].as_array()?.clone();
        let full = result.len() == 2
            && result
                .iter()
                .all(|r| r["values"].as_array().is_some_and(|v| v.len() == 120));
        full.then_some(result)
    });
    assert_eq!(range.len(), 2);
    let scores = eventually("scores of the CPU series", Duration::from_secs(60), || {
        let path = format!(
            "/api/v1/query?query=lookout_anomaly_score%7Blookout_metric%3D%22aws_ec2_cpu_utilization%22%7D&time={last_point_s}"
        );
        let answer = lookout.get_json(&path);
        let result = answer["data"]["result"].as_array()?.clone();
        (result.len() == 2).then_some(result)
    });
    for score in &scores {
        assert!(
            ids.contains(&score["metric"]["instance_id"].as_str().unwrap()),
            "{score}"
        );
        let value: f64 = score["value"][1].as_str().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&value), "{score}");
    }
    // The broken source: one clear message naming its endpoint; no secret in the log.
    let log = eventually(
        "the broken source's error in the log",
        Duration::from_secs(30),
        || {
            let log = lookout.guard.output();
            log.contains(&format!("cannot reach {closed}"))
                .then_some(log)
        },
    );
    assert!(log.contains("cloudwatch#2"), "{log}");
    assert!(!log.contains("e2e-secret-value"), "{log}");
    assert_eq!(
        log.matches(&format!("cannot reach {closed}")).count(),
        1,
        "reported once: {log}"
    );
    assert!(
        lookout.get_json("/api/v1/series?match[]=aws_ec2_network_in")["data"]
            .as_array()
            .is_some_and(|s| s.len() == 2)
    );
}
