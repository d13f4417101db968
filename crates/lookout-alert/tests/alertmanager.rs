//! The Alertmanager notifier against the real Debian `prometheus-alertmanager`: the alert
//! shows up in its API with our labels and annotations, then resolves.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use lookout_alert::model::EventKind;
use lookout_config::{AlertmanagerNotifier, NotifierKind};
use lookout_model::clock::now_ms;
use serde_json::Value;
use support::*;

const AM_CONFIG: &str =
    "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n";

fn start_alertmanager(dir: &std::path::Path) -> Option<(ChildGuard, String)> {
    let binary = peer(
        "Alertmanager (Debian package prometheus-alertmanager)",
        &[
            PathBuf::from("/usr/bin/prometheus-alertmanager"),
            PathBuf::from("/usr/local/bin/alertmanager"),
        ],
    )?;
    let config = dir.join("alertmanager.yml");
    std::fs::write(&config, AM_CONFIG).unwrap();
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting alertmanager");
    Some((ChildGuard(child), format!("http://127.0.0.1:{port}")))
}

async fn our_alert(client: &reqwest::Client, base: &str) -> Option<Value> {
    let alerts: Value = client
        .get(format!("{base}/api/v2/alerts"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    alerts
        .as_array()?
        .iter()
        .find(|alert| alert["labels"]["alertname"] == "cpu-high")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_appear_in_alertmanager_and_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_alertmanager, base)) = start_alertmanager(dir.path()) else {
        return;
    };
    assert!(
        wait_for_http(&format!("{base}/-/ready"), Duration::from_secs(20)).await,
        "alertmanager starts"
    );
    let service = start(
        &[rule("cpu-high", r#"{domain="cpu"}"#, &["am"])],
        &[notifier(
            "am",
            NotifierKind::Alertmanager(AlertmanagerNotifier {
                url: base.clone(),
                headers: Default::default(),
            }),
            Duration::from_secs(5),
        )],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    let series = cpu_series("web-7");
    let start_ms = now_ms() - 30_000;
    alerts.forward(anomaly(EventKind::Open, &series, start_ms, 0.995));
    let client = reqwest::Client::new();
    let alert = eventually(Duration::from_secs(15), || our_alert(&client, &base))
        .await
        .expect("the alert shows up in Alertmanager");
    let labels = &alert["labels"];
    assert_eq!(labels["host"], "web-7");
    assert_eq!(
        labels["severity"], "critical",
        "score 0.995 maps to critical"
    );
    assert_eq!(labels["team"], "ops");
    assert_eq!(labels["metric"], "cpu_utilization");
    assert_eq!(labels["domain"], "cpu");
    let annotations = &alert["annotations"];
    assert_eq!(annotations["runbook"], "https://wiki.example/cpu");
    assert_eq!(
        annotations["summary"],
        "cpu_utilization anomaly on host web-7"
    );
    assert!(annotations["description"]
        .as_str()
        .unwrap()
        .contains("How bad: score 0.995"));
    assert!(annotations["dashboard"]
        .as_str()
        .unwrap()
        .contains("#/series?match="));
    assert!(annotations["fingerprint"].as_str().unwrap().len() == 16);
    assert_eq!(alert["status"]["state"], "active");
    assert!(alert["generatorURL"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:8080/#/series"));

    alerts.forward(anomaly(EventKind::Close, &series, start_ms, 0.0));
    let resolved = eventually(Duration::from_secs(15), || {
        let client = client.clone();
        let base = base.clone();
        async move {
            match our_alert(&client, &base).await {
                None => Some("gone from the active list".to_string()),
                Some(alert) => {
                    let ends =
                        chrono::DateTime::parse_from_rfc3339(alert["endsAt"].as_str()?).ok()?;
                    (ends.timestamp_millis() <= now_ms()).then(|| format!("ended at {ends}"))
                }
            }
        }
    })
    .await;
    assert!(resolved.is_some(), "the alert resolves in Alertmanager");
    service.stop();
}

async fn alerts_named(client: &reqwest::Client, base: &str, name: &str) -> Vec<Value> {
    let Ok(response) = client.get(format!("{base}/api/v2/alerts")).send().await else {
        return Vec::new();
    };
    let alerts: Value = response.json().await.unwrap_or(Value::Null);
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|alert| alert["labels"]["alertname"] == name)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_alerts_reach_alertmanager_with_their_evidence_unless_silenced() {
    use lookout_model::{Domain, Event, EventId, EventRecord, Severity};

    let dir = tempfile::tempdir().unwrap();
    let Some((_alertmanager, base)) = start_alertmanager(dir.path()) else {
        return;
    };
    assert!(
        wait_for_http(&format!("{base}/-/ready"), Duration::from_secs(20)).await,
        "alertmanager starts"
    );
    let mut ssh = rule("ssh", r#"{host=~"web-.*"}"#, &["am"]);
    ssh.event = Some("ssh_bruteforce".into());
    ssh.min_score = 0.0;
    ssh.resolve_hold = Duration::from_secs(60);
    let service = start(
        &[ssh],
        &[notifier(
            "am",
            NotifierKind::Alertmanager(AlertmanagerNotifier {
                url: base.clone(),
                headers: Default::default(),
            }),
            Duration::from_secs(5),
        )],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    let now = now_ms();
    alerts
        .add_silence(lookout_alert::Silence {
            id: 0,
            matchers: r#"{event="ssh_bruteforce",host="web-2"}"#.into(),
            starts_ms: now - 1_000,
            ends_ms: now + 3_600_000,
            every_ms: None,
            author: "test".into(),
            comment: "known scanner on web-2".into(),
            created_ms: now,
            expired_ms: None,
            created_by: String::new(),
        })
        .unwrap();
    let event = |id: i64, host: &str| EventRecord {
        id: EventId(id),
        event: Event::new(
            now - 5_000,
            "ssh_bruteforce",
            Domain::Login,
            Severity::Critical,
        )
        .with_entity("host", host)
        .with_summary(format!("37 failed logins on {host}"))
        .with_count("failures", 37)
        .with_field("source_ip", "203.0.113.9")
        .with_example("Failed password for root from 203.0.113.9 port 4242 ssh2"),
    };
    assert!(alerts.forward_event(event(1, "web-2")));
    assert!(alerts.forward_event(event(2, "web-1")));
    let client = reqwest::Client::new();
    let fired = eventually(Duration::from_secs(15), || {
        let client = client.clone();
        let base = base.clone();
        async move {
            let found = alerts_named(&client, &base, "ssh").await;
            (!found.is_empty()).then_some(found)
        }
    })
    .await
    .expect("the event alert shows up in Alertmanager");
    let alert = &fired[0];
    let labels = &alert["labels"];
    assert_eq!(labels["host"], "web-1");
    assert_eq!(labels["event"], "ssh_bruteforce");
    assert_eq!(labels["domain"], "login");
    assert_eq!(labels["severity"], "critical", "the event's severity wins");
    let annotations = &alert["annotations"];
    assert_eq!(annotations["summary"], "37 failed logins on web-1");
    assert_eq!(annotations["event_id"], "2");
    assert_eq!(
        annotations["evidence"],
        "failures=37, source_ip=\"203.0.113.9\""
    );
    assert!(annotations["examples"]
        .as_str()
        .unwrap()
        .contains("Failed password for root"));
    assert!(annotations["description"]
        .as_str()
        .unwrap()
        .contains("Event: #2 37 failed logins on web-1"));
    // The silenced host's alert lives in lookout (muted) but never reaches Alertmanager.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hosts: Vec<String> = alerts_named(&client, &base, "ssh")
        .await
        .iter()
        .map(|alert| alert["labels"]["host"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(hosts, ["web-1"], "web-2 is silenced");
    let stored = alerts.db.alerts(Some("ssh")).unwrap();
    assert_eq!(stored.len(), 2, "both alerts live in lookout");
    service.stop();
}
