//! Generic JSON webhook and Slack-compatible incoming webhook.
//!
//! Webhook body ([`webhook_payload`]): `{"version": "1", "id", "status", "rule", "group",
//! "group_labels", "test", "text", "alerts": [...]}`; each alert has `fingerprint`, `status`,
//! `labels`, `annotations`, `series`, `starts_at`, `ends_at`, `score`, `value`,
//! `expected: {lower, upper}`, `why`, `dashboard`, and for an event alert `event` (id,
//! kind, domain, severity, score, entity, summary, evidence, count, last time). Headers: `X-Lookout-Notification-Id` and
//! `Idempotency-Key` (the notification id, the same on every retry), and with a `secret`
//! `X-Lookout-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`.
//!
//! Slack body: `{"text": "<subject>\n<the alerts in words>"}`, which Slack and the many
//! Slack-compatible receivers (Mattermost, Rocket.Chat, ...) display as is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use hmac::{Hmac, Mac};
use lookout_config::{Secret, SlackNotifier, WebhookNotifier};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{hex, post, BuildNotifier, Deliver, DeliveryError};
use crate::content::{body, dashboard_link, how_bad, rfc3339, subject, why};
use crate::model::{AlertInstance, Notification};

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "X-Lookout-Signature";
/// Name of the header carrying the notification id.
pub const ID_HEADER: &str = "X-Lookout-Notification-Id";

/// `sha256=<hex>` signature of a body with a key.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

#[derive(Debug, Clone)]
pub struct Webhook {
    http: reqwest::Client,
    url: String,
    headers: BTreeMap<String, Secret>,
    secret: Option<Secret>,
}

impl Webhook {
    pub fn new(
        http: reqwest::Client,
        url: &str,
        headers: BTreeMap<String, Secret>,
        secret: Option<Secret>,
    ) -> Self {
        Webhook {
            http,
            url: url.to_string(),
            headers,
            secret,
        }
    }

    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&webhook_payload(notification))
            .map_err(|error| DeliveryError::new("invalid_request", error.to_string()))?;
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, &notification.id)
            .header("Idempotency-Key", &notification.id);
        if let Some(secret) = &self.secret {
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.expose().as_bytes(), &body),
            );
        }
        post(request.body(body), &self.headers).await
    }
}

fn alert_json(alert: &AlertInstance, status: &str, notification: &Notification) -> Value {
    let evidence = &alert.evidence;
    json!({
        "fingerprint": alert.fingerprint,
        "status": status,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "series": alert.series.to_string(),
        "starts_at": rfc3339(alert.starts_ms),
        "ends_at": alert.ends_ms.map(rfc3339),
        "score": alert.peak_score,
        "severity": alert.severity,
        "value": finite(evidence.value),
        "expected": { "lower": finite(evidence.expected_lower), "upper": finite(evidence.expected_upper) },
        "how_bad": how_bad(alert),
        "why": why(alert),
        "explanation": evidence.explanation,
        "dashboard": dashboard_link(&notification.dashboard, alert),
        "event": alert.event,
    })
}

fn finite(value: f64) -> Value {
    if value.is_finite() {
        json!(value)
    } else {
        Value::Null
    }
}

/// The generic webhook's JSON body.
pub fn webhook_payload(notification: &Notification) -> Value {
    let alerts: Vec<Value> = notification
        .firing
        .iter()
        .map(|alert| alert_json(alert, "firing", notification))
        .chain(
            notification
                .resolved
                .iter()
                .map(|alert| alert_json(alert, "resolved", notification)),
        )
        .collect();
    json!({
        "version": "1",
        "id": notification.id,
        "status": notification.status.as_str(),
        "rule": notification.rule,
        "group": notification.group,
        "group_labels": notification.group_labels,
        "test": notification.test,
        "created_at": rfc3339(notification.created_ms),
        "text": body(notification),
        "alerts": alerts,
    })
}

#[derive(Debug, Clone)]
pub struct Slack {
    http: reqwest::Client,
    url: Secret,
}

impl Slack {
    pub fn new(http: reqwest::Client, url: Secret) -> Self {
        Slack { http, url }
    }

    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let payload = slack_payload(notification);
        post(
            self.http.post(self.url.expose()).json(&payload),
            &BTreeMap::new(),
        )
        .await
    }
}

/// The Slack-compatible body.
pub fn slack_payload(notification: &Notification) -> Value {
    let text = body(notification);
    let without_subject = text.split_once('\n').map_or("", |(_, rest)| rest).trim();
    json!({ "text": format!("*{}*\n{}", subject(notification), without_subject) })
}

impl BuildNotifier for WebhookNotifier {
    fn build_notifier(&self, http: &reqwest::Client, _timeout: Duration) -> Arc<dyn Deliver> {
        Arc::new(Webhook::new(
            http.clone(),
            &self.url,
            self.headers.clone(),
            self.secret.clone(),
        ))
    }

    fn secrets(&self) -> Vec<String> {
        let mut out = super::redact::url_secrets(&self.url);
        out.extend(self.headers.values().map(|value| value.expose().to_owned()));
        out.extend(self.secret.iter().map(|secret| secret.expose().to_owned()));
        out
    }
}

impl Deliver for Webhook {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(Webhook::deliver(self, notification))
    }
}

impl BuildNotifier for SlackNotifier {
    fn build_notifier(&self, http: &reqwest::Client, _timeout: Duration) -> Arc<dyn Deliver> {
        Arc::new(Slack::new(http.clone(), self.url.clone()))
    }

    fn secrets(&self) -> Vec<String> {
        let url = self.url.expose();
        let mut out = super::redact::url_secrets(url);
        out.push(url.to_owned());
        if let Ok(parsed) = reqwest::Url::parse(url) {
            out.push(parsed.path().trim_start_matches('/').to_owned());
        }
        out
    }
}

impl Deliver for Slack {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(Slack::deliver(self, notification))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_rfc_4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
