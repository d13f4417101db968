//! The real `lookout serve` against schemathesis (PyPI, `tests/peers/install-schemathesis.sh`),
//! a property-based tester that reads `/api/openapi.json` and sends every documented
//! operation generated requests, valid and invalid. It checks that no answer is a 5xx,
//! and that every status, content type and JSON body is one the document declares: the
//! document describes what the server does, and client input never breaks the server.
//!
//! Bounded: a fixed seed (`LOOKOUT_SCHEMATHESIS_SEED` overrides it, to explore further), a
//! few examples per operation, and a wall-clock cap after which the run is killed and the
//! test fails. Catches: handlers that panic or answer 500 on odd input, statuses or
//! bodies the document does not declare. Misses: what the generator does not reach in its
//! budget, and the semantics of a right-shaped answer (the other tests check those).
//! Skipped without schemathesis, a failure under CI=true.

mod e2e_support;

use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::reqwest::blocking_client;
use e2e_support::{eventually, find_venv_peer, now_ms, ChildGuard, Lookout};
use serde_json::{json, Value};

/// Examples per operation in each generating phase.
const MAX_EXAMPLES: &str = "30";
/// Kill schemathesis (and fail) past this: the test stays within a few minutes.
const WALL_CLOCK: Duration = Duration::from_secs(170);

/// Alerting on (one rule, no notifier), so that the alerting and silence routes answer
/// as they do in production rather than their "not enabled" form. Auth is off: the
/// token and role checks have their own test (e2e_api_tokens).
const CONFIG: &str = r#"[[alert.rule]]
name = "cpu-high"
match = '{domain="cpu"}'
min_score = 0.5
severity = "warning"
"#;

fn post(lookout: &Lookout, path: &str, body: &Value) -> Value {
    let response = blocking_client()
        .post(lookout.url(path))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap_or_else(|error| panic!("POST {path}: {error}"));
    let status = response.status();
    let answer = response.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {path}: {status} {answer}");
    answer
}

/// schemathesis' configuration: real values (ids of what the test stored, PromQL over
/// its series, times the parser takes) offered half of the time for these parameters, so
/// that generated requests reach the handlers' work and not only their 400s and 404s.
fn st_config(
    event_id: &Value,
    anomaly_id: &Value,
    silence_id: &Value,
    assets: &[String],
) -> String {
    let dictionary = |name: &str, values: &[String]| {
        let values: Vec<String> = values
            .iter()
            .map(|v| Value::from(v.as_str()).to_string())
            .collect();
        format!("[dictionaries.{name}]\nvalues = [{}]\n", values.join(", "))
    };
    let strings = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
    let mut config = String::new();
    config += &dictionary("event_ids", &[event_id.to_string()]);
    config += &dictionary("anomaly_ids", &[anomaly_id.to_string()]);
    config += &dictionary("silence_ids", &[silence_id.to_string()]);
    config += &dictionary("rules", &strings(&["cpu-high"]));
    config += &dictionary("assets", assets);
    config += &dictionary(
        "promql",
        &strings(&[
            "host_cpu_utilization_percent",
            "rate(host_cpu_utilization_percent[5m])",
            "max by (host) (lookout_anomaly_score)",
            "host_cpu_utilization_percent > bool 50",
        ]),
    );
    config += &dictionary(
        "selectors",
        &strings(&[
            "host_cpu_utilization_percent",
            "{host=\"web-1\"}",
            "{__name__=~\"host_.*\"}",
        ]),
    );
    config += &dictionary("starts", &strings(&["now-1h", "now-10m"]));
    config += &dictionary("ends", &strings(&["now"]));
    config += &dictionary("steps", &strings(&["15s", "60"]));
    let bind = |path_regex: &str, bindings: &[(&str, &str)]| {
        let bindings: Vec<String> = bindings
            .iter()
            .map(|(key, dictionary)| {
                format!("\"{key}\" = {{ dictionary = \"{dictionary}\", probability = 0.5 }}")
            })
            .collect();
        format!(
            "[[operations]]\ninclude-path-regex = \"{path_regex}\"\nparameters = {{ {} }}\n",
            bindings.join(", ")
        )
    };
    config += &bind("^/api/v1/events/", &[("path.id", "event_ids")]);
    config += &bind("^/api/v1/anomalies/", &[("path.id", "anomaly_ids")]);
    config += &bind("^/api/v1/silences/", &[("path.id", "silence_ids")]);
    config += &bind("^/api/v1/alerts/rules/", &[("path.name", "rules")]);
    config += &bind("^/assets/", &[("path.file", "assets")]);
    config += &bind(
        "^/api/v1/query",
        &[
            ("query.query", "promql"),
            ("query.time", "ends"),
            ("query.start", "starts"),
            ("query.end", "ends"),
            ("query.step", "steps"),
        ],
    );
    config += &bind(
        "^/api/v1/(series|labels|label/)",
        &[
            ("query.match[]", "selectors"),
            ("query.start", "starts"),
            ("query.end", "ends"),
        ],
    );
    config += &bind(
        "^/api/v1/(chart|anomalies)$",
        &[
            ("query.match", "selectors"),
            ("query.start", "starts"),
            ("query.end", "ends"),
            ("query.from", "starts"),
            ("query.to", "ends"),
        ],
    );
    config
}

