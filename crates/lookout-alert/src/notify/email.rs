//! Email over SMTP (lettre, rustls): STARTTLS when `starttls` is set (required, not
//! opportunistic: a server that does not offer it fails the delivery), AUTH when a
//! username is set. One message per notification, to every recipient; its `Message-ID` is
//! derived from the notification id, so a copy re-sent after a crash can be recognised.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use lookout_config::EmailNotifier;

use super::{BuildNotifier, Deliver, DeliveryError};
use crate::content::{body, subject};
use crate::model::Notification;

#[derive(Debug, Clone)]
pub struct Email {
    settings: EmailNotifier,
    timeout: Duration,
    extra_roots: Vec<Vec<u8>>,
}

impl Email {
    pub fn new(settings: EmailNotifier, timeout: Duration) -> Self {
        Email {
            settings,
            timeout,
            extra_roots: Vec::new(),
        }
    }

    pub fn trust_root_pem(&mut self, pem: &[u8]) {
        self.extra_roots.push(pem.to_vec());
    }

    /// The message for a notification.
    pub fn message(&self, notification: &Notification) -> Result<Message, DeliveryError> {
        let mailbox = |text: &str| -> Result<Mailbox, DeliveryError> {
            text.parse().map_err(|error| {
                DeliveryError::new("invalid_request", format!("address {text:?}: {error}"))
            })
        };
        let domain = self
            .settings
            .from
            .rsplit_once('@')
            .map_or("lookout", |(_, domain)| domain);
        let mut builder = Message::builder()
            .from(mailbox(&self.settings.from)?)
            .subject(subject(notification))
            .message_id(Some(format!("<{}@{domain}>", notification.id)))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.settings.to {
            builder = builder.to(mailbox(to)?);
        }
        builder
            .body(body(notification))
            .map_err(|error| DeliveryError::new("invalid_request", error.to_string()))
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
        let host = self.settings.smtp_host.as_str();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(self.settings.smtp_port)
            .timeout(Some(self.timeout));
        if self.settings.starttls {
            let mut tls = TlsParameters::builder(host.to_string());
            for pem in &self.extra_roots {
                let certificate = Certificate::from_pem(pem).map_err(|error| {
                    DeliveryError::new("tls", format!("root certificate: {error}"))
                })?;
                tls = tls.add_root_certificate(certificate);
            }
            let tls = tls
                .build_rustls()
                .map_err(|error| DeliveryError::new("tls", error.to_string()))?;
            builder = builder.tls(Tls::Required(tls));
        }
        if let Some(user) = &self.settings.username {
            let password = self
                .settings
                .password
                .as_ref()
                .map(|secret| secret.expose().to_string())
                .unwrap_or_default();
            // PLAIN when the server offers it, else LOGIN; both only inside TLS when
            // `starttls` is set.
            builder = builder
                .credentials(Credentials::new(user.clone(), password))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(builder.build())
    }

    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let message = self.message(notification)?;
        let transport = self.transport()?;
        transport.send(message).await.map(|_| ()).map_err(classify)
    }
}

fn classify(error: lettre::transport::smtp::Error) -> DeliveryError {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    let reason = if error.is_timeout() {
        "timeout"
    } else if error.is_tls() || lower.contains("tls") || lower.contains("certificate") {
        "tls"
    } else if lower.contains("auth") || lower.contains("535") || lower.contains("credentials") {
        "auth"
    } else if error.is_transient() || error.is_permanent() {
        "smtp"
    } else if lower.contains("connection") || lower.contains("refused") {
        "connect"
    } else {
        "smtp"
    };
    DeliveryError::new(reason, text)
}

impl BuildNotifier for EmailNotifier {
    fn build_notifier(&self, _http: &reqwest::Client, timeout: Duration) -> Arc<dyn Deliver> {
        Arc::new(Email::new(self.clone(), timeout))
    }

    fn secrets(&self) -> Vec<String> {
        self.password
            .iter()
            .map(|password| password.expose().to_owned())
            .collect()
    }
}

impl Deliver for Email {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(Email::deliver(self, notification))
    }
}
