//! Shared by the receiver tests: peers (found or skipped), free ports, a capturing HTTP
//! receiver, and alert events.
#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use lookout_alert::model::{AnomalyEvent, EventKind};
use lookout_model::clock::now_ms;
use lookout_model::{DetectorContribution, Explanation, SeriesKey};

/// A peer program: its path, or `None` (with a printed reason) when it is missing. Under
/// `CI=true` a missing peer fails the test.
pub fn peer(description: &str, candidates: &[PathBuf]) -> Option<PathBuf> {
    if let Some(found) = candidates.iter().find(|path| path.is_file()) {
        return Some(found.clone());
    }
    let message = format!(
        "{description} not found (looked at {candidates:?}); run tests/peers/install-alerting.sh"
    );
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// The shared peers virtual environment.
pub fn venv() -> PathBuf {
    std::env::var_os("LOOKOUT_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/lookout/peers-venv")
        })
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills and reaps a child process when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` every 50 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the outbox has marked one notification delivered to `notifier`.
pub async fn delivered_once(
    db: &Arc<lookout_alert::outbox::AlertDb>,
    notifier: &str,
    timeout: Duration,
) -> bool {
    eventually(timeout, || {
        let db = Arc::clone(db);
        let names = [notifier.to_string()];
        async move {
            let status = db.notifier_status(&names).unwrap();
            (status[0].delivered == 1).then_some(())
        }
    })
    .await
    .is_some()
}

/// Waits until `url` answers anything.
pub async fn wait_for_http(url: &str, timeout: Duration) -> bool {
    let client = reqwest::Client::new();
    eventually(timeout, || {
        let request = client.get(url).send();
        async move { request.await.ok().map(|_| ()) }
    })
    .await
    .is_some()
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Captured {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

/// How the receiver answers: a status per request in turn (the last repeats), after a delay.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Captured>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    delay: Arc<Mutex<Duration>>,
}

impl Receiver {
    /// Starts an HTTP receiver on a free loopback port, answering POST `/hook` with `statuses`.
    pub async fn start(statuses: Vec<u16>) -> Receiver {
        Receiver::start_on(0, statuses).await
    }

    /// As [`Receiver::start`], on a given port (0: any free one).
    pub async fn start_on(port: u16, statuses: Vec<u16>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let receiver = Receiver {
            url,
            requests: Arc::default(),
            statuses: Arc::new(Mutex::new(statuses)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
        };
        let shared = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move {
                    let at = Instant::now();
                    let delay = *shared.delay.lock().unwrap();
                    tokio::time::sleep(delay).await;
                    let status = {
                        let mut statuses = shared.statuses.lock().unwrap();
                        if statuses.len() > 1 {
                            statuses.remove(0)
                        } else {
                            statuses.first().copied().unwrap_or(200)
                        }
                    };
                    shared
                        .requests
                        .lock()
                        .unwrap()
                        .push(Captured { headers, body, at });
                    (StatusCode::from_u16(status).unwrap(), "answer body")
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn set_statuses(&self, statuses: Vec<u16>) {
        *self.statuses.lock().unwrap() = statuses;
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|c| serde_json::from_slice(&c.body).unwrap_or(serde_json::Value::Null))
            .collect()
    }
}

pub fn cpu_series(host: &str) -> SeriesKey {
    SeriesKey::new("cpu_utilization")
        .with_label("host", host)
        .with_label("source", "host")
}

/// An anomaly event as the server's tracker sends it.
pub fn anomaly(kind: EventKind, series: &SeriesKey, start_ms: i64, score: f64) -> AnomalyEvent {
    AnomalyEvent {
        kind,
        series: series.clone(),
        start_ms,
        at_ms: if kind == EventKind::Close {
            now_ms()
        } else {
            start_ms
        },
        score,
        value: 97.0,
        expected_lower: 10.0,
        expected_upper: 40.0,
        explanation: Explanation {
            detectors: vec![DetectorContribution {
                detector: "mad".into(),
                raw: 8.0,
                likelihood: 0.999,
                fired: true,
            }],
            features: vec![],
        },
        detected_ms: now_ms(),
    }
}

use std::collections::BTreeMap;

use lookout_alert::backoff::Backoff;
use lookout_alert::{compile_rules, AlertService, AlertingConfig, Notifier};
use lookout_config::{AlertRule, NotifierConfig, NotifierKind, Secret, Severity, WebhookNotifier};

pub fn rule(name: &str, selector: &str, notify: &[&str]) -> AlertRule {
    AlertRule {
        name: name.into(),
        selector: selector.into(),
        event: None,
        min_score: 0.9,
        for_duration: Duration::ZERO,
        severity: Severity::Warning,
        labels: BTreeMap::from([("team".into(), "ops".into())]),
        annotations: BTreeMap::from([("runbook".into(), "https://wiki.example/cpu".into())]),
        notify: notify.iter().map(|s| s.to_string()).collect(),
        repeat_interval: Duration::from_secs(3600),
        group_by: vec!["host".into()],
        group_wait: Duration::from_millis(50),
        group_interval: Duration::from_secs(1),
        resolve_hold: Duration::from_millis(200),
    }
}

pub fn notifier(name: &str, kind: NotifierKind, timeout: Duration) -> NotifierConfig {
    NotifierConfig {
        name: name.into(),
        timeout,
        kind,
    }
}

pub fn webhook(name: &str, url: &str, secret: Option<&str>) -> NotifierConfig {
    notifier(
        name,
        NotifierKind::Webhook(WebhookNotifier {
            url: url.into(),
            headers: BTreeMap::from([(
                "Authorization".into(),
                Secret::new("Bearer hook-token-123"),
            )]),
            secret: secret.map(Secret::new),
        }),
        Duration::from_secs(2),
    )
}

/// Alerting with short timers (back-off from 100 ms; the rules of [`rule`] have group wait
/// 50 ms, group interval 1 s, resolve hold 200 ms).
pub fn start(rules: &[AlertRule], notifiers: &[NotifierConfig], db: PathBuf) -> AlertService {
    let http = lookout_alert::notify::http_client();
    let notifiers: Vec<Notifier> = notifiers
        .iter()
        .map(|config| Notifier::from_config(config, &http))
        .collect();
    start_with(rules, notifiers, db)
}

pub fn start_with(rules: &[AlertRule], notifiers: Vec<Notifier>, db: PathBuf) -> AlertService {
    let mut config = AlertingConfig::new(compile_rules(rules).unwrap(), notifiers, db);
    config.tick = Duration::from_millis(10);
    config.backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(1),
    };
    AlertService::start(config).unwrap()
}
