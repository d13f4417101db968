//! API tokens end to end with the real binary: tokens made by `lookout token create
//! --file`, `lookout serve` with `[auth] enabled` over that tokens file, and every
//! route class checked with each credential form the collectors send.

mod e2e_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use e2e_support::reqwest::{blocking_client, Response};
use e2e_support::{eventually, lookout_binary, now_ms, Lookout};
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;
use serde_json::{json, Value};

/// `lookout token create`: the secret is the only line on standard output.
fn create_token(file: &Path, name: &str, role: &str) -> String {
    let output = Command::new(lookout_binary())
        .args(["token", "create", "--name", name, "--role", role, "--file"])
        .arg(file)
        .output()
        .expect("running lookout token create");
    assert!(
        output.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("lk_") && token.len() == 67, "{token:?}");
    token
}

struct Tokens {
    read: String,
    write: String,
    admin: String,
}

/// A server with auth on, its tokens in a tokens file next to the data directory.
fn start(dir: &Path) -> (Lookout, Tokens) {
    let file = dir.join("tokens");
    let tokens = Tokens {
        read: create_token(&file, "grafana", "read"),
        write: create_token(&file, "prometheus", "write"),
        admin: create_token(&file, "ops", "admin"),
    };
    let config = format!(
        "[auth]\nenabled = true\ntokens_file = {:?}\n\n[detection]\nprofile = \"default\"\n",
        file.display().to_string()
    );
    let config_path = dir.join("checked.toml");
    std::fs::write(&config_path, &config).unwrap();
    let check = Command::new(lookout_binary())
        .arg("check-config")
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "check-config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(
        summary.contains("auth on, 3 tokens (admin: ops; read: grafana; write: prometheus)"),
        "{summary}"
    );
    (Lookout::start(&dir.join("data"), &config), tokens)
}

fn basic(user: &str, token: &str) -> String {
    let pair = format!("{user}:{token}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn silence_body() -> String {
    json!({
        "matchers": "{__name__=~\".+\"}",
        "ends_ms": now_ms() + 3_600_000,
        "author": "someone else",
        "comment": "maintenance",
    })
    .to_string()
}

fn post_silence(lookout: &Lookout, authorization: Option<&str>) -> Response {
    let mut request = blocking_client()
        .post(lookout.url("/api/v1/silences"))
        .header("content-type", "application/json")
        .body(silence_body());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().expect("POST /api/v1/silences")
}

fn get(lookout: &Lookout, path: &str, authorization: &str) -> Response {
    blocking_client()
        .get(lookout.url(path))
        .header("authorization", authorization)
        .send()
        .expect("GET")
}

fn assert_error(response: Response, status: u16, error_type: &str) -> Value {
    assert_eq!(response.status(), status);
    let body = response.json().expect("a JSON error");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["errorType"], error_type, "{body}");
    body
}

/// Regression: without credentials a client silenced every alert for ten years.
#[test]
fn a_client_without_credentials_cannot_create_a_silence() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, tokens) = start(dir.path());
    let response = post_silence(&lookout, None);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"lookout\""
    );
    assert_error(response, 401, "unauthorized");
    let wrong = post_silence(&lookout, Some("Bearer lk_not_a_token"));
    assert_error(wrong, 401, "unauthorized");
    // Reading needs a token too; health and readiness do not.
    let series = blocking_client()
        .get(lookout.url("/api/v1/series?match[]=up"))
        .send()
        .unwrap();
    assert_error(series, 401, "unauthorized");
    let metrics = blocking_client()
        .get(lookout.url("/metrics"))
        .send()
        .unwrap();
    assert_eq!(metrics.status(), 401);
    let health = blocking_client()
        .get(lookout.url("/healthz"))
        .send()
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = get(&lookout, "/metrics", &format!("Bearer {}", tokens.read));
    assert_eq!(metrics.status(), 200);
}

/// A read token (a dashboard's, Grafana's) cannot silence alerts; nor can a collector's.
#[test]
fn a_read_or_write_token_cannot_create_a_silence() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, tokens) = start(dir.path());
    for token in [&tokens.read, &tokens.write] {
        let body = assert_error(
            post_silence(&lookout, Some(&format!("Bearer {token}"))),
            403,
            "forbidden",
        );
        assert!(
            body["error"].as_str().unwrap().contains("needs admin"),
            "{body}"
        );
    }
    let listed = get(
        &lookout,
        "/api/v1/silences",
        &format!("Bearer {}", tokens.read),
    );
    assert_eq!(listed.json().unwrap()["data"]["silences"], json!([]));
}

