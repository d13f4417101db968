//! Webhook (HMAC-signed JSON) and Slack-compatible notifiers against an HTTP receiver
//! started by the test, through the whole service: events → evaluator → outbox → delivery.

mod support;

use std::time::Duration;

use hmac::{Hmac, Mac};
use lookout_alert::model::EventKind;
use lookout_config::{NotifierKind, Secret, SlackNotifier};
use sha2::Sha256;
use support::*;

fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == hex
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_is_signed_and_slack_gets_text_then_resolution() {
    let hook = Receiver::start(vec![200]).await;
    let slack = Receiver::start(vec![200]).await;
    let dir = tempfile::tempdir().unwrap();
    let service = start(
        &[rule("cpu-high", r#"{domain="cpu"}"#, &["hook", "slack"])],
        &[
            webhook("hook", &hook.url, Some("s3cr3t-key")),
            notifier(
                "slack",
                NotifierKind::Slack(SlackNotifier {
                    url: Secret::new(slack.url.clone()),
                }),
                Duration::from_secs(2),
            ),
        ],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    let web1 = cpu_series("web-1");
    let start_ms = lookout_model::clock::now_ms() - 5_000;
    alerts.forward(anomaly(EventKind::Open, &web1, start_ms, 0.97));
    let delivered = eventually(Duration::from_secs(10), || async {
        (hook.count() >= 1 && slack.count() >= 1).then_some(())
    })
    .await;
    assert!(delivered.is_some(), "webhook and slack receive the alert");

    let captured = hook.requests.lock().unwrap()[0].clone();
    let signature = captured.headers["x-lookout-signature"].to_str().unwrap();
    assert!(
        verify("s3cr3t-key", &captured.body, signature),
        "HMAC verifies"
    );
    assert!(!verify("other-key", &captured.body, signature));
    assert_eq!(captured.headers["authorization"], "Bearer hook-token-123");
    let body: serde_json::Value = serde_json::from_slice(&captured.body).unwrap();
    assert_eq!(
        captured.headers["x-lookout-notification-id"],
        body["id"].as_str().unwrap()
    );
    assert_eq!(body["status"], "firing");
    assert_eq!(body["rule"], "cpu-high");
    assert_eq!(body["group_labels"]["host"], "web-1");
    let alert = &body["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "cpu-high");
    assert_eq!(alert["labels"]["team"], "ops");
    assert_eq!(alert["labels"]["domain"], "cpu");
    assert_eq!(alert["expected"]["upper"], 40.0);
    assert!(alert["dashboard"]
        .as_str()
        .unwrap()
        .contains("/#/series?match=cpu_utilization"));
    assert!(alert["why"].as_str().unwrap().contains("mad"));
    let text = body["text"].as_str().unwrap();
    for part in [
        "What:",
        "Where: host web-1",
        "When: since",
        "How bad: score 0.970",
        "Why: mad",
        "runbook",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
    let slack_body = &slack.bodies()[0];
    let slack_text = slack_body["text"].as_str().unwrap();
    assert!(
        slack_text.starts_with("*[FIRING:1] cpu-high host=web-1*"),
        "{slack_text}"
    );

    // The anomaly ends: after the resolve hold, one resolve message each.
    alerts.forward(anomaly(EventKind::Close, &web1, start_ms, 0.0));
    let resolved = eventually(Duration::from_secs(10), || async {
        (hook.count() >= 2 && slack.count() >= 2).then_some(())
    })
    .await;
    assert!(resolved.is_some(), "resolve notifications are sent");
    let last = hook.bodies().pop().unwrap();
    assert_eq!(last["status"], "resolved");
    assert_eq!(last["alerts"][0]["status"], "resolved");
    assert_eq!(last["alerts"][0]["fingerprint"], alert["fingerprint"]);
    assert_ne!(last["id"], body["id"]);
    // Nothing else is sent: no duplicates.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((hook.count(), slack.count()), (2, 2));
    let history = alerts.db.history("cpu-high", 50).unwrap();
    let events: Vec<&str> = history.iter().rev().map(|h| h.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "pending",
            "firing",
            "notified",
            "resolving",
            "resolved",
            "notified"
        ]
    );
    service.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receivers_back_off_and_do_not_hold_up_the_others() {
    // flaky: 503, then 404, then accepts. slow: answers after the timeout. down: nothing listens.
    let flaky = Receiver::start(vec![503, 404, 200]).await;
    let slow = Receiver::start(vec![200]).await;
    slow.set_delay(Duration::from_secs(5));
    let healthy = Receiver::start(vec![200]).await;
    let down_url = format!("http://127.0.0.1:{}/hook", free_port());
    let mut slow_config = webhook("slow", &slow.url, None);
    slow_config.timeout = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let service = start(
        &[rule(
            "cpu-high",
            r#"{domain="cpu"}"#,
            &["flaky", "slow", "down", "healthy"],
        )],
        &[
            webhook("flaky", &flaky.url, Some("k")),
            slow_config,
            webhook("down", &down_url, None),
            webhook("healthy", &healthy.url, None),
        ],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    alerts.forward(anomaly(
        EventKind::Open,
        &cpu_series("db-1"),
        lookout_model::clock::now_ms(),
        0.99,
    ));
    let healthy_at = eventually(Duration::from_secs(5), || async {
        (healthy.count() == 1).then_some(())
    })
    .await;
    assert!(
        healthy_at.is_some(),
        "the healthy notifier is not held up by the others"
    );
    let flaky_done = eventually(Duration::from_secs(10), || async {
        let status = alerts.db.notifier_status(&["flaky".into()]).unwrap();
        (status[0].delivered == 1).then_some(())
    })
    .await;
    assert!(
        flaky_done.is_some(),
        "the flaky notifier delivers after retrying"
    );
    assert_eq!(flaky.count(), 3, "503, 404, then 200");
    let flaky_requests = flaky.requests.lock().unwrap().clone();
    let first_gap = flaky_requests[1].at - flaky_requests[0].at;
    let second_gap = flaky_requests[2].at - flaky_requests[1].at;
    assert!(
        first_gap >= Duration::from_millis(50),
        "backs off: {first_gap:?}"
    );
    assert!(
        second_gap >= Duration::from_millis(100),
        "backs off more: {second_gap:?}"
    );
    let ids: Vec<String> = flaky.bodies().iter().map(|b| b["id"].to_string()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "retries carry the same id: {ids:?}"
    );

    // Errors are visible by notifier and reason, without secrets.
    let reasons = eventually(Duration::from_secs(5), || async {
        let errors = alerts.db.delivery_errors(None, 100).unwrap();
        let has = |notifier: &str, reason: &str| {
            errors
                .iter()
                .any(|e| e.notifier == notifier && e.reason == reason)
        };
        (has("flaky", "http_5xx")
            && has("flaky", "http_4xx")
            && has("slow", "timeout")
            && has("down", "connect"))
        .then_some(errors)
    })
    .await
    .expect("every failure reason is recorded");
    for error in &reasons {
        assert!(!error.message.contains("hook-token-123"), "{error:?}");
        assert!(!error.message.contains("127.0.0.1"), "no URL in {error:?}");
    }
    assert!(alerts.metrics.failures("down", "connect") >= 1);
    assert!(alerts.metrics.failures("slow", "timeout") >= 1);
    assert_eq!(alerts.metrics.failures("flaky", "http_5xx"), 1);
    let mut writer = lookout_protocol::exposition::ExpositionWriter::new();
    alerts.metrics.render(&mut writer);
    let text = writer.finish();
    assert!(text
        .contains("lookout_alert_delivery_failures_total{notifier=\"down\",reason=\"connect\"}"));
    assert!(!text.contains("hook-token-123"));
    let status = alerts
        .db
        .notifier_status(&["down".into(), "slow".into()])
        .unwrap();
    assert!(
        status.iter().all(|s| s.pending == 1 && s.delivered == 0),
        "{status:?}"
    );
    service.stop();
}
