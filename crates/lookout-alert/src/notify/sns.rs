//! AWS SNS `Publish` to a topic (email and SMS subscribers receive the text), as one
//! SigV4-signed form POST of the Query API (`Action=Publish&Version=2010-03-31`).
//!
//! Credentials come from the standard AWS chain ([`lookout_aws::CredentialChain`]:
//! environment, shared profile files, web identity, container role, instance role through
//! IMDSv2; cached until shortly before they expire), never from the file. The
//! message carries the notification id as the `lookout_notification_id` message attribute
//! (and in the text), so subscribers can drop a duplicate sent again after a crash.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use lookout_aws::{host_header, sign, CredentialChain, SigningRequest};
use lookout_config::SnsNotifier;

use super::{post, BuildNotifier, Deliver, DeliveryError};
use crate::content::{body, encode_component, subject};
use crate::model::Notification;

/// SNS limits the subject to 100 characters.
const SUBJECT_MAX: usize = 100;

#[derive(Debug, Clone)]
pub struct Sns {
    http: reqwest::Client,
    topic_arn: String,
    region: String,
    endpoint: String,
    credentials: Arc<CredentialChain>,
}

impl Sns {
    pub fn new(
        http: reqwest::Client,
        topic_arn: &str,
        region: &str,
        endpoint: Option<&str>,
    ) -> Self {
        let endpoint = self::endpoint(region, endpoint);
        Sns {
            http,
            topic_arn: topic_arn.to_string(),
            region: region.to_string(),
            endpoint,
            credentials: Arc::new(CredentialChain::default()),
        }
    }

    /// The form body of the Publish call.
    pub fn form(&self, notification: &Notification) -> String {
        let subject: String = subject(notification)
            .chars()
            .filter(|c| !c.is_control())
            .take(SUBJECT_MAX)
            .collect();
        let fields = [
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("TopicArn", self.topic_arn.as_str()),
            ("Subject", subject.as_str()),
            ("Message", &body(notification)),
            ("MessageAttributes.entry.1.Name", "lookout_notification_id"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            (
                "MessageAttributes.entry.1.Value.StringValue",
                notification.id.as_str(),
            ),
        ];
        fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode_component(name), encode_component(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let form = self.form(notification);
        publish(
            &self.http,
            &self.endpoint,
            &self.region,
            &self.credentials,
            form,
        )
        .await
    }
}

/// SNS's endpoint in a region, or the configured one.
pub(crate) fn endpoint(region: &str, configured: Option<&str>) -> String {
    configured
        .map(|url| url.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("https://sns.{region}.amazonaws.com"))
}

/// One SigV4-signed Query API call (`Publish`) with `form` as its body.
pub(crate) async fn publish(
    http: &reqwest::Client,
    endpoint: &str,
    region: &str,
    chain: &CredentialChain,
    form: String,
) -> Result<(), DeliveryError> {
    let credentials = chain
        .credentials()
        .await
        .map_err(|error| DeliveryError::new("credentials", error.to_string()))?;
    let url = reqwest::Url::parse(&format!("{endpoint}/"))
        .map_err(|error| DeliveryError::new("invalid_request", format!("endpoint: {error}")))?;
    let Some(host) = host_header(&url) else {
        return Err(DeliveryError::new(
            "invalid_request",
            "endpoint has no host",
        ));
    };
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let signed = sign(
        &SigningRequest {
            method: "POST",
            host: &host,
            path: url.path(),
            query: "",
            headers: &[("content-type", content_type)],
            body: form.as_bytes(),
        },
        &credentials,
        region,
        "sns",
        chrono::Utc::now(),
    );
    let request = signed.apply(http.post(url).header("content-type", content_type));
    let delivered = post(request.body(form), &Default::default()).await;
    // AWS answers refused or expired credentials with 403: read the chain again next time.
    if delivered
        .as_ref()
        .is_err_and(|error| error.message.starts_with("HTTP 403"))
    {
        chain.invalidate().await;
    }
    delivered
}

impl BuildNotifier for SnsNotifier {
    fn build_notifier(&self, http: &reqwest::Client, _timeout: Duration) -> Arc<dyn Deliver> {
        Arc::new(Sns::new(
            http.clone(),
            &self.topic_arn,
            &self.region,
            self.endpoint.as_deref(),
        ))
    }
}

impl Deliver for Sns {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(Sns::deliver(self, notification))
    }
}