/// Prometheus (`bearer_token`, `basic_auth`) and Influx clients (`Token`) ingest with a
/// write token; the write token itself cannot read what it wrote.
#[test]
fn a_write_token_ingests_with_every_collector_header_form() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, tokens) = start(dir.path());
    let client = blocking_client();
    let now = now_ms() / 1000 * 1000;
    let remote_write = |metric: &str| {
        let key = SeriesKey::new(metric).with_label("instance", "a:9100");
        encode_write_request(&[Sample {
            key,
            timestamp_ms: now - 1000,
            value: 1.0,
        }])
    };
    let forms = [
        (
            "/api/v1/write",
            format!("Bearer {}", tokens.write),
            remote_write("rw_bearer"),
        ),
        (
            "/api/v1/write",
            basic("prometheus", &tokens.write),
            remote_write("rw_basic"),
        ),
        (
            "/api/v2/write?precision=s",
            format!("Token {}", tokens.write),
            format!("influx_token,host=h1 value=1 {}\n", now / 1000).into_bytes(),
        ),
        (
            "/write?precision=s",
            basic("", &tokens.write),
            format!("influx_basic,host=h1 value=1 {}\n", now / 1000).into_bytes(),
        ),
    ];
    for (path, authorization, body) in forms {
        let response = client
            .post(lookout.url(path))
            .header("authorization", &authorization)
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(
            response.status(),
            204,
            "{path} with {}",
            &authorization[..6]
        );
        let anonymous = client.post(lookout.url(path)).body(body).send().unwrap();
        assert_eq!(anonymous.status(), 401, "{path} without a token");
    }
    let wrong_user = client
        .post(lookout.url("/api/v1/write"))
        .header("authorization", &basic("ops", &tokens.write))
        .body(remote_write("rw_wrong_user"))
        .send()
        .unwrap();
    assert_eq!(
        wrong_user.status(),
        401,
        "Basic user must be the token's name"
    );

    let write_reads = get(
        &lookout,
        "/api/v1/labels",
        &format!("Bearer {}", tokens.write),
    );
    assert_error(write_reads, 403, "forbidden");
    let read = format!("Bearer {}", tokens.read);
    for metric in [
        "rw_bearer",
        "rw_basic",
        "influx_token_value",
        "influx_basic_value",
    ] {
        eventually(&format!("{metric} listed"), Duration::from_secs(20), || {
            let names = get(&lookout, "/api/v1/label/__name__/values", &read);
            let names = names.json().ok()?;
            names["data"]
                .as_array()?
                .iter()
                .any(|name| name == metric)
                .then_some(())
        });
    }
}

/// An admin token creates a silence, and the silence records the token's name, not the
/// `author` the client wrote.
#[test]
fn an_admin_silence_records_its_creator() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, tokens) = start(dir.path());
    let response = post_silence(&lookout, Some(&format!("Token {}", tokens.admin)));
    assert_eq!(response.status(), 200);
    let created = response.json().unwrap();
    assert_eq!(created["data"]["created_by"], "ops", "{created}");
    assert_eq!(created["data"]["author"], "someone else");
    let listed = get(
        &lookout,
        "/api/v1/silences",
        &basic("grafana", &tokens.read),
    )
    .json()
    .unwrap();
    assert_eq!(
        listed["data"]["silences"][0]["created_by"], "ops",
        "{listed}"
    );

    // The audit log names the token; only admins read it.
    let denied = get(
        &lookout,
        "/api/v1/audit",
        &format!("Bearer {}", tokens.read),
    );
    assert_error(denied, 403, "forbidden");
    let audit = get(
        &lookout,
        "/api/v1/audit",
        &format!("Bearer {}", tokens.admin),
    )
    .json()
    .unwrap();
    let entry = &audit["data"]["entries"][0];
    assert_eq!(entry["token"], "ops", "{audit}");
    assert_eq!(entry["action"], "silence.create", "{audit}");
    assert_eq!(
        entry["object"],
        format!("silence {}", created["data"]["id"])
    );
    // And the server's log has the line, by default.
    eventually("the audit line in the log", Duration::from_secs(20), || {
        let log = lookout.guard.output();
        log.lines()
            .any(|line| {
                line.contains("lookout::audit")
                    && line.contains("token=ops")
                    && line.contains("silence.create")
            })
            .then_some(())
    });
}

/// Regression: 13 unauthenticated `false_positive` posts raised a series' tolerance.
#[test]
fn a_client_without_the_admin_role_cannot_post_feedback() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, tokens) = start(dir.path());
    let body = json!({ "label": "false_positive" }).to_string();
    let read = format!("Bearer {}", tokens.read);
    let write = format!("Bearer {}", tokens.write);
    for authorization in [None, Some(read), Some(write)] {
        let mut request = blocking_client()
            .post(lookout.url("/api/v1/anomalies/1/feedback"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let status = request.send().unwrap().status();
        let expected = if authorization.is_none() { 401 } else { 403 };
        assert_eq!(status, expected, "{authorization:?}");
    }
    // An admin gets through the check to the route (no such anomaly here).
    let admin = blocking_client()
        .post(lookout.url("/api/v1/anomalies/1/feedback"))
        .header("authorization", &format!("Bearer {}", tokens.admin))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(admin.status(), 404);
}
