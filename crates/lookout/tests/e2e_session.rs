//! Dashboard sign-in end to end with the real binary: `POST /api/v1/session` turns a
//! token into an `HttpOnly`, `SameSite=Strict` session cookie; the cookie reads, and
//! changes state only with the session's CSRF token; signing out ends it.

mod e2e_support;

use std::path::Path;
use std::process::Command;

use e2e_support::reqwest::{blocking_client, Response};
use e2e_support::{lookout_binary, now_ms, Lookout};
use serde_json::{json, Value};

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
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// A server with auth on and alerting (for silences); a read and an admin token.
fn start(dir: &Path) -> (Lookout, String, String) {
    let file = dir.join("tokens");
    let read = create_token(&file, "grafana", "read");
    let admin = create_token(&file, "ops", "admin");
    let config = format!(
        "[auth]\nenabled = true\nsession_ttl = \"1h\"\ntokens_file = {:?}\n\n[detection]\nprofile = \"default\"\n",
        file.display().to_string()
    );
    (Lookout::start(&dir.join("data"), &config), read, admin)
}

fn sign_in(lookout: &Lookout, token: &str) -> Response {
    blocking_client()
        .post(lookout.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body(json!({ "token": token }).to_string())
        .send()
        .expect("POST /api/v1/session")
}

/// The `name=value` part of the session cookie, and its attributes, checked.
fn session_cookie(response: &Response) -> String {
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.starts_with("lookout_session="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    set_cookie.split(';').next().unwrap().to_string()
}

fn error_type(response: Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().expect("a JSON error");
    body["errorType"].as_str().unwrap_or_default().to_string()
}

fn silence_body() -> String {
    json!({
        "matchers": "{job=\"web\"}",
        "ends_ms": now_ms() + 3_600_000,
        "author": "ops",
        "comment": "maintenance",
    })
    .to_string()
}

fn post_silence(lookout: &Lookout, cookie: &str, csrf: Option<&str>) -> Response {
    let mut request = blocking_client()
        .post(lookout.url("/api/v1/silences"))
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .body(silence_body());
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.send().expect("POST /api/v1/silences")
}

/// Regression: with auth on, the dashboard's every API call got 401 (it had no way to
/// sign in). A read token's session reads with the cookie alone.
#[test]
fn the_dashboard_signs_in_with_a_token_and_reads_with_its_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, read, _) = start(dir.path());
    let signed_in = sign_in(&lookout, &read);
    assert_eq!(signed_in.status(), 200);
    let cookie = session_cookie(&signed_in);
    let body = signed_in.json().unwrap();
    assert_eq!(body["name"], "grafana");
    assert_eq!(body["role"], "read");
    assert_eq!(body["csrf_token"].as_str().unwrap().len(), 64);
    let client = blocking_client();
    let anomalies = client
        .get(lookout.url("/api/v1/anomalies"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(anomalies.status(), 200);
    let me = client
        .get(lookout.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(me.status(), 200);
    let me = me.json().unwrap();
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("grafana"), Some("read"))
    );
    // The session keeps the token's role: a read session cannot silence, CSRF or not.
    let csrf = body["csrf_token"].as_str().unwrap();
    assert_eq!(
        error_type(post_silence(&lookout, &cookie, Some(csrf)), 403),
        "forbidden"
    );
    // Without a cookie, the dashboard's calls are refused as before.
    let bare = client.get(lookout.url("/api/v1/anomalies")).send().unwrap();
    assert_eq!(error_type(bare, 401), "unauthorized");
}

/// Regression: a session cookie is sent by the browser whatever page triggers the
/// request, so a cookie alone must not change state.
#[test]
fn a_cookie_session_cannot_change_state_without_its_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, _, admin) = start(dir.path());
    let signed_in = sign_in(&lookout, &admin);
    assert_eq!(signed_in.status(), 200);
    let cookie = session_cookie(&signed_in);
    let csrf = signed_in.json().unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        error_type(post_silence(&lookout, &cookie, None), 403),
        "forbidden"
    );
    let wrong = "0".repeat(64);
    assert_eq!(
        error_type(post_silence(&lookout, &cookie, Some(&wrong)), 403),
        "forbidden"
    );
    let created = post_silence(&lookout, &cookie, Some(&csrf));
    assert_eq!(created.status(), 200);
    let created = created.json().unwrap();
    assert_eq!(created["data"]["created_by"], "ops", "{created}");
    // A header token needs no CSRF token.
    let with_token = blocking_client()
        .post(lookout.url("/api/v1/silences"))
        .header("content-type", "application/json")
        .header("authorization", &format!("Bearer {admin}"))
        .body(silence_body())
        .send()
        .unwrap();
    assert_eq!(with_token.status(), 200);
}

/// Signing out ends the session and clears the cookie; it needs the CSRF token too.
#[test]
fn a_signed_out_session_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, read, admin) = start(dir.path());
    let signed_in = sign_in(&lookout, &read);
    let cookie = session_cookie(&signed_in);
    let csrf = signed_in.json().unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let client = blocking_client();
    let no_csrf = client
        .delete(lookout.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(error_type(no_csrf, 403), "forbidden");
    let signed_out = client
        .delete(lookout.url("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .unwrap();
    assert_eq!(signed_out.status(), 200);
    let cleared = signed_out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cleared.starts_with("lookout_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = client
        .get(lookout.url("/api/v1/anomalies"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(error_type(after, 401), "unauthorized");
    let me = client
        .get(lookout.url("/api/v1/session"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(error_type(me, 401), "unauthorized");
    // Sessions are in the audit log: who signed in and out, and a refused sign-in.
    assert_eq!(sign_in(&lookout, "lk_not_a_token").status(), 401);
    let audit: serde_json::Value = client
        .get(lookout.url("/api/v1/audit"))
        .header("authorization", &format!("Bearer {admin}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let actions: Vec<(String, String)> = audit["data"]["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{audit}"))
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap().to_string(),
                entry["token"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("session.sign_in", "grafana"),
        ("session.sign_out", "grafana"),
        ("session.refused", "anonymous"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, t)| a == expected.0 && t == expected.1),
            "{expected:?} in {actions:?}"
        );
    }
}

/// A wrong token gets no session, and a malformed sign-in names what is expected.
#[test]
fn signing_in_with_a_wrong_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (lookout, _, _) = start(dir.path());
    let wrong = sign_in(&lookout, "lk_not_a_token");
    assert!(wrong.headers().get("set-cookie").is_none());
    assert_eq!(error_type(wrong, 401), "unauthorized");
    let malformed = blocking_client()
        .post(lookout.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body("{\"password\": 1}")
        .send()
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let text = malformed.text().unwrap();
    assert!(text.contains("expected {\\\"token\\\""), "{text}");
    let huge = sign_in(&lookout, &"x".repeat(10_000));
    assert_eq!(error_type(huge, 400), "bad_data");
}
