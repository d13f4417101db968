//! Credentials stay out of delivery errors: a receiver that echoes the request it got
//! (as debugging endpoints and some proxies do) answers 400 with the URL, its token and
//! every header, and lookout logs, stores and serves that answer's start.

mod support;

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri};
use lookout_alert::model::EventKind;
use support::*;

/// Starts a receiver on `/hook` that answers 400 with the request line and headers.
async fn echoing_receiver() -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|uri: Uri, headers: HeaderMap| async move {
            let mut echo = format!("bad request to {uri}\n");
            for (name, value) in &headers {
                echo.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("")));
            }
            (StatusCode::BAD_REQUEST, echo)
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/hook?token=s3cr3t-hook-token")
}

/// Regression: an echoing receiver leaked the webhook `?token=` and the
/// `Authorization` header into the WARN log, `alerts.db` and the notifiers API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_echoes_the_request_does_not_leak_its_credentials() {
    let url = echoing_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let service = start(
        &[rule("cpu-high", r#"{domain="cpu"}"#, &["hook"])],
        &[webhook("hook", &url, Some("signing-secret"))],
        dir.path().join("alerts.db"),
    );
    let alerts = service.handle();
    let start_ms = lookout_model::clock::now_ms() - 5_000;
    alerts.forward(anomaly(
        EventKind::Open,
        &cpu_series("web-1"),
        start_ms,
        0.97,
    ));
    let errors = eventually(Duration::from_secs(20), || async {
        let errors = alerts.db.delivery_errors(Some("hook"), 10).unwrap();
        (!errors.is_empty()).then_some(errors)
    })
    .await
    .expect("the refused delivery is recorded");
    let message = &errors[0].message;
    assert_eq!(errors[0].reason, "http_4xx");
    assert!(message.contains("bad request to /hook?token="), "{message}");
    assert!(message.contains("<redacted>"), "{message}");
    for secret in ["s3cr3t-hook-token", "hook-token-123", "sha256="] {
        assert!(!message.contains(secret), "{secret} leaked in {message}");
    }
}
