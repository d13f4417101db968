//! AWS SNS `Publish` to a topic (email and SMS subscribers receive the text), as one
//! SigV4-signed form POST of the Query API (`Action=Publish&Version=2010-03-31`).
//!
//! Credentials come from the standard environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`), never from the file. The
//! message carries the notification id as the `lookout_notification_id` message attribute
//! (and in the text), so subscribers can drop a duplicate sent again after a crash.

use super::sigv4::{authorization, Credentials, Request};
use super::{post, DeliveryError};
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
}

impl Sns {
    pub fn new(
        http: reqwest::Client,
        topic_arn: &str,
        region: &str,
        endpoint: Option<&str>,
    ) -> Self {
        let endpoint = endpoint
            .map(|url| url.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("https://sns.{region}.amazonaws.com"));
        Sns {
            http,
            topic_arn: topic_arn.to_string(),
            region: region.to_string(),
            endpoint,
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
        let credentials = Credentials::from_env().ok_or_else(|| {
            DeliveryError::new(
                "credentials",
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set in the environment",
            )
        })?;
        let url = reqwest::Url::parse(&format!("{}/", self.endpoint))
            .map_err(|error| DeliveryError::new("invalid_request", format!("endpoint: {error}")))?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => {
                return Err(DeliveryError::new(
                    "invalid_request",
                    "endpoint has no host",
                ))
            }
        };
        let form = self.form(notification);
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let mut headers = vec![
            ("content-type", content_type),
            ("x-amz-date", amz_date.as_str()),
        ];
        if let Some(token) = &credentials.session_token {
            headers.push(("x-amz-security-token", token.as_str()));
        }
        let signed = authorization(
            &Request {
                method: "POST",
                host: &host,
                path: url.path(),
                query: "",
                headers: &headers,
                payload: form.as_bytes(),
            },
            &credentials,
            &self.region,
            "sns",
            &amz_date,
        );
        let mut request = self.http.post(url).header("authorization", signed);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        post(request.body(form), &Default::default()).await
    }
}
