//! `type = "twilio"`: Twilio's Messages API, one `POST
//! {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json` per receiver with the form
//! body `To`, `From` (or `MessagingServiceSid`) and `Body`, authenticated with HTTP
//! basic auth (account SID and auth token). Twilio answers 201 with the message
//! resource; an error answer (`{"code", "message", ...}`) becomes the delivery error,
//! which never holds the token (it travels only in the `Authorization` header, and
//! errors are built without URLs or headers). The text, the rate limit and the
//! receivers are [`super::sms`]'s. `base_url` points elsewhere for a mock or a regional
//! edge (`https://api.dublin.ie1.twilio.com`).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lookout_config::{Secret, TwilioNotifier, TwilioSender};

use super::sms::{SmsGateway, SmsNotifier};
use super::{post, BuildNotifier, Deliver, DeliveryError};
use crate::content::encode_component;
use crate::model::Notification;

/// Sends one SMS through Twilio.
#[derive(Debug)]
pub struct TwilioGateway {
    http: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: Secret,
    sender: TwilioSender,
}

impl TwilioGateway {
    pub fn new(http: reqwest::Client, config: &TwilioNotifier) -> Self {
        TwilioGateway {
            http,
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                config.base_url.trim_end_matches('/'),
                config.account_sid
            ),
            account_sid: config.account_sid.clone(),
            auth_token: config.auth_token.clone(),
            sender: config.sender.clone(),
        }
    }

    /// The Messages API URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The form body of one message.
    pub fn form(&self, to: &str, text: &str) -> String {
        let sender = match &self.sender {
            TwilioSender::From(from) => ("From", from.as_str()),
            TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        [("To", to), sender, ("Body", text)]
            .iter()
            .map(|(name, value)| format!("{name}={}", encode_component(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

impl SmsGateway for TwilioGateway {
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let request = self
                .http
                .post(&self.url)
                .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .header("I-Twilio-Idempotency-Token", &notification.id)
                .body(self.form(to, text));
            let result = post(request, &Default::default()).await;
            result.map_err(|error| {
                let reason = if error.message.starts_with("HTTP 401") {
                    "auth"
                } else {
                    error.reason
                };
                DeliveryError::new(reason, error.message)
            })
        })
    }
}

impl BuildNotifier for TwilioNotifier {
    fn build_notifier(&self, http: &reqwest::Client, _timeout: Duration) -> Arc<dyn Deliver> {
        Arc::new(SmsNotifier::new(
            TwilioGateway::new(http.clone(), self),
            self.to.clone(),
            self.rate_limit,
        ))
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.auth_token.expose().to_owned()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_config::SmsRateLimit;

    #[test]
    fn the_request_names_the_account_and_never_shows_the_token() {
        let config = TwilioNotifier {
            account_sid: format!("AC{}", "0".repeat(32)),
            auth_token: Secret::new("s3cr3t-token"),
            sender: TwilioSender::MessagingService(format!("MG{}", "1".repeat(32))),
            to: vec!["+14155550100".into()],
            base_url: "http://127.0.0.1:4010/".into(),
            rate_limit: SmsRateLimit {
                messages: 5,
                window: Duration::from_secs(3600),
            },
        };
        let gateway = TwilioGateway::new(reqwest::Client::new(), &config);
        assert_eq!(
            gateway.url(),
            format!(
                "http://127.0.0.1:4010/2010-04-01/Accounts/AC{}/Messages.json",
                "0".repeat(32)
            )
        );
        assert_eq!(
            gateway.form("+14155550100", "a&b"),
            format!(
                "To=%2B14155550100&MessagingServiceSid=MG{}&Body=a%26b",
                "1".repeat(32)
            )
        );
        assert!(!format!("{gateway:?}").contains("s3cr3t"));
    }
}
