//! Notifiers: deliver one [`Notification`] and say whether (and why) it failed, so the
//! outbox can retry. One module per receiver kind:
//!
//! - [`alertmanager`]: `POST {url}/api/v2/alerts`, one Alertmanager alert per lookout alert;
//! - [`webhook`]: generic JSON webhook (optional HMAC-SHA256 signature) and Slack-compatible
//!   incoming webhooks;
//! - [`email`]: SMTP with STARTTLS and AUTH (lettre, rustls);
//! - [`sns`]: AWS SNS `Publish` to a topic, signed with SigV4 ([`lookout_aws::sigv4`]).
//!
//! Every error message is built here from the status and reason only: URLs (a Slack URL is
//! a credential), headers, passwords and keys never appear in errors, logs or the API.

pub mod alertmanager;
pub mod email;
pub mod sns;
pub mod webhook;

use std::collections::BTreeMap;
use std::time::Duration;

use lookout_config::{NotifierConfig, NotifierKind, Secret};

use crate::model::Notification;

/// Why one delivery attempt failed. `reason` is a short label for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct DeliveryError {
    /// `connect`, `timeout`, `http_4xx`, `http_5xx`, `tls`, `auth`, `smtp`, `credentials`,
    /// `invalid_request` or `io`.
    pub reason: &'static str,
    pub message: String,
}

impl DeliveryError {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        DeliveryError {
            reason,
            message: message.into(),
        }
    }
}

/// Every failure reason, so counters show them at zero.
pub const FAILURE_REASONS: &[&str] = &[
    "connect",
    "timeout",
    "http_4xx",
    "http_5xx",
    "tls",
    "auth",
    "smtp",
    "credentials",
    "invalid_request",
    "io",
];

/// A notifier as configured.
#[derive(Debug, Clone)]
pub struct Notifier {
    pub name: String,
    pub timeout: Duration,
    type_name: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Alertmanager(alertmanager::Alertmanager),
    Webhook(webhook::Webhook),
    Slack(webhook::Slack),
    Email(email::Email),
    Sns(sns::Sns),
}

impl Notifier {
    /// Builds a notifier over a shared HTTP client: the one list of notifier factories
    /// (each type's configuration is validated in `lookout-config`'s `notifiers` module).
    pub fn from_config(config: &NotifierConfig, http: &reqwest::Client) -> Notifier {
        let kind = match &config.kind {
            NotifierKind::Alertmanager { url, headers } => Kind::Alertmanager(
                alertmanager::Alertmanager::new(http.clone(), url, headers.clone()),
            ),
            NotifierKind::Webhook {
                url,
                headers,
                secret,
            } => Kind::Webhook(webhook::Webhook::new(
                http.clone(),
                url,
                headers.clone(),
                secret.clone(),
            )),
            NotifierKind::Slack { url } => {
                Kind::Slack(webhook::Slack::new(http.clone(), url.clone()))
            }
            NotifierKind::Email(settings) => {
                Kind::Email(email::Email::new(settings.clone(), config.timeout))
            }
            NotifierKind::Sns {
                topic_arn,
                region,
                endpoint,
            } => Kind::Sns(sns::Sns::new(
                http.clone(),
                topic_arn,
                region,
                endpoint.as_deref(),
            )),
        };
        Notifier {
            name: config.name.clone(),
            timeout: config.timeout,
            type_name: config.kind.type_name(),
            kind,
        }
    }

    /// The notifier's `type`, as its configuration names it.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Trusts an extra root certificate (PEM) for an email notifier's TLS, besides the
    /// built-in web PKI roots (e.g. a private mail relay's CA). No effect on other kinds.
    pub fn trust_root_pem(&mut self, pem: &[u8]) {
        if let Kind::Email(email) = &mut self.kind {
            email.trust_root_pem(pem);
        }
    }

    /// One delivery attempt, bounded by the notifier's timeout.
    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let attempt = async {
            match &self.kind {
                Kind::Alertmanager(n) => n.deliver(notification).await,
                Kind::Webhook(n) => n.deliver(notification).await,
                Kind::Slack(n) => n.deliver(notification).await,
                Kind::Email(n) => n.deliver(notification).await,
                Kind::Sns(n) => n.deliver(notification).await,
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::new(
                "timeout",
                format!(
                    "no answer within {}",
                    humantime::format_duration(self.timeout)
                ),
            )),
        }
    }
}

/// The shared HTTP client: rustls, no redirects (a redirect could carry a secret elsewhere).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default TLS settings builds")
}

/// Classifies a transport error without its URL.
fn transport_error(error: reqwest::Error) -> DeliveryError {
    let reason = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_builder() || error.is_request() && error.is_body() {
        "invalid_request"
    } else {
        "io"
    };
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DeliveryError::new(reason, message)
}

/// Sends a POST and maps the answer: 2xx is success, anything else an error naming the
/// status and the start of the answer's body.
async fn post(
    request: reqwest::RequestBuilder,
    headers: &BTreeMap<String, Secret>,
) -> Result<(), DeliveryError> {
    let mut request = request;
    for (name, value) in headers {
        request = request.header(name.as_str(), value.expose());
    }
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let excerpt: String = body.chars().take(200).collect();
    let reason = if status.is_client_error() {
        "http_4xx"
    } else {
        "http_5xx"
    };
    Err(DeliveryError::new(
        reason,
        format!("HTTP {}: {}", status.as_u16(), excerpt.trim()),
    ))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
