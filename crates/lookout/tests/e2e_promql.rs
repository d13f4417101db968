//! PromQL conformance: the same samples are loaded into lookout (remote write) and into
//! a real Prometheus (a TSDB block backfilled with `promtool tsdb create-blocks-from
//! openmetrics`); every query of `promql/corpus.promql` is asked of both, as instant
//! queries at four times and as a range query, and the answers must match: same
//! result type, same label sets, values within 1e-9 relative (or 1e-12 absolute, for
//! results that cancel to about zero), NaN against NaN; an error against an error.
//!
//! Deliberate differences, kept out of the corpus: lookout also holds each series'
//! `lookout_anomaly_score` companion (so a selector without a metric name matches more
//! series), and instant vectors are compared as sets (Prometheus' order of equal
//! values in `sort`/`topk` is not specified).
//!
//! Needs the Debian package `prometheus` (prometheus, promtool). Missing peers fail the
//! test under `CI=true`, else skip it.

#[path = "promql/dataset.rs"]
mod dataset;
mod e2e_support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use e2e_support::reqwest::blocking_client;
use e2e_support::{eventually, find_peer, free_port, now_ms, ChildGuard, Lookout};
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;
use serde_json::Value;

const CONFIG: &str = "[server]\nmax_series = 10000\n\n[detection]\nprofile = \"default\"\n";
const MIN: i64 = 60_000;