#[test]
fn every_documented_operation_answers_as_documented_and_never_5xx() {
    let Some(st) = find_venv_peer("st", "tests/peers/install-schemathesis.sh") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), CONFIG);

    // Data, so that queries, labels, charts and events have something to answer with.
    // 400 steady seconds, then a jump the detectors call an anomaly.
    let now = now_ms();
    let samples: Vec<Value> = (0..400)
        .map(|i| json!({ "name": "host_cpu_utilization_percent", "labels": { "host": "web-1" }, "timestamp": now - (400 - i) * 1000, "value": if i >= 390 { 99.0 } else { 20.0 + (i % 5) as f64 } }))
        .collect();
    post(&lookout, "/api/v1/samples", &json!(samples));
    let events = post(
        &lookout,
        "/api/v1/events",
        &json!([{ "timestamp_ms": now, "kind": "ssh_bruteforce", "domain": "login", "severity": "warning", "entity": { "host": "web-1" }, "summary": "37 failed logins in 60 s" }]),
    );
    let silence = post(
        &lookout,
        "/api/v1/silences",
        &json!({ "matchers": "{host=\"web-2\"}", "ends_ms": now + 3_600_000, "author": "e2e", "comment": "schemathesis" }),
    );
    let anomalies = eventually("an anomaly", Duration::from_secs(30), || {
        let anomalies = lookout.get_json("/api/v1/anomalies");
        (!anomalies["data"].as_array()?.is_empty()).then_some(anomalies)
    });
    let page = blocking_client()
        .get(lookout.url("/"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let assets: Vec<String> = page
        .split("/assets/")
        .skip(1)
        .filter_map(|rest| rest.split(['"', '\'']).next())
        .map(str::to_string)
        .collect();
    assert!(
        !assets.is_empty(),
        "no /assets/ file named in the dashboard page"
    );

    let seed = std::env::var("LOOKOUT_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261204".into());
    let work = dir.path().join("st");
    std::fs::create_dir_all(&work).unwrap();
    let config = work.join("schemathesis.toml");
    std::fs::write(
        &config,
        st_config(
            &events["data"]["ids"][0],
            &anomalies["data"][0]["id"],
            &silence["data"]["id"],
            &assets,
        ),
    )
    .unwrap();
    let log = dir.path().join("schemathesis.log");
    let mut command = Command::new(&st);
    command
        .current_dir(&work)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(lookout.url("/api/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            &seed,
            "--workers",
            "2",
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
            // Timing-dependent health checks would make the run flaky on a loaded machine.
            "--suppress-health-check",
            "all",
            "--no-color",
            // An event stream lasts until the client leaves: every request would time
            // out. Its parameters are checked by the stream's own tests (events.rs).
            "--exclude-path",
            "/api/v1/stream",
        ])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .env(
            "SCHEMATHESIS_HOOKS",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis_hooks.py"),
        );
    let mut run = ChildGuard::spawn("schemathesis", &mut command, &log);
    let deadline = Instant::now() + WALL_CLOCK;
    let status = loop {
        if let Some(status) = run.child.as_mut().unwrap().try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            run.kill_hard();
            panic!(
                "schemathesis still running after {WALL_CLOCK:?}, killed:\n{}",
                run.output()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = run.output();
    let server_log = lookout.guard.output();
    let tail: Vec<&str> = server_log.lines().rev().take(60).collect();
    assert!(
        status.success(),
        "schemathesis found answers that break the document ({status}), seed {seed}:\n{report}\n\nend of the server log:\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    eprintln!("{report}");
}
