//! The access-log collector on temporary files: exact counts across rotation by rename
//! and by copytruncate, a file that disappears and returns, partial and long lines.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use lookout_accesslog::generate::time_local;
use lookout_accesslog::{AggregatorConfig, LogFormat, ParserConfig};

use lookout_config::ReadFrom;
use lookout_model::Event;

use super::*;

/// 2026-12-02T14:00:00Z.
const T0: i64 = 1_796_220_000_000;

static NOW: AtomicI64 = AtomicI64::new(T0);

fn now() -> i64 {
    NOW.load(Ordering::SeqCst)
}

fn config(dir: &Path, read_from: ReadFrom) -> AccessLogSourceConfig {
    AccessLogSourceConfig {
        paths: vec![dir.join("access.log*").display().to_string()],
        read_from,
        max_line_bytes: 400,
        poll: Duration::from_secs(1),
        parser: ParserConfig::new(LogFormat::Combined),
        aggregator: AggregatorConfig {
            interval_ms: 5_000,
            grace_ms: 1_000,
            ..AggregatorConfig::default()
        },
        labels: BTreeMap::from([("env".to_string(), "test".to_string())]),
        injection: lookout_accesslog::InjectionConfig::default(),
    }
}

fn line(timestamp_ms: i64, status: u16) -> String {
    format!(
        "10.0.0.1 - - [{}] \"GET /users/{} HTTP/1.1\" {status} 10 \"-\" \"curl\"\n",
        time_local(timestamp_ms),
        timestamp_ms % 97
    )
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn lines(from: i64, count: i64) -> String {
    (0..count).map(|i| line(from + i * 100, 200)).collect()
}

fn requests(summaries: &[IntervalSummary]) -> u64 {
    summaries.iter().map(|summary| summary.total.requests).sum()
}

#[test]
fn every_line_is_counted_once_across_rotations_and_a_vanished_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    append(&path, &lines(T0, 30));
    let mut collector =
        AccessLogCollector::new("access_log#1", &config(dir.path(), ReadFrom::Beginning))
            .unwrap()
            .with_clock(now);
    let mut errors = Vec::new();
    let mut closed = collector.poll(&mut errors);
    // Rename + create: the old file is read to its end, the new one from its start.
    append(&path, &lines(T0 + 3_000, 5));
    std::fs::rename(&path, dir.path().join("rotated.1")).unwrap();
    append(&path, &lines(T0 + 3_500, 7));
    closed.extend(collector.poll(&mut errors));
    // Copytruncate: the copy is not followed (its name does not match), the truncated
    // file is read again from its start.
    std::fs::copy(&path, dir.path().join("copy.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    closed.extend(collector.poll(&mut errors));
    append(&path, &lines(T0 + 4_200, 4));
    closed.extend(collector.poll(&mut errors));
    // The file disappears, then returns.
    std::fs::remove_file(&path).unwrap();
    closed.extend(collector.poll(&mut errors));
    append(&path, &lines(T0 + 6_000, 6));
    // A partial last line waits for its newline; a long line is counted, not kept.
    let partial = line(T0 + 7_000, 503);
    let (first, second) = partial.split_at(20);
    append(&path, first);
    closed.extend(collector.poll(&mut errors));
    assert_eq!(collector.stats().requests, 30 + 5 + 7 + 4 + 6);
    append(&path, second);
    append(&path, &format!("{}\n", "x".repeat(1000)));
    closed.extend(collector.poll(&mut errors));
    NOW.store(T0 + 60_000, Ordering::SeqCst);
    closed.extend(collector.poll(&mut errors));
    assert!(
        errors.iter().all(|error| error.contains("too_long")),
        "{errors:?}"
    );
    assert_eq!(requests(&closed), 30 + 5 + 7 + 4 + 6 + 1);
    let stats = collector.stats();
    assert_eq!(stats.requests, 53);
    assert_eq!(stats.bad_lines[BadLine::TooLong as usize], 1);
    assert_eq!(stats.rotations, 2, "a rename and a truncation");
    let fives: u64 = closed.iter().map(|summary| summary.total.class(5)).sum();
    assert_eq!(fives, 1);
    // Intervals are contiguous from the first line to the clock.
    let starts: Vec<i64> = closed.iter().map(|summary| summary.start_ms).collect();
    let expected: Vec<i64> = (0..starts.len() as i64).map(|i| T0 + i * 5_000).collect();
    assert_eq!(starts, expected);
}

#[test]
fn derived_series_carry_the_log_label_and_bad_lines_are_counted_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut collector = AccessLogCollector::new("access_log#3", &config(dir.path(), ReadFrom::End))
        .unwrap()
        .with_clock(|| T0 + 120_000);
    append(&path, &lines(T0, 10));
    assert!(collector.collect().samples.is_empty(), "read from the end");
    append(&path, &lines(T0 + 100_000, 10));
    append(&path, "not a log line\n");
    append(&path, "\u{fffd}\n");
    let mut bytes = line(T0 + 100_500, 200).into_bytes();
    bytes[3] = 0xff;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    let collected = collector.collect();
    let total = collected
        .samples
        .iter()
        .find(|sample| sample.key.name == "log_http_requests_per_second")
        .expect("requests per second");
    assert_eq!(total.key.labels["log"], "access_log#3");
    assert_eq!(total.key.labels["env"], "test");
    assert_eq!(total.key.labels["vhost"], "_");
    assert_eq!(total.value, 10.0 / 5.0);
    let bad: BTreeMap<&str, f64> = collected
        .samples
        .iter()
        .filter(|sample| sample.key.name == "log_http_bad_lines_per_second")
        .map(|sample| (sample.key.labels["reason"].as_str(), sample.value * 5.0))
        .collect();
    assert_eq!(
        bad,
        BTreeMap::from([("invalid_utf8", 1.0), ("no_match", 2.0)])
    );
    assert!(
        collected.errors[0].contains("no_match"),
        "{:?}",
        collected.errors
    );
    let counted = |outcome| {
        lookout_protocol::exposition::counters::get(
            super::LINES_METRIC,
            "access_log#3",
            ("outcome", outcome),
        )
    };
    assert_eq!(
        [
            counted("request"),
            counted("no_match"),
            counted("invalid_utf8"),
            counted("too_long")
        ],
        [Some(10), Some(2), Some(1), Some(0)]
    );
    let route = collected
        .samples
        .iter()
        .find(|sample| sample.key.name == "log_http_route_requests_per_second")
        .unwrap();
    assert_eq!(route.key.labels["route"], "/users/:id");
}

#[test]
fn injection_attempts_become_one_incident_per_client() {
    static CLOCK: AtomicI64 = AtomicI64::new(T0 + 60_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut collector =
        AccessLogCollector::new("access_log#4", &config(dir.path(), ReadFrom::Beginning))
            .unwrap()
            .with_clock(|| CLOCK.load(Ordering::SeqCst));
    let attack = |t: i64, client: &str, target: &str| {
        format!(
            "{client} - - [{}] \"GET {target} HTTP/1.1\" 200 10 \"-\" \"sqlmap/1.7\"\n",
            time_local(t)
        )
    };
    let mut text = lines(T0, 20);
    for i in 0..40 {
        text.push_str(&attack(
            T0 + i * 100,
            "203.0.113.7",
            "/item?id=1%27%20AND%201%3D1%20UNION%20ALL%20SELECT%20NULL--%20-",
        ));
    }
    text.push_str(&attack(
        T0 + 4_500,
        "198.51.100.2",
        "/q?s=%3Cscript%3Ealert(1)%3C/script%3E",
    ));
    text.push_str(&attack(
        T0 + 4_600,
        "198.51.100.2",
        "/f?p=..%2F..%2F..%2Fetc%2Fpasswd",
    ));
    append(&path, &text);
    let collected = collector.collect();
    let opened: Vec<&Event> = collected
        .events
        .iter()
        .filter(|event| event.kind == "content_injection")
        .collect();
    assert_eq!(opened.len(), 2, "{opened:#?}");
    assert!(opened
        .iter()
        .all(|e| e.evidence.fields["incident"] == "open"));
    assert_eq!(opened[0].entity["client"], "203.0.113.7");
    assert_eq!(opened[0].entity["log"], "access_log#4");
    assert_eq!(opened[0].evidence.fields["attack_kind"], "sqli");
    let stats = collector.stats().injection.unwrap();
    assert_eq!(stats.classified, 62);
    assert_eq!(stats.flagged_total(), 42);
    assert_eq!(stats.flagged[lookout_inject_kind("sqli")], 40);
    let flagged: f64 = collected
        .samples
        .iter()
        .filter(|s| s.key.name == "log_http_injection_requests_per_second")
        .map(|s| (s.value * 5.0).round())
        .sum();
    assert_eq!(flagged, 42.0);
    // Ten quiet minutes later both incidents close with their counts.
    CLOCK.store(T0 + 11 * 60_000, Ordering::SeqCst);
    let collected = collector.collect();
    let closed: BTreeMap<&str, &Event> = collected
        .events
        .iter()
        .filter(|e| e.kind == "content_injection")
        .map(|e| (e.entity["client"].as_str(), e))
        .collect();
    assert_eq!(closed.len(), 2);
    let sqlmap = closed["203.0.113.7"];
    assert_eq!(sqlmap.evidence.fields["incident"], "closed");
    assert_eq!(sqlmap.evidence.counts["requests"], 40);
    let other = closed["198.51.100.2"];
    assert_eq!(other.evidence.fields["kinds"], "xss,traversal");
    assert!(other.evidence.examples[0].contains("sqlmap/1.7"));
}

fn lookout_inject_kind(name: &str) -> usize {
    ["sqli", "xss", "traversal", "cmdi", "ssti"]
        .iter()
        .position(|k| *k == name)
        .unwrap()
}

fn at_t0() -> i64 {
    T0
}

fn an_hour_later() -> i64 {
    T0 + 3_600_000
}

#[test]
fn a_collector_resumed_from_its_read_offsets_counts_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    // 2.5 intervals of 5 s: two close, the third is open when the first collector dies.
    append(&path, &lines(T0, 125));
    let config = config(dir.path(), ReadFrom::Beginning);
    let mut first = AccessLogCollector::new("access_log#1", &config)
        .unwrap()
        .with_clock(at_t0);
    let mut errors = Vec::new();
    let closed = first.poll(&mut errors);
    assert_eq!(requests(&closed), 100, "{errors:?}");
    let saved = first.read_offsets();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        saved[0].line, 100,
        "the open interval's lines are not accounted for"
    );
    assert!(
        first.read_offsets().is_empty(),
        "only changes are handed out"
    );
    drop(first); // a crash: the open interval is gone

    append(&path, &lines(T0 + 12_500, 40));
    let mut second = AccessLogCollector::new("access_log#1", &config)
        .unwrap()
        .with_clock(an_hour_later);
    second.resume(saved);
    let closed = second.poll(&mut errors);
    assert_eq!(
        requests(&closed),
        65,
        "the open interval rebuilt, nothing else read again"
    );
    assert_eq!(second.read_offsets()[0].line, 165);
}
