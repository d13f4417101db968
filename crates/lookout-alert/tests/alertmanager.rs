//! The Alertmanager notifier against the real Debian `prometheus-alertmanager`: the alert
//! shows up in its API with our labels and annotations, then resolves.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use lookout_alert::model::{now_ms, EventKind};
use lookout_config::NotifierKind;
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
            NotifierKind::Alertmanager {
                url: base.clone(),
                headers: Default::default(),
            },
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
