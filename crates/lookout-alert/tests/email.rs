//! The email notifier against a real SMTP server (PyPI `aiosmtpd`) with STARTTLS and AUTH:
//! the message's headers and body are checked; a wrong password is an `auth` error that
//! does not reveal the password.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use lookout_alert::model::EventKind;
use lookout_alert::Notifier;
use lookout_config::{EmailNotifier, NotifierKind, Secret};
use lookout_model::clock::now_ms;
use support::*;

/// The email notifier of these tests, trusting the test relay's self-signed certificate.
fn email_notifier(port: u16, password: &str, pem: &[u8]) -> Notifier {
    let config = email_config(port, password);
    let NotifierKind::Email(settings) = &config.kind else {
        unreachable!("an email configuration");
    };
    let mut email = lookout_alert::notify::email::Email::new(settings.clone(), config.timeout);
    email.trust_root_pem(pem);
    Notifier::from_delivery(
        config.name,
        "email",
        config.timeout,
        std::sync::Arc::new(email),
    )
}

fn email_config(port: u16, password: &str) -> lookout_config::NotifierConfig {
    notifier(
        "mail",
        NotifierKind::Email(EmailNotifier {
            smtp_host: "127.0.0.1".into(),
            smtp_port: port,
            starttls: true,
            username: Some("lookout".into()),
            password: Some(Secret::new(password)),
            from: "lookout@example.com".into(),
            to: vec!["ops@example.com".into(), "oncall@example.com".into()],
        }),
        Duration::from_secs(10),
    )
}

fn start_smtp(dir: &Path) -> Option<(ChildGuard, u16, Vec<u8>)> {
    let python = peer("aiosmtpd in the peers venv", &[venv().join("bin/aiosmtpd")])
        .map(|_| venv().join("bin/python"))?;
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_receiver.py");
    let child = Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(dir)
        .args(["lookout", "correct horse"])
        .stdout(Stdio::null())
        .spawn()
        .expect("starting the SMTP receiver");
    let guard = ChildGuard(child);
    let cert_path = dir.join("cert.pem");
    for _ in 0..200 {
        if let Ok(pem) = std::fs::read(&cert_path) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some((guard, port, pem));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the SMTP receiver did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_through_starttls_and_auth_with_headers_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_smtp, port, pem)) = start_smtp(dir.path()) else {
        return;
    };
    let mail = email_notifier(port, "correct horse", &pem);
    let service = start_with(
        &[rule("cpu-high", r#"{domain="cpu"}"#, &["mail"])],
        vec![mail],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    alerts.forward(anomaly(
        EventKind::Open,
        &cpu_series("web-1"),
        now_ms() - 90_000,
        0.96,
    ));
    let message_path = dir.path().join("message-1.json");
    let received = eventually(Duration::from_secs(20), || {
        let path = message_path.clone();
        async move { std::fs::read_to_string(path).ok() }
    })
    .await;
    let errors = alerts.db.delivery_errors(None, 10).unwrap();
    let received =
        received.unwrap_or_else(|| panic!("the SMTP server got the message; errors: {errors:?}"));
    let record: serde_json::Value = serde_json::from_str(&received).unwrap();
    assert_eq!(record["tls"], true, "STARTTLS was used");
    assert_eq!(record["authenticated"], true);
    assert_eq!(record["mail_from"], "lookout@example.com");
    assert_eq!(
        record["rcpt_tos"],
        serde_json::json!(["ops@example.com", "oncall@example.com"])
    );
    let data = record["data"].as_str().unwrap();
    let (headers, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .map(str::to_string)
    };
    assert_eq!(
        header("Subject").as_deref(),
        Some("[FIRING:1] cpu-high host=web-1")
    );
    assert_eq!(header("From").as_deref(), Some("lookout@example.com"));
    assert!(header("To").unwrap().contains("ops@example.com"));
    // The delivery is marked in the outbox once the SMTP transaction has returned,
    // which can be a moment after the server wrote the message down.
    let delivered = delivered_once(&alerts.db, "mail", Duration::from_secs(10)).await;
    assert!(delivered, "the outbox marks the email delivered");
    let message_id = header("Message-ID").unwrap();
    assert!(message_id.ends_with("@example.com>"), "{message_id}");
    let body = quoted_printable(body);
    for part in [
        "What: cpu_utilization (cpu) with host=\"web-1\", source=\"host\"",
        "Where: host web-1",
        "When: since",
        "How bad: score 0.960 (warning); value 97 vs expected 10..40",
        "Why: mad (0.999)",
        "runbook: https://wiki.example/cpu",
        "Dashboard: http://127.0.0.1:8080/#/series?match=",
    ] {
        assert!(body.contains(part), "{part:?} in\n{body}");
    }
    assert!(!data.contains("correct horse"));
    service.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_an_auth_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_smtp, port, pem)) = start_smtp(dir.path()) else {
        return;
    };
    let mail = email_notifier(port, "wrong-password-42", &pem);
    let rules =
        lookout_alert::compile_rules(&[rule("cpu-high", r#"{domain="cpu"}"#, &["mail"])]).unwrap();
    let sample =
        lookout_alert::sample::sample_notification(&rules[0], "http://127.0.0.1:8080", now_ms());
    let error = mail.deliver(&sample).await.unwrap_err();
    assert_eq!(error.reason, "auth", "{error}");
    assert!(!error.to_string().contains("wrong-password-42"));
    assert!(!format!("{mail:?}").contains("wrong-password-42"));
    // Without our root certificate the TLS handshake is refused.
    let untrusted = Notifier::from_config(
        &email_config(port, "correct horse"),
        &lookout_alert::notify::http_client(),
    );
    let error = untrusted.deliver(&sample).await.unwrap_err();
    assert_eq!(error.reason, "tls", "{error}");
}

/// Decodes a quoted-printable body (soft line breaks and `=XX` escapes).
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'=' && index + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&joined[index + 1..index + 3], 16) {
                out.push(byte);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
