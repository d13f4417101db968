//! Alerting end to end with the real binary: `lookout serve` with a webhook notifier
//! pointing at a receiver in this test (loopback), an anomalous series pushed through
//! `/api/v1/samples`, and the alert arriving at the receiver; `lookout alert test RULE`
//! delivering a sample alert to the same kind of receiver.

mod e2e_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use e2e_support::reqwest::blocking_client;
use e2e_support::{lookout_binary, now_ms, Lookout};
use serde_json::{json, Value};

/// One request the receiver got.
#[derive(Debug)]
struct Received {
    at: Instant,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A minimal HTTP/1.1 receiver on 127.0.0.1: answers every request `200 ok` (closing the
/// connection) and hands it to the test. Its thread ends with the test process.
struct WebhookReceiver {
    url: String,
    requests: Receiver<Received>,
}

impl WebhookReceiver {
    fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let (sender, requests) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sender = sender.clone();
                std::thread::spawn(move || serve_one(stream, &sender));
            }
        });
        WebhookReceiver { url, requests }
    }

    /// The next request, or a panic naming `what` after `timeout`.
    fn next(&self, what: &str, timeout: Duration) -> Received {
        self.requests
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("no webhook request within {timeout:?}: {what}"))
    }
}

fn serve_one(stream: TcpStream, sender: &Sender<Received>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let at = Instant::now();
    let mut stream = reader.into_inner();
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nok",
    );
    let _ = sender.send(Received {
        at,
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
}

/// A configuration without sources (the test pushes its samples), with one webhook
/// notifier and a CPU rule grouped by host.
fn config(webhook_url: &str) -> String {
    format!(
        r#"[detection]
profile = "default"

[[alert.notifier]]
name = "hook"
type = "webhook"
url = "{webhook_url}"
secret = "e2e-signing-key"

[[alert.rule]]
name = "cpu-spike"
match = '{{domain="cpu"}}'
min_score = 0.5
severity = "warning"
labels = {{ team = "ops" }}
annotations = {{ runbook = "https://wiki.example/cpu" }}
notify = ["hook"]
group_by = ["host"]
group_wait = "100ms"
group_interval = "1m"
resolve_hold = "30s"
"#
    )
}

/// Deterministic noise in [-0.5, 0.5).
fn noise(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
}

fn samples(start_ms: i64, range: std::ops::Range<i64>, value: impl Fn(i64) -> f64) -> String {
    let points: Vec<Value> = range
        .map(|i| {
            json!({
                "name": "cpu_utilization",
                "labels": { "host": "web-7", "cpu": "total" },
                "timestamp": start_ms + i * 1000,
                "value": value(i),
            })
        })
        .collect();
    Value::Array(points).to_string()
}

fn push(lookout: &Lookout, body: String) {
    let response = blocking_client()
        .post(lookout.url("/api/v1/samples"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .expect("POST /api/v1/samples");
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().unwrap_or_default());
}

#[test]
fn a_spike_pushed_to_serve_reaches_the_webhook() {
    let receiver = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), &config(&receiver.url));

    // 400 s of a steady CPU around 20 %, then a spike to 95 %.
    let start = now_ms() - 600_000;
    let mut state = 7u64;
    let steady: Vec<f64> = (0..400).map(|_| 20.0 + noise(&mut state)).collect();
    for chunk in (0..400).step_by(100) {
        push(
            &lookout,
            samples(start, chunk..chunk + 100, |i| steady[i as usize]),
        );
    }
    assert!(
        receiver.requests.try_recv().is_err(),
        "a steady series sends no alert"
    );
    let spike_sent = Instant::now();
    push(&lookout, samples(start, 400..405, |_| 95.0));

    let request = receiver.next("the alert of the spike", Duration::from_secs(30));
    println!(
        "sample request sent → webhook request received: {:?} (group_wait 100ms)",
        request.at.duration_since(spike_sent)
    );
    assert_eq!(request.path, "/hook");
    let body = &request.body;
    assert_eq!(body["status"], "firing", "{body:#}");
    assert_eq!(body["rule"], "cpu-spike");
    assert_eq!(body["test"], false);
    assert_eq!(body["group_labels"]["host"], "web-7");
    let id = body["id"].as_str().expect("notification id");
    assert_eq!(request.header("X-Lookout-Notification-Id"), Some(id));
    assert!(
        request
            .header("X-Lookout-Signature")
            .is_some_and(|value| value.starts_with("sha256=")),
        "signed with the notifier's secret: {:?}",
        request.headers
    );
    let alerts = body["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{body:#}");
    let alert = &alerts[0];
    let series = alert["series"].as_str().unwrap();
    assert!(
        series.contains("cpu_utilization") && series.contains("web-7"),
        "{series}"
    );
    assert_eq!(alert["labels"]["host"], "web-7");
    assert_eq!(alert["labels"]["alertname"], "cpu-spike");
    assert_eq!(alert["labels"]["team"], "ops");
    assert_eq!(alert["annotations"]["runbook"], "https://wiki.example/cpu");
    assert!(alert["score"].as_f64().unwrap() >= 0.5, "{alert:#}");
    assert_eq!(alert["value"], 95.0);
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("web-7") && text.contains("cpu_utilization"),
        "the message names the series and its host: {text}"
    );
    assert!(
        alert["dashboard"]
            .as_str()
            .unwrap()
            .starts_with(&lookout.base),
        "{alert:#}"
    );

    // The API shows the firing alert; the delivery is counted.
    let alerts = lookout.get_json("/api/v1/alerts?rule=cpu-spike");
    let listed = alerts["data"]["alerts"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{alerts:#}");
    assert_eq!(listed[0]["state"], "firing");
    let metrics = lookout.metrics();
    assert!(
        metrics.contains("lookout_alert_deliveries_total{notifier=\"hook\"} 1"),
        "{metrics}"
    );
    // One message for the incident: nothing more within the group interval.
    assert!(receiver
        .requests
        .recv_timeout(Duration::from_millis(500))
        .is_err());
}

#[test]
fn alert_test_delivers_a_sample_alert_of_the_rule() {
    let receiver = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("lookout.toml");
    std::fs::write(&config_path, config(&receiver.url)).unwrap();

    let output = Command::new(lookout_binary())
        .args(["alert", "test", "cpu-spike", "--config"])
        .arg(&config_path)
        .output()
        .expect("running lookout alert test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("hook (webhook): delivered"),
        "stdout:\n{stdout}"
    );

    let request = receiver.next("the sample alert", Duration::from_secs(5));
    let body = &request.body;
    assert_eq!(body["test"], true, "{body:#}");
    assert_eq!(body["rule"], "cpu-spike");
    assert_eq!(body["status"], "firing");
    let alert = &body["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "cpu-spike");
    assert!(alert["labels"]["host"].is_string(), "{alert:#}");
    assert!(
        stdout.contains(body["id"].as_str().unwrap()),
        "the printed message id is the delivered one: {stdout}"
    );
    assert!(
        !stdout.contains("e2e-signing-key") && !stderr.contains("e2e-signing-key"),
        "the webhook secret is never printed"
    );

    // An unknown rule is an error naming the known ones.
    let output = Command::new(lookout_binary())
        .args(["alert", "test", "nope", "--config"])
        .arg(&config_path)
        .output()
        .expect("running lookout alert test");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cpu-spike"), "{stderr}");
}
