//! The SMS notifiers end to end (rule fires -> outbox -> notifier -> peer):
//! - `sns_sms` against moto's server (PyPI `moto[server]`): the SMS moto's SNS backend
//!   recorded, read back through `support/moto_sms.py`;
//! - `twilio` against Stoplight Prism (`tests/peers/install-sms.sh`) mocking Twilio's
//!   API from Twilio's OpenAPI document (`../shared/specs/twilio_api_v2010.json`, read
//!   from there), run with `--errors` so a request the spec refuses fails the delivery.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use lookout_alert::model::EventKind;
use lookout_config::{
    NotifierKind, Secret, SmsRateLimit, SnsSmsNotifier, TwilioNotifier, TwilioSender,
};
use lookout_model::clock::now_ms;
use support::*;

fn limit(messages: u32) -> SmsRateLimit {
    SmsRateLimit {
        messages,
        window: Duration::from_secs(3600),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_sms_reaches_the_phone_numbers_in_one_gsm_7_message() {
    let Some(python) = peer(
        "python with moto in the peers venv",
        &[venv().join("bin/python")],
    ) else {
        return;
    };
    if !venv().join("bin/moto_server").is_file() {
        let _ = peer(
            "moto_server in the peers venv",
            &[venv().join("bin/moto_server")],
        );
        return;
    }
    // The script serves moto on `port` and its recorded messages on `port + 1`: both must be free.
    let port = loop {
        let port = free_port();
        if std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            break port;
        }
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_sms.py");
    let _moto = ChildGuard(
        Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto"),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let recorded = format!("http://127.0.0.1:{}/sms", port + 1);
    assert!(
        wait_for_http(&format!("{endpoint}/moto-api/"), Duration::from_secs(90)).await
            && wait_for_http(&recorded, Duration::from_secs(30)).await,
        "moto starts"
    );
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let dir = tempfile::tempdir().unwrap();
    let service = start(
        &[rule("cpu-high", r#"{domain="cpu"}"#, &["pager"])],
        &[notifier(
            "pager",
            NotifierKind::SnsSms(SnsSmsNotifier {
                to: vec!["+14155550100".into(), "+447700900123".into()],
                sender_id: Some("lookout".into()),
                sms_type: "Transactional".into(),
                region: "us-east-1".into(),
                endpoint: Some(endpoint.clone()),
                rate_limit: limit(1),
            }),
            Duration::from_secs(5),
        )],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    alerts.forward(anomaly(
        EventKind::Open,
        &cpu_series("web-3"),
        now_ms() - 10_000,
        0.93,
    ));
    let delivered = delivered_once(&alerts.db, "pager", Duration::from_secs(15)).await;
    let errors = alerts.db.delivery_errors(None, 5).unwrap();
    assert!(delivered, "published; errors: {errors:?}");
    let messages: serde_json::Value = reqwest::get(&recorded).await.unwrap().json().await.unwrap();
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let mut phones: Vec<&str> = messages
        .iter()
        .map(|m| m["phone"].as_str().unwrap())
        .collect();
    phones.sort();
    assert_eq!(phones, ["+14155550100", "+447700900123"]);
    let text = messages[0]["message"].as_str().unwrap();
    assert!(
        text.starts_with("[FIRING] cpu-high: cpu_utilization"),
        "{text}"
    );
    assert!(text.contains("http://127.0.0.1:8080/#/"), "{text}");
    assert!(lookout_alert::gsm7::length(text).unwrap() <= 160, "{text}");
    service.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_requests_pass_the_spec_and_excess_waits_as_rate_limited() {
    let npm = std::env::var_os("LOOKOUT_PEERS_NPM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/lookout/peers-npm")
        });
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/twilio_api_v2010.json");
    let Some(prism) = peer(
        "prism (tests/peers/install-sms.sh)",
        &[npm.join("node_modules/.bin/prism")],
    ) else {
        return;
    };
    let Some(spec) = peer("Twilio's OpenAPI document", &[spec]) else {
        return;
    };
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let _prism = ChildGuard(
        Command::new(prism)
            .args([
                "mock",
                "--errors",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg(&spec)
            .stdout(log.reopen().unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting prism"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let sid = "AC0123456789abcdef0123456789abcdef";
    let probe = format!("{base}/2010-04-01/Accounts/{sid}/Messages.json");
    assert!(
        wait_for_http(&probe, Duration::from_secs(60)).await,
        "prism starts"
    );
    // Prism refuses what the spec does not allow: a message without To.
    let refused = reqwest::Client::new()
        .post(&probe)
        .basic_auth(sid, Some("t"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Body=x")
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());

    let dir = tempfile::tempdir().unwrap();
    let service = start(
        &[rule("cpu-high", r#"{domain="cpu"}"#, &["oncall"])],
        &[notifier(
            "oncall",
            NotifierKind::Twilio(TwilioNotifier {
                account_sid: sid.into(),
                auth_token: Secret::new("s3cr3t-t0ken"),
                sender: TwilioSender::From("+14155550199".into()),
                to: vec!["+14155550100".into()],
                base_url: base.clone(),
                rate_limit: limit(1),
            }),
            Duration::from_secs(10),
        )],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    alerts.forward(anomaly(
        EventKind::Open,
        &cpu_series("web-3"),
        now_ms() - 10_000,
        0.93,
    ));
    let delivered = delivered_once(&alerts.db, "oncall", Duration::from_secs(20)).await;
    let errors = alerts.db.delivery_errors(None, 5).unwrap();
    assert!(delivered, "accepted by prism; errors: {errors:?}");
    let output = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        output.contains(&format!("/2010-04-01/Accounts/{sid}/Messages.json")),
        "prism saw the request: {output}"
    );
    // A second incident within the hour: over the limit, it waits as rate_limited.
    alerts.forward(anomaly(
        EventKind::Open,
        &cpu_series("web-4"),
        now_ms() - 5_000,
        0.97,
    ));
    let limited = eventually(Duration::from_secs(20), || async {
        let errors = alerts.db.delivery_errors(None, 20).unwrap();
        let text = format!("{errors:?}");
        text.contains("rate_limited").then_some(text)
    })
    .await
    .expect("the second message is held back as rate_limited");
    assert!(!limited.contains("s3cr3t"), "{limited}");
    let status = alerts.db.notifier_status(&["oncall".into()]).unwrap();
    assert_eq!(status[0].delivered, 1, "{status:?}");
    assert!(status[0].pending >= 1, "still in the outbox: {status:?}");
    service.stop();
}
