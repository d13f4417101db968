//! End to end with the real binary: every ingestion protocol, durability across
//! `kill -9`, bad input, graceful shutdown.

mod e2e_support;

use std::time::Duration;

use e2e_support::reqwest::blocking_client;
use e2e_support::{now_ms, Lookout};
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;

/// No sources: the tests see only what they push.
const CONFIG: &str =
    "[server]\nmax_body_bytes = 65536\nmax_series = 40\n\n[detection]\nprofile = \"default\"\n";

fn query_value(lookout: &Lookout, selector: &str, time_ms: i64) -> Option<String> {
    let path = format!(
        "/api/v1/query?query={}&time={}",
        encode(selector),
        time_ms as f64 / 1000.0
    );
    let answer = lookout.get_json(&path);
    answer["data"]["result"][0]["value"][1]
        .as_str()
        .map(String::from)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn every_protocol_is_stored_and_queryable() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), CONFIG);
    let client = blocking_client();
    let now = now_ms() / 1000 * 1000;

    let key = SeriesKey::new("rw_metric").with_label("instance", "a:9100");
    let samples: Vec<Sample> = (0..5)
        .map(|i| Sample {
            key: key.clone(),
            timestamp_ms: now - 5000 + i * 1000,
            value: i as f64,
        })
        .collect();
    let response = client
        .post(lookout.url("/api/v1/write"))
        .body(encode_write_request(&samples))
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);

    let lines = format!("influx_cpu,host=h1 usage=42.5 {}\n", now / 1000);
    let response = client
        .post(lookout.url("/api/v2/write?precision=s"))
        .body(lines)
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);
    let lines = format!("influx_v1,host=h1 value=7i {}\n", now * 1_000_000);
    let response = client
        .post(lookout.url("/write"))
        .body(lines)
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);

    let json = format!(
        r#"[{{"name":"json_metric","labels":{{"k":"v"}},"timestamp":{now},"value":3.25}}]"#
    );
    let response = client
        .post(lookout.url("/api/v1/samples"))
        .body(json)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(
        query_value(&lookout, "rw_metric{instance=\"a:9100\"}", now - 1000).as_deref(),
        Some("4")
    );
    assert_eq!(
        query_value(&lookout, "influx_cpu_usage{host=\"h1\"}", now).as_deref(),
        Some("42.5")
    );
    assert_eq!(
        query_value(&lookout, "influx_v1_value", now).as_deref(),
        Some("7")
    );
    assert_eq!(
        query_value(&lookout, "json_metric{k=\"v\"}", now).as_deref(),
        Some("3.25")
    );
    let score = query_value(
        &lookout,
        "lookout_anomaly_score{lookout_metric=\"rw_metric\"}",
        now - 1000,
    )
    .expect("scored");
    assert!((0.0..=1.0).contains(&score.parse::<f64>().unwrap()));

    let metrics = lookout.metrics();
    for (protocol, count) in [("remote_write", 5), ("influx", 2), ("json", 1)] {
        let line = format!("lookout_ingest_samples_total{{protocol=\"{protocol}\"}} {count}\n");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut lookout = Lookout::start(&data, CONFIG);
    let client = blocking_client();
    let key = SeriesKey::new("durable").with_label("run", "1");
    let start = now_ms() / 1000 * 1000 - 200_000;
    let mut acknowledged = 0;
    for batch in 0..20 {
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                key: key.clone(),
                timestamp_ms: start + (batch * 10 + i) * 1000,
                value: (batch * 10 + i) as f64,
            })
            .collect();
        let response = client
            .post(lookout.url("/api/v1/write"))
            .body(encode_write_request(&samples))
            .send()
            .unwrap();
        assert_eq!(response.status(), 204);
        acknowledged += samples.len();
    }
    // No pause, no flush: SIGKILL right after the last acknowledgement.
    lookout.guard.kill_hard();

    let lookout = Lookout::start(&data, CONFIG);
    let path = format!(
        "/api/v1/query_range?query=durable&start={}&end={}&step=1",
        start / 1000,
        start / 1000 + 199
    );
    let answer = lookout.get_json(&path);
    let values = answer["data"]["result"][0]["values"]
        .as_array()
        .expect("the series is back");
    assert_eq!(
        values.len(),
        acknowledged,
        "every acknowledged sample survived kill -9"
    );
    assert_eq!(values[199][1], "199");
}

#[test]
fn bad_input_gets_a_named_4xx_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), CONFIG);
    let client = blocking_client();
    let now = now_ms();
    let nan = encode_write_request(&[Sample {
        key: SeriesKey::new("m"),
        timestamp_ms: now,
        value: f64::NAN,
    }]);
    let many_series: String = (0..41)
        .map(|i| format!(r#"{{"name":"card_{i}","timestamp":{now},"value":1}}"#))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "/api/v1/write",
            b"garbage, not snappy".to_vec(),
            400,
            "malformed_snappy",
        ),
        (
            "/api/v1/write",
            snap::raw::Encoder::new()
                .compress_vec(&[0x0a, 0xff, 0xff])
                .unwrap(),
            400,
            "malformed_protobuf",
        ),
        (
            "/api/v2/write",
            b"cpu,host=a usage=oops\n".to_vec(),
            400,
            "malformed_line",
        ),
        (
            "/api/v1/samples",
            b"{not json".to_vec(),
            400,
            "malformed_json",
        ),
        ("/api/v1/write", nan, 400, "non_finite_value"),
        (
            "/api/v1/samples",
            format!(
                r#"[{{"name":"m","timestamp":{},"value":1}}]"#,
                now + 7 * 86_400_000
            )
            .into_bytes(),
            400,
            "timestamp_out_of_range",
        ),
        (
            "/api/v1/samples",
            format!(r#"[{{"name":"m","labels":{{"0bad":"x"}},"timestamp":{now},"value":1}}]"#)
                .into_bytes(),
            400,
            "invalid_label_name",
        ),
        ("/api/v1/samples", vec![b'['; 70_000], 413, "body_too_large"),
        (
            "/api/v1/samples",
            format!("[{many_series}]").into_bytes(),
            400,
            "series_limit",
        ),
    ];
    for (path, body, status, reason) in &cases {
        let response = client
            .post(lookout.url(path))
            .body(body.clone())
            .send()
            .unwrap();
        let got = response.status().as_u16();
        let text = response.text().unwrap();
        assert_eq!(got, *status, "{reason}: {text}");
        assert!(
            text.contains(reason),
            "the answer names the problem ({reason}): {text}"
        );
    }
    let metrics = lookout.metrics();
    for (_, _, _, reason) in &cases {
        let line = format!("lookout_ingest_rejected_requests_total{{reason=\"{reason}\"}} 1\n");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    assert!(lookout.get_json("/api/v1/series?match[]=card_0")["data"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn sigterm_shuts_down_cleanly_and_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut lookout = Lookout::start(&data, CONFIG);
    let now = now_ms();
    let json = format!(r#"[{{"name":"graceful","timestamp":{now},"value":11}}]"#);
    assert_eq!(
        blocking_client()
            .post(lookout.url("/api/v1/samples"))
            .body(json)
            .send()
            .unwrap()
            .status(),
        200
    );
    let (success, output) = lookout
        .guard
        .signal_and_wait("TERM", Duration::from_secs(30));
    assert!(success, "exit status after SIGTERM:\n{output}");
    assert!(output.contains("stopped cleanly"), "{output}");
    let lookout = Lookout::start(&data, CONFIG);
    assert_eq!(
        query_value(&lookout, "graceful", now).as_deref(),
        Some("11")
    );
}
