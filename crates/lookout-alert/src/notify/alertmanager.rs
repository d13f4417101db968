//! Prometheus Alertmanager: `POST {url}/api/v2/alerts` with one alert per lookout alert.
//!
//! Labels: the series' labels, `metric`, `alertname` (the rule), `severity`, the rule's
//! labels. Annotations: the rule's, plus `summary`, `description` (what/where/when/how
//! bad/why), `score`, `value`, `expected`, `dashboard` and `fingerprint`. A firing alert's
//! `endsAt` is `valid_for` ahead (refreshed by each repeat); a resolved alert carries its
//! end, so Alertmanager resolves it. Alertmanager identifies alerts by their labels, so a
//! re-sent message is merged, never duplicated. An event alert is labelled with the
//! entity, `domain`, `event` (the kind) instead of `metric`; its annotations add
//! `event_id`, `event_kind`, `evidence` (counts, fields, time span) and `examples`, and
//! its `summary` is the event's unless the rule sets one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use lookout_config::{AlertmanagerNotifier, Secret};
use serde_json::{json, Value};

use super::{post, BuildNotifier, Deliver, DeliveryError};
use crate::content::{alert_text, dashboard_link, how_bad, rfc3339, why};
use crate::model::{AlertInstance, Notification};

#[derive(Debug, Clone)]
pub struct Alertmanager {
    http: reqwest::Client,
    endpoint: String,
    headers: BTreeMap<String, Secret>,
}

impl Alertmanager {
    pub fn new(http: reqwest::Client, url: &str, headers: BTreeMap<String, Secret>) -> Self {
        Alertmanager {
            http,
            endpoint: format!("{}/api/v2/alerts", url.trim_end_matches('/')),
            headers,
        }
    }

    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let body = payload(notification);
        post(self.http.post(&self.endpoint).json(&body), &self.headers).await
    }
}

/// The `/api/v2/alerts` body of a notification.
pub fn payload(notification: &Notification) -> Value {
    let firing_ends = notification.created_ms + notification.valid_for_ms;
    let mut alerts = Vec::new();
    for alert in &notification.firing {
        alerts.push(alert_json(alert, notification, firing_ends));
    }
    for alert in &notification.resolved {
        // Never later than now: a resolved alert must read as ended to Alertmanager.
        let ends = alert
            .ends_ms
            .unwrap_or(notification.created_ms)
            .min(notification.created_ms)
            .max(alert.starts_ms);
        alerts.push(alert_json(alert, notification, ends));
    }
    Value::Array(alerts)
}

fn alert_json(alert: &AlertInstance, notification: &Notification, ends_ms: i64) -> Value {
    let mut annotations = alert.annotations.clone();
    let summary = format!(
        "{} anomaly on {}{}",
        alert.series.name,
        alert.location.as_deref().unwrap_or("a series"),
        if notification.test { " (test)" } else { "" }
    );
    annotations.entry("summary".into()).or_insert(summary);
    if let Some(facts) = &alert.event {
        annotations.insert("event_id".into(), facts.id.to_string());
        annotations.insert("event_kind".into(), facts.kind.clone());
        annotations.insert(
            "evidence".into(),
            crate::event_alerts::evidence_line(&facts.evidence),
        );
        if !facts.evidence.examples.is_empty() {
            annotations.insert("examples".into(), facts.evidence.examples.join("\n"));
        }
    }
    annotations.insert(
        "description".into(),
        alert_text(alert, &notification.dashboard, notification.created_ms),
    );
    annotations.insert("score".into(), format!("{:.3}", alert.peak_score));
    annotations.insert("how_bad".into(), how_bad(alert));
    annotations.insert("why".into(), why(alert));
    annotations.insert(
        "dashboard".into(),
        dashboard_link(&notification.dashboard, alert),
    );
    annotations.insert("fingerprint".into(), alert.fingerprint.clone());
    annotations.insert("notification_id".into(), notification.id.clone());
    json!({
        "labels": alert.labels,
        "annotations": annotations,
        "startsAt": rfc3339(alert.starts_ms),
        "endsAt": rfc3339(ends_ms),
        "generatorURL": dashboard_link(&notification.dashboard, alert),
    })
}

impl BuildNotifier for AlertmanagerNotifier {
    fn build_notifier(&self, http: &reqwest::Client, _timeout: Duration) -> Arc<dyn Deliver> {
        Arc::new(Alertmanager::new(
            http.clone(),
            &self.url,
            self.headers.clone(),
        ))
    }

    fn secrets(&self) -> Vec<String> {
        let mut out = super::redact::url_secrets(&self.url);
        out.extend(self.headers.values().map(|value| value.expose().to_owned()));
        out
    }
}

impl Deliver for Alertmanager {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(Alertmanager::deliver(self, notification))
    }
}