/// The data set as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
fn openmetrics(data: &[(SeriesKey, Vec<(i64, f64)>)]) -> String {
    let mut sorted: Vec<&(SeriesKey, Vec<(i64, f64)>)> = data.iter().collect();
    sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut out = String::new();
    for (key, points) in sorted {
        let labels: Vec<String> = key
            .labels
            .iter()
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        for (t, v) in points {
            writeln!(
                out,
                "{}{{{}}} {} {}.{:03}",
                key.name,
                labels.join(","),
                v,
                t / 1000,
                t % 1000
            )
            .unwrap();
        }
    }
    out.push_str("# EOF\n");
    out
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn get(base: &str, path: &str) -> Value {
    let response = blocking_client()
        .get(format!("{base}{path}"))
        .send()
        .unwrap_or_else(|e| panic!("GET {base}{path}: {e}"));
    let text = response.text().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {base}{path}: {e}: {text}"))
}

fn number(value: &Value) -> f64 {
    match value.as_str() {
        Some("NaN") => f64::NAN,
        Some("+Inf") => f64::INFINITY,
        Some("-Inf") => f64::NEG_INFINITY,
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {text}")),
        None => panic!("not a sample value: {value}"),
    }
}

fn same(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    let diff = (a - b).abs();
    diff <= 1e-9 * a.abs().max(b.abs()) || diff < 1e-12
}

type Points = Vec<(f64, f64)>;

/// A result as `metric labels → points` (a vector element is one point).
fn series(data: &Value) -> Result<BTreeMap<String, Points>, String> {
    let mut out = BTreeMap::new();
    let kind = data["resultType"].as_str().unwrap_or("?");
    let result = &data["result"];
    match kind {
        "scalar" | "string" => {
            out.insert(
                String::new(),
                vec![(
                    result[0].as_f64().unwrap(),
                    if kind == "scalar" {
                        number(&result[1])
                    } else {
                        0.0
                    },
                )],
            );
        }
        "vector" | "matrix" => {
            for element in result.as_array().unwrap() {
                let metric = element["metric"].to_string();
                let points: Points = if kind == "vector" {
                    vec![(
                        element["value"][0].as_f64().unwrap(),
                        number(&element["value"][1]),
                    )]
                } else {
                    element["values"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| (p[0].as_f64().unwrap(), number(&p[1])))
                        .collect()
                };
                if out.insert(metric.clone(), points).is_some() {
                    return Err(format!("label set {metric} twice"));
                }
            }
        }
        other => return Err(format!("result type {other}")),
    }
    Ok(out)
}

/// `None` when the answers agree, else what differs.
fn compare(expected: &Value, actual: &Value) -> Option<String> {
    let (e_ok, a_ok) = (
        expected["status"] == "success",
        actual["status"] == "success",
    );
    if !e_ok || !a_ok {
        return (e_ok != a_ok).then(|| format!("prometheus: {expected}\nlookout: {actual}"));
    }
    let (e, a) = (&expected["data"], &actual["data"]);
    if e["resultType"] != a["resultType"] {
        return Some(format!(
            "result type {} vs {}",
            e["resultType"], a["resultType"]
        ));
    }
    let (e, a) = match (series(e), series(a)) {
        (Ok(e), Ok(a)) => (e, a),
        (e, a) => return Some(format!("prometheus {e:?} lookout {a:?}")),
    };
    let (e_keys, a_keys): (Vec<_>, Vec<_>) = (e.keys().collect(), a.keys().collect());
    if e_keys != a_keys {
        return Some(format!(
            "label sets differ:\n prometheus {e_keys:?}\n lookout    {a_keys:?}"
        ));
    }
    for (metric, e_points) in &e {
        let a_points = &a[metric];
        if e_points.len() != a_points.len() {
            return Some(format!(
                "{metric}: {} points vs {}",
                e_points.len(),
                a_points.len()
            ));
        }
        for ((et, ev), (at, av)) in e_points.iter().zip(a_points) {
            if et != at || !same(*ev, *av) {
                return Some(format!(
                    "{metric}: prometheus ({et}, {ev}) lookout ({at}, {av})"
                ));
            }
        }
    }
    None
}

#[test]
fn the_comparison_notices_differences() {
    let vector = |metric: Value, v: &str| serde_json::json!({ "status": "success", "data": { "resultType": "vector", "result": [{ "metric": metric, "value": [1.0, v] }] } });
    let a = vector(serde_json::json!({ "a": "1" }), "1");
    assert!(compare(&a, &a).is_none());
    assert!(compare(
        &a,
        &vector(serde_json::json!({ "a": "1" }), "1.0000000000001")
    )
    .is_none());
    assert!(compare(&a, &vector(serde_json::json!({ "a": "1" }), "1.00001")).is_some());
    assert!(compare(&a, &vector(serde_json::json!({ "a": "2" }), "1")).is_some());
    assert!(compare(
        &vector(serde_json::json!({}), "NaN"),
        &vector(serde_json::json!({}), "NaN")
    )
    .is_none());
    let error = serde_json::json!({ "status": "error", "error": "x" });
    assert!(compare(&error, &a).is_some() && compare(&a, &error).is_some());
    assert!(compare(&error, &error).is_none());
}

#[test]
fn lookout_answers_the_corpus_as_prometheus_does() {
    let Some(prometheus) = find_peer("prometheus", "prometheus") else {
        return;
    };
    let Some(promtool) = find_peer("promtool", "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Two hours of data ending an hour ago, on an hour boundary.
    let t0 = now_ms() / 3_600_000 * 3_600_000 - 3 * 3_600_000;
    let data = dataset::dataset(t0);

    // Prometheus: backfill a block, then serve it.
    let om = dir.path().join("data.om");
    std::fs::write(&om, openmetrics(&data)).unwrap();
    let tsdb = dir.path().join("tsdb");
    let output = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&tsdb)
        .output()
        .expect("running promtool");
    assert!(
        output.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  evaluation_interval: 1m\n").unwrap();
    let port = free_port();
    let _prometheus = ChildGuard::spawn(
        "prometheus",
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=10y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        &dir.path().join("prometheus.log"),
    );
    let prometheus_base = format!("http://127.0.0.1:{port}");

    // lookout: remote write, a host's worth of series per request.
    let lookout = Lookout::start(&dir.path().join("data"), CONFIG);
    let client = blocking_client();
    for chunk in data.chunks(8) {
        let samples: Vec<Sample> = chunk
            .iter()
            .flat_map(|(key, points)| {
                points.iter().map(|(t, v)| Sample {
                    key: key.clone(),
                    timestamp_ms: *t,
                    value: *v,
                })
            })
            .collect();
        let response = client
            .post(lookout.url("/api/v1/write"))
            .body(encode_write_request(&samples))
            .send()
            .unwrap();
        assert_eq!(response.status(), 204, "{}", response.text().unwrap());
    }

    let check = format!(
        "/api/v1/query?query=count(node_load1)&time={}",
        (t0 + 30 * MIN) / 1000
    );
    eventually(
        "Prometheus serving the backfilled block",
        Duration::from_secs(60),
        || {
            let answer = blocking_client()
                .get(format!("{prometheus_base}{check}"))
                .send()
                .ok()?
                .json()
                .ok()?;
            let answer: Value = answer;
            (answer["data"]["result"][0]["value"][1] == "4").then_some(())
        },
    );

    let corpus = include_str!("promql/corpus.promql");
    let queries: Vec<&str> = corpus
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(
        queries.len() >= 300,
        "the corpus has {} queries",
        queries.len()
    );
    let seconds = |ms: i64| format!("{}", ms as f64 / 1000.0);
    let instants = [
        t0 + 30 * MIN,
        t0 + 61 * MIN + 7_000,
        t0 + 86 * MIN,
        t0 + 119 * MIN + 30_000,
    ];
    let mut failures = Vec::new();
    let (mut evaluations, mut errors, mut empty) = (0, 0, 0);
    for query in &queries {
        let mut paths: Vec<String> = instants
            .iter()
            .map(|t| format!("/api/v1/query?query={}&time={}", encode(query), seconds(*t)))
            .collect();
        paths.push(format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            encode(query),
            seconds(t0 + 20 * MIN),
            seconds(t0 + 115 * MIN)
        ));
        paths.push(format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=37",
            encode(query),
            seconds(t0 + 45 * MIN + 500),
            seconds(t0 + 95 * MIN)
        ));
        for path in paths {
            evaluations += 1;
            let expected = get(&prometheus_base, &path);
            let actual = get(&lookout.base, &path);
            if expected["status"] != "success" {
                errors += 1;
            } else if expected["data"]["result"]
                .as_array()
                .is_some_and(|r| r.is_empty())
            {
                empty += 1;
            }
            if let Some(difference) = compare(&expected, &actual) {
                failures.push(format!("{query}  [{path}]\n  {difference}"));
            }
        }
    }
    eprintln!(
        "{} queries, {evaluations} evaluations ({errors} errors, {empty} empty answers in Prometheus), {} differences",
        queries.len(),
        failures.len()
    );
    // The corpus must exercise answers, not only errors and empty results.
    assert!(
        errors + empty < evaluations / 4,
        "{errors} errors and {empty} empty answers of {evaluations}"
    );
    assert!(
        failures.is_empty(),
        "{} of {evaluations} evaluations differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
