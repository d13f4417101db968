//! Notifiers: deliver one [`Notification`] and say whether (and why) it failed, so the
//! outbox can retry. One module per receiver kind, each implementing [`Deliver`] for its
//! notifier and [`BuildNotifier`] for its configured settings:
//!
//! - [`alertmanager`]: `POST {url}/api/v2/alerts`, one Alertmanager alert per lookout alert;
//! - [`webhook`]: generic JSON webhook (optional HMAC-SHA256 signature) and Slack-compatible
//!   incoming webhooks;
//! - [`email`]: SMTP with STARTTLS and AUTH (lettre, rustls);
//! - [`sns`]: AWS SNS `Publish` to a topic, signed with SigV4 ([`lookout_aws::sigv4`]);
//! - [`sns_sms`] and [`twilio`]: one SMS per receiver (SNS `Publish` to a phone number,
//!   Twilio's Messages API), the text, rate limit and receivers shared in [`sms`].
//!
//! Every error message is built here from the status and reason only: URLs (a Slack URL is
//! a credential), headers, passwords and keys never appear in errors, logs or the API.

pub mod alertmanager;
pub mod email;
pub mod redact;
pub mod sms;
pub mod sns;
pub mod sns_sms;
pub mod twilio;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lookout_config::{NotifierConfig, Secret};

use crate::model::Notification;

/// Why one delivery attempt failed. `reason` is a short label for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct DeliveryError {
    /// `connect`, `timeout`, `http_4xx`, `http_5xx`, `tls`, `auth`, `smtp`, `credentials`,
    /// `invalid_request`, `io` or `rate_limited` (an SMS receiver over its limit: the
    /// row waits in the outbox).
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
    "rate_limited",
];

/// One notifier type's delivery: what the outbox calls for each attempt.
pub trait Deliver: Send + Sync + std::fmt::Debug {
    /// One attempt; the caller bounds it with the notifier's timeout.
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

/// How one notifier type's validated settings become its [`Deliver`]. Each notifier
/// module implements it for its settings type; [`Notifier::from_config`] reaches every
/// implementation through [`lookout_config::with_notifier_kind!`], so there is no list
/// here to keep.
pub trait BuildNotifier {
    fn build_notifier(&self, http: &reqwest::Client, timeout: Duration) -> Arc<dyn Deliver>;

    /// The configured secrets that must never appear in a delivery error (see
    /// [`redact`]).
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A notifier as configured.
#[derive(Debug, Clone)]
pub struct Notifier {
    pub name: String,
    pub timeout: Duration,
    type_name: &'static str,
    delivery: Arc<dyn Deliver>,
    redactor: Arc<redact::Redactor>,
}

impl Notifier {
    /// Builds a notifier over a shared HTTP client (each type's configuration is
    /// validated in `lookout-config`'s `notifiers` module).
    pub fn from_config(config: &NotifierConfig, http: &reqwest::Client) -> Notifier {
        let delivery = lookout_config::with_notifier_kind!(
            &config.kind,
            settings => settings.build_notifier(http, config.timeout)
        );
        let secrets = lookout_config::with_notifier_kind!(
            &config.kind,
            settings => settings.secrets()
        );
        Notifier {
            name: config.name.clone(),
            timeout: config.timeout,
            type_name: config.kind.type_name(),
            delivery,
            redactor: Arc::new(redact::Redactor::new(secrets)),
        }
    }

    /// A notifier over a delivery built by hand (an email notifier trusting a private
    /// relay's root certificate, say).
    pub fn from_delivery(
        name: impl Into<String>,
        type_name: &'static str,
        timeout: Duration,
        delivery: Arc<dyn Deliver>,
    ) -> Notifier {
        Notifier {
            name: name.into(),
            timeout,
            type_name,
            delivery,
            redactor: Arc::default(),
        }
    }

    /// The notifier's `type`, as its configuration names it.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// One delivery attempt, bounded by the notifier's timeout. An error's message has
    /// its credentials redacted ([`redact`]) before anyone logs, stores or serves it.
    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let attempt = self.delivery.deliver(notification);
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result.map_err(|error| DeliveryError {
                message: shorten(&self.redactor.redact(&error.message)),
                ..error
            }),
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

/// The most characters of a delivery error's message kept (after redaction).
pub const MAX_ERROR_CHARS: usize = 300;

fn shorten(message: &str) -> String {
    match message.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
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
    // Long enough that a secret is not cut in two before it is redacted; the
    // notifier shortens the message after redaction.
    let excerpt: String = body.chars().take(4 * MAX_ERROR_CHARS).collect();
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
