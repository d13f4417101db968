//! The per-domain predict API on the real binary: a series ingested over HTTP answers
//! from its live model, an unknown one from the domain default, login windows and
//! content are judged, and nothing asked is stored.

mod e2e_support;

use e2e_support::reqwest::blocking_client;
use e2e_support::Lookout;
use serde_json::{json, Value};

fn post(lookout: &Lookout, path: &str, body: &Value) -> (u16, Value) {
    let response = blocking_client()
        .post(lookout.url(path))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

#[test]
fn every_domain_answers_without_storing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), "");
    let now = lookout_model::clock::now_ms();
    let samples: Vec<Value> = (0..300)
        .map(|i| json!({ "name": "host_cpu_utilization_percent", "labels": { "host": "web-1" }, "timestamp": now - (300 - i) * 1000, "value": 20 + i % 5 }))
        .collect();
    let (status, _) = post(&lookout, "/api/v1/samples", &json!(samples));
    assert_eq!(status, 200);
    let series = json!({ "name": "host_cpu_utilization_percent", "labels": { "host": "web-1" } });
    let (status, live) = post(
        &lookout,
        "/api/v1/predict/cpu",
        &json!({ "value": 95, "series": series }),
    );
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["explanation"]["model"], "live", "{live}");
    assert_eq!(live["anomaly"], true, "{live}");
    let (_, default) = post(&lookout, "/api/v1/predict/storage", &json!({ "value": 97 }));
    assert_eq!(
        default["explanation"]["model"], "domain_default",
        "{default}"
    );
    let (_, login) = post(
        &lookout,
        "/api/v1/predict/login",
        &json!({ "failures": 6, "distinct_users": 2, "window": "60s" }),
    );
    assert_eq!(login["kind"], "ssh_bruteforce", "{login}");
    let (_, content) = post(
        &lookout,
        "/api/v1/predict/content",
        &json!({ "text": "<script>alert(1)</script>" }),
    );
    assert_eq!(content["kind"], "xss", "{content}");
    let (status, bad) = post(
        &lookout,
        "/api/v1/predict/memory",
        &json!({ "value": 1, "series": { "name": 3 } }),
    );
    assert_eq!(status, 400);
    assert!(
        bad["error"].as_str().unwrap().contains("series.name"),
        "{bad}"
    );
    let stored = lookout.get_json("/api/v1/series?match[]=host_cpu_utilization_percent");
    assert_eq!(stored["data"].as_array().unwrap().len(), 1, "{stored}");
    let scores =
        lookout.get_json("/api/v1/query?query=count_over_time(host_cpu_utilization_percent[1h])");
    assert_eq!(scores["data"]["result"][0]["value"][1], "300", "{scores}");
}
