//! End to end: `serve` with `[object_store] s3 = {...}` on moto's S3 (a versioned bucket,
//! PyPI `moto[server]` from the peers venv, `tests/peers/install-objstore.sh`; skipped
//! with a message when missing, failing under `CI=true`): the detector snapshot written
//! at SIGTERM goes to the bucket and the next start restores it from there; `lookout
//! model list/show` read the bucket; the credentials never appear in the output.

mod e2e_support;

use std::process::Command;
use std::time::Duration;

use e2e_support::reqwest::blocking_client;
use e2e_support::{lookout_binary, now_ms, peers_venv, Lookout, MotoServer};

const SECRET: &str = "e2e-objstore-secret";

#[test]
fn the_detector_snapshot_lives_in_a_versioned_s3_bucket() {
    let Some(moto) = MotoServer::start("tests/peers/install-objstore.sh") else {
        return;
    };
    let endpoint = moto.endpoint.clone();
    // The only test of this file: the children inherit these credentials.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDOBJSTORE");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let created = Command::new(peers_venv().join("bin/python"))
        .arg("-c")
        .arg(
            "import sys, boto3\n\
             s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')\n\
             s3.create_bucket(Bucket='lookout-state')\n\
             s3.put_bucket_versioning(Bucket='lookout-state', VersioningConfiguration={'Status': 'Enabled'})\n",
        )
        .arg(&endpoint)
        .output()
        .expect("running python with boto3");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    let config = format!(
        "[detection]\nprofile = \"default\"\n\n[object_store]\n\
         s3 = {{ bucket = \"lookout-state\", endpoint = \"{endpoint}\", prefix = \"node-a\" }}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = (now_ms() - 400 * 10_000) / 10_000 * 10_000;
    let samples: Vec<String> = (0..300i64)
        .map(|i| {
            format!(
                r#"{{"name":"latency","labels":{{"host":"web"}},"timestamp":{},"value":{}}}"#,
                start + i * 10_000,
                50.0 + ((i * 7919) % 13) as f64 * 0.5
            )
        })
        .collect();
    let mut first = Lookout::start(&data, &config);
    let response = blocking_client()
        .post(first.url("/api/v1/samples"))
        .body(format!("[{}]", samples.join(",")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let (clean, log) = first.guard.signal_and_wait("TERM", Duration::from_secs(60));
    assert!(clean, "{log}");
    assert!(
        log.contains("detector snapshot saved as snapshots/detectors version 1: 1 series"),
        "{log}"
    );
    let second = Lookout::start(&data, &config);
    let log = second.guard.output();
    assert!(
        log.contains("detectors restored from snapshots/detectors version 1: 1 series"),
        "{log}"
    );
    assert!(!log.contains("warmed up from stored history"), "{log}");
    assert!(!log.contains(SECRET));

    let config_path = data.with_extension("toml");
    let model = |args: &[&str]| {
        let output = Command::new(lookout_binary())
            .arg("model")
            .args(args)
            .arg("--config")
            .arg(&config_path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{text}");
        assert!(!text.contains(SECRET));
        text
    };
    let listed = model(&["list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("snapshots/detectors ")
                && l.split_whitespace().nth(1) == Some("1")),
        "{listed}"
    );
    let shown = model(&["show", "snapshots/detectors"]);
    assert!(shown.contains("in s3://lookout-state/node-a/"), "{shown}");
    assert!(
        shown.contains("version 1: detector-snapshot format 1"),
        "{shown}"
    );
}
