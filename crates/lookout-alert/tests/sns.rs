//! The SNS notifier against moto's server mode (PyPI `moto[server]`): a topic with an SQS
//! queue subscribed; the alert published to the topic is read back from the queue through
//! moto's (AWS-compatible) API, with its subject, text and notification id attribute.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use lookout_alert::model::EventKind;
use lookout_aws::{sign, Credentials, SigningRequest};
use lookout_config::{NotifierKind, SnsNotifier};
use lookout_model::clock::now_ms;
use support::*;

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None)
}

fn encode(text: &str) -> String {
    lookout_alert::content::encode_component(text)
}

/// One signed Query API call; returns the XML answer.
async fn call(endpoint: &str, service: &str, params: &[(&str, &str)]) -> String {
    let form = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let host = endpoint.trim_start_matches("http://");
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let signed = sign(
        &SigningRequest {
            method: "POST",
            host,
            path: "/",
            query: "",
            headers: &[("content-type", content_type)],
            body: form.as_bytes(),
        },
        &credentials(),
        "us-east-1",
        service,
        chrono::Utc::now(),
    );
    let request = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", content_type)
        .body(form);
    let response = signed.apply(request).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{service} {params:?}: {status} {text}");
    text
}

fn element(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(
        xml[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_published_to_the_topic() {
    let Some(moto) = peer(
        "moto_server in the peers venv",
        &[venv().join("bin/moto_server")],
    ) else {
        return;
    };
    let port = free_port();
    let _moto = ChildGuard(
        Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server"),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    assert!(
        wait_for_http(&format!("{endpoint}/moto-api/"), Duration::from_secs(30)).await,
        "moto starts"
    );
    // The notifier reads the standard AWS environment.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let topic = call(
        &endpoint,
        "sns",
        &[
            ("Action", "CreateTopic"),
            ("Version", "2010-03-31"),
            ("Name", "lookout-alerts"),
        ],
    )
    .await;
    let topic_arn = element(&topic, "TopicArn").expect("a topic ARN");
    let queue = call(
        &endpoint,
        "sqs",
        &[
            ("Action", "CreateQueue"),
            ("Version", "2012-11-05"),
            ("QueueName", "alert-inbox"),
        ],
    )
    .await;
    let queue_url = element(&queue, "QueueUrl").expect("a queue URL");
    let queue_arn = "arn:aws:sqs:us-east-1:123456789012:alert-inbox";
    call(
        &endpoint,
        "sns",
        &[
            ("Action", "Subscribe"),
            ("Version", "2010-03-31"),
            ("TopicArn", &topic_arn),
            ("Protocol", "sqs"),
            ("Endpoint", queue_arn),
        ],
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let service = start(
        &[rule("cpu-high", r#"{domain="cpu"}"#, &["sns"])],
        &[notifier(
            "sns",
            NotifierKind::Sns(SnsNotifier {
                topic_arn: topic_arn.clone(),
                region: "us-east-1".into(),
                endpoint: Some(endpoint.clone()),
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
    let delivered = delivered_once(&alerts.db, "sns", Duration::from_secs(15)).await;
    let errors = alerts.db.delivery_errors(None, 5).unwrap();
    assert!(delivered, "published; errors: {errors:?}");

    let received = call(
        &endpoint,
        "sqs",
        &[
            ("Action", "ReceiveMessage"),
            ("Version", "2012-11-05"),
            ("QueueUrl", &queue_url),
            ("MaxNumberOfMessages", "10"),
        ],
    )
    .await;
    let body = element(&received, "Body").expect("the queue got the SNS message");
    let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope["TopicArn"], topic_arn.as_str());
    assert_eq!(envelope["Subject"], "[FIRING:1] cpu-high host=web-3");
    let message = envelope["Message"].as_str().unwrap();
    for part in [
        "What: cpu_utilization (cpu)",
        "Where: host web-3",
        "How bad: score 0.930",
        "Dashboard: http://127.0.0.1:8080/#/series",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    let id = &envelope["MessageAttributes"]["lookout_notification_id"]["Value"];
    assert_eq!(id.as_str().unwrap().len(), 16, "{envelope}");
    assert!(message.contains(&format!("Message id: {}", id.as_str().unwrap())));
    service.stop();
}
