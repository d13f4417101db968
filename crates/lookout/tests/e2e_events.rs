//! Events end to end with the real binary and a real Alertmanager: an event pushed to
//! `lookout serve` is stored, listed, seen on the live stream and alerted through
//! Alertmanager with its evidence; a silence on another host keeps that host's event
//! alert out of Alertmanager.

mod e2e_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc::channel;
use std::time::Duration;

use e2e_support::reqwest::blocking_client;
use e2e_support::{eventually, find_peer, free_port, now_ms, ChildGuard, Lookout};
use serde_json::{json, Value};

const AM_CONFIG: &str =
    "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n";

fn config(alertmanager: &str) -> String {
    format!(
        r#"[[alert.notifier]]
name = "am"
type = "alertmanager"
url = "{alertmanager}"

[[alert.rule]]
name = "ssh-bruteforce"
event = "ssh_bruteforce"
match = '{{host=~"web-.*"}}'
notify = ["am"]
group_by = ["host"]
group_wait = "100ms"
resolve_hold = "10m"
"#
    )
}

fn event(host: &str, failures: u64) -> Value {
    let now = now_ms();
    json!({
        "timestamp_ms": now,
        "kind": "ssh_bruteforce",
        "domain": "login",
        "severity": "warning",
        "entity": { "host": host, "source_ip": "203.0.113.9" },
        "summary": format!("{failures} failed logins on {host}"),
        "evidence": {
            "counts": { "failures": failures },
            "examples": ["Failed password for root from 203.0.113.9 port 4242 ssh2"],
            "first_ms": now - 60_000,
            "last_ms": now,
        },
    })
}

fn post(lookout: &Lookout, path: &str, body: &Value) -> Value {
    let response = blocking_client()
        .post(lookout.url(path))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap_or_else(|error| panic!("POST {path}: {error}"));
    let status = response.status();
    let text = response.text().unwrap_or_default();
    assert_eq!(status, 200, "POST {path}: {text}");
    serde_json::from_str(&text).expect("JSON answer")
}

fn alertmanager_alerts(base: &str) -> Vec<Value> {
    blocking_client()
        .get(format!("{base}/api/v2/alerts"))
        .send()
        .ok()
        .and_then(|response| response.json().ok())
        .and_then(|alerts: Value| alerts.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|alert| alert["labels"]["alertname"] == "ssh-bruteforce")
        .collect()
}

/// Reads the live stream of events on a raw connection; sends each chunk of text read.
fn watch_stream(port: u16) -> std::sync::mpsc::Receiver<String> {
    let (sender, receiver) = channel();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the stream");
    stream
        .write_all(b"GET /api/v1/stream?events=all HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(read) = stream.read(&mut buffer) {
            if read == 0
                || sender
                    .send(String::from_utf8_lossy(&buffer[..read]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    receiver
}

#[test]
fn an_event_is_stored_listed_streamed_alerted_and_silenced() {
    let Some(binary) = find_peer("prometheus-alertmanager", "prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(&am_config, AM_CONFIG).unwrap();
    let am_port = free_port();
    let _alertmanager = ChildGuard::spawn(
        "alertmanager",
        Command::new(binary)
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("am").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address="),
        &dir.path().join("alertmanager.log"),
    );
    let am = format!("http://127.0.0.1:{am_port}");
    eventually("Alertmanager ready", Duration::from_secs(30), || {
        blocking_client()
            .get(format!("{am}/-/ready"))
            .send()
            .ok()
            .filter(|response| response.status() == 200)
    });
    let lookout = Lookout::start(&dir.path().join("data"), &config(&am));

    let live = watch_stream(lookout.port);
    let mut seen = String::new();
    eventually("the stream is ready", Duration::from_secs(10), || {
        seen.extend(live.try_iter());
        seen.contains("event: ready").then_some(())
    });

    // Pushed and stored.
    let answer = post(&lookout, "/api/v1/events", &json!([event("web-1", 37)]));
    let id = answer["data"]["ids"][0].as_i64().expect("an id");

    // Listed, and read by id.
    let listed = lookout.get_json("/api/v1/events?from=now-1h&kind=ssh_bruteforce");
    let events = listed["data"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{listed}");
    assert_eq!(events[0]["id"], id);
    assert_eq!(events[0]["evidence"]["counts"]["failures"], 37);
    let one = lookout.get_json(&format!("/api/v1/events/{id}"));
    assert_eq!(one["data"]["summary"], "37 failed logins on web-1");

    // Seen on the live stream.
    eventually(
        "the event on the live stream",
        Duration::from_secs(10),
        || {
            seen.extend(live.try_iter());
            (seen.contains("event: events") && seen.contains("37 failed logins on web-1"))
                .then_some(())
        },
    );

    // Alerted through Alertmanager, with its evidence.
    let alert = eventually(
        "the event alert in Alertmanager",
        Duration::from_secs(20),
        || alertmanager_alerts(&am).into_iter().next(),
    );
    assert_eq!(alert["labels"]["host"], "web-1");
    assert_eq!(alert["labels"]["event"], "ssh_bruteforce");
    assert_eq!(alert["annotations"]["summary"], "37 failed logins on web-1");
    assert_eq!(alert["annotations"]["event_id"], id.to_string());
    assert!(alert["annotations"]["evidence"]
        .as_str()
        .unwrap()
        .contains("failures=37"));

    // Silenced: web-2's event alert lives in lookout, muted, and never reaches Alertmanager.
    let silence = post(
        &lookout,
        "/api/v1/silences",
        &json!({
            "matchers": "{event=\"ssh_bruteforce\",host=\"web-2\"}",
            "ends_ms": now_ms() + 3_600_000,
            "author": "e2e",
            "comment": "known scanner",
        }),
    );
    let silence_id = silence["data"]["id"].as_i64().unwrap();
    post(&lookout, "/api/v1/events", &json!([event("web-2", 12)]));
    let muted = eventually("web-2's alert, silenced", Duration::from_secs(10), || {
        let alerts = lookout.get_json("/api/v1/alerts?rule=ssh-bruteforce");
        alerts["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|alert| alert["labels"]["host"] == "web-2")
            .cloned()
    });
    assert_eq!(muted["silenced_by"], json!([silence_id]));
    std::thread::sleep(Duration::from_secs(3));
    let hosts: Vec<Value> = alertmanager_alerts(&am)
        .iter()
        .map(|alert| alert["labels"]["host"].clone())
        .collect();
    assert_eq!(hosts, [json!("web-1")], "web-2 is silenced");
}
