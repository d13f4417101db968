//! Durability: alerting is killed with SIGKILL while deliveries are pending (the receiver
//! is down); after a restart on the same database every notification is delivered, once
//! per id, and none is lost.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use lookout_alert::model::EventKind;
use lookout_alert::outbox::AlertDb;
use lookout_model::clock::now_ms;
use support::*;

const CHILD_ENV: &str = "LOOKOUT_ALERT_KILL_CHILD";
const HOSTS: usize = 20;

fn rules() -> Vec<lookout_config::AlertRule> {
    vec![rule("cpu-high", r#"{domain="cpu"}"#, &["hook"])]
}

/// The child: queues one alert per host for a receiver that is not there, then waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process_queues_alerts() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (db, url) = spec.split_once('|').unwrap();
    let service = start(
        &rules(),
        &[webhook("hook", url, Some("k"))],
        PathBuf::from(db),
    );
    let alerts = service.handle();
    for host in 0..HOSTS {
        alerts.forward(anomaly(
            EventKind::Open,
            &cpu_series(&format!("web-{host}")),
            now_ms(),
            0.97,
        ));
    }
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_pending_deliveries_loses_nothing() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("alerts.db");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut child = ChildGuard(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_process_queues_alerts", "--nocapture"])
            .env(CHILD_ENV, format!("{}|{url}", db_path.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait until every group's message is in the outbox and some attempts failed.
    let queued = eventually(Duration::from_secs(20), || {
        let path = db_path.clone();
        async move {
            let db = AlertDb::open(&path).ok()?;
            let errors = db.delivery_errors(Some("hook"), 1000).ok()?;
            let status = db.notifier_status(&["hook".into()]).ok()?;
            (status[0].pending == HOSTS as u64 && errors.len() >= HOSTS).then_some(())
        }
    })
    .await;
    assert!(queued.is_some(), "the child queued every notification");
    // SIGKILL: no shutdown code runs.
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    // The receiver comes up on the same port; alerting restarts on the same database.
    let receiver = Receiver::start_on(port, vec![200]).await;
    let service = start(
        &rules(),
        &[webhook("hook", &url, Some("k"))],
        db_path.clone(),
    );
    let delivered = eventually(Duration::from_secs(20), || async {
        (receiver.count() >= HOSTS).then_some(())
    })
    .await;
    assert!(
        delivered.is_some(),
        "{} of {HOSTS} delivered after the restart",
        receiver.count()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bodies = receiver.bodies();
    let ids: BTreeSet<String> = bodies.iter().map(|b| b["id"].to_string()).collect();
    assert_eq!(
        ids.len(),
        HOSTS,
        "one message per group, each id once: {ids:?}"
    );
    assert_eq!(bodies.len(), HOSTS, "no duplicates");
    let hosts: BTreeSet<String> = bodies
        .iter()
        .map(|b| b["group_labels"]["host"].to_string())
        .collect();
    assert_eq!(hosts.len(), HOSTS);
    // The restored alerts are still firing and are not announced again.
    assert_eq!(service.handle().db.alerts(None).unwrap().len(), HOSTS);
    service.stop();
}
