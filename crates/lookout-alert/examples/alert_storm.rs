//! Benchmark (not a test): an incident on 10,000 series at once.
//!
//! 10,000 CPU series on 100 hosts (100 series each) open an anomaly within the same
//! moment; a rule groups by `host` and sends to a webhook on loopback that records when
//! each request arrives. Measured: notifications per group during the run (target: at
//! most one per group per repeat interval) and, per series, the time from the anomaly
//! event leaving the detection path (the server's tracker hands it to alerting) to the
//! notifier's request reaching the receiver (target: p99 ≤ 1 s).
//!
//! Run: `cargo run --release -p lookout-alert --example alert_storm [-- SERIES HOSTS SECONDS]`

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use lookout_alert::model::{AnomalyEvent, EventKind};
use lookout_alert::{compile_rules, AlertService, AlertingConfig, Notifier};
use lookout_config::{AlertRule, NotifierConfig, NotifierKind, Severity, WebhookNotifier};
use lookout_model::clock::now_ms;
use lookout_model::{Explanation, SeriesKey};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let series_count = args.first().copied().unwrap_or(10_000);
    let hosts = args.get(1).copied().unwrap_or(100);
    let seconds = args.get(2).copied().unwrap_or(10) as u64;

    // The receiver: remembers each request's arrival and body (parsed after the run, so
    // that it takes no CPU from the pipeline under test).
    let received: Arc<Mutex<Vec<(Instant, Bytes)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().unwrap().push((Instant::now(), body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let dir = tempfile::tempdir().unwrap();
    let rule = AlertRule {
        name: "cpu-storm".into(),
        selector: r#"{domain="cpu"}"#.into(),
        event: None,
        min_score: 0.9,
        for_duration: Duration::ZERO,
        severity: Severity::Warning,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        notify: vec!["hook".into()],
        repeat_interval: Duration::from_secs(4 * 3600),
        group_by: vec!["host".into()],
        group_wait: Duration::from_millis(200),
        group_interval: Duration::from_secs(300),
        resolve_hold: Duration::from_secs(60),
    };
    let notifier = NotifierConfig {
        name: "hook".into(),
        timeout: Duration::from_secs(10),
        kind: NotifierKind::Webhook(WebhookNotifier {
            url,
            headers: BTreeMap::new(),
            secret: None,
        }),
    };
    let group_wait = rule.group_wait;
    let http = lookout_alert::notify::http_client();
    let config = AlertingConfig::new(
        compile_rules(&[rule]).unwrap(),
        vec![Notifier::from_config(&notifier, &http)],
        dir.path().join("alerts.db"),
    );
    let service = AlertService::start(config).unwrap();
    let alerts = service.handle();

    // The incident: every series opens an anomaly at once.
    let mut sent_at: BTreeMap<String, Instant> = BTreeMap::new();
    let started = Instant::now();
    let start_ms = now_ms();
    for index in 0..series_count {
        let series = SeriesKey::new("cpu_utilization")
            .with_label("host", format!("host-{:03}", index % hosts))
            .with_label("cpu", (index / hosts).to_string());
        sent_at.insert(series.to_string(), Instant::now());
        alerts.forward(AnomalyEvent {
            kind: EventKind::Open,
            series,
            start_ms,
            at_ms: start_ms,
            score: 0.97,
            value: 99.0,
            expected_lower: 5.0,
            expected_upper: 40.0,
            explanation: Explanation::default(),
            detected_ms: now_ms(),
        });
    }
    let forwarded = started.elapsed();
    tokio::time::sleep(Duration::from_secs(seconds)).await;

    let received: Vec<(Instant, serde_json::Value)> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(at, body)| (*at, serde_json::from_slice(body).unwrap_or_default()))
        .collect();
    let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
    let mut latencies = Vec::new();
    for (at, body) in &received {
        *per_group.entry(body["group"].to_string()).or_default() += 1;
        for alert in body["alerts"].as_array().into_iter().flatten() {
            if let Some(sent) = alert["series"].as_str().and_then(|s| sent_at.get(s)) {
                latencies.push(at.saturating_duration_since(*sent));
            }
        }
    }
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "series {series_count}, hosts (groups) {hosts}, group_wait {group_wait:?}, run {seconds}s"
    );
    println!("events forwarded in {forwarded:?}");
    println!(
        "notifications {}, groups notified {}, max per group {}",
        received.len(),
        per_group.len(),
        per_group.values().max().copied().unwrap_or(0)
    );
    println!(
        "alerts delivered {} of {series_count}; event → receiver latency p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        pick(0.50),
        pick(0.99),
        pick(1.0)
    );
    service.stop();
}
