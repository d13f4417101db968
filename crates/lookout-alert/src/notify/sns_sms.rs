//! `type = "sns_sms"`: AWS SNS `Publish` straight to each phone number (`PhoneNumber`,
//! no topic), with the `AWS.SNS.SMS.SMSType` (`Transactional` by default: delivered
//! with priority, also to numbers that opted out of marketing) and, when set,
//! `AWS.SNS.SMS.SenderID` message attributes; SigV4-signed through `lookout-aws`'s
//! credential chain like the topic notifier ([`super::sns`]). The text, the rate limit
//! and the receivers are [`super::sms`]'s. SNS may still split or refuse a message on
//! its side (account spend limit, sandbox numbers): that shows as an HTTP error here.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lookout_aws::CredentialChain;
use lookout_config::SnsSmsNotifier;

use super::sms::{SmsGateway, SmsNotifier};
use super::sns::{endpoint, publish};
use super::{BuildNotifier, Deliver, DeliveryError};
use crate::content::encode_component;
use crate::model::Notification;

/// Publishes one SMS through SNS.
#[derive(Debug)]
pub struct SnsSmsGateway {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    sms_type: String,
    sender_id: Option<String>,
    credentials: CredentialChain,
}

impl SnsSmsGateway {
    pub fn new(http: reqwest::Client, config: &SnsSmsNotifier) -> Self {
        SnsSmsGateway {
            http,
            endpoint: endpoint(&config.region, config.endpoint.as_deref()),
            region: config.region.clone(),
            sms_type: config.sms_type.clone(),
            sender_id: config.sender_id.clone(),
            credentials: CredentialChain::default(),
        }
    }

    /// The form body of the Publish call.
    pub fn form(&self, to: &str, text: &str) -> String {
        let mut fields = vec![
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("PhoneNumber", to),
            ("Message", text),
            ("MessageAttributes.entry.1.Name", "AWS.SNS.SMS.SMSType"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            (
                "MessageAttributes.entry.1.Value.StringValue",
                self.sms_type.as_str(),
            ),
        ];
        if let Some(sender) = &self.sender_id {
            fields.extend([
                ("MessageAttributes.entry.2.Name", "AWS.SNS.SMS.SenderID"),
                ("MessageAttributes.entry.2.Value.DataType", "String"),
                (
                    "MessageAttributes.entry.2.Value.StringValue",
                    sender.as_str(),
                ),
            ]);
        }
        fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode_component(name), encode_component(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

impl SmsGateway for SnsSmsGateway {
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        _notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let form = self.form(to, text);
            publish(
                &self.http,
                &self.endpoint,
                &self.region,
                &self.credentials,
                form,
            )
            .await
        })
    }
}

impl BuildNotifier for SnsSmsNotifier {
    fn build_notifier(&self, http: &reqwest::Client, _timeout: Duration) -> Arc<dyn Deliver> {
        Arc::new(SmsNotifier::new(
            SnsSmsGateway::new(http.clone(), self),
            self.to.clone(),
            self.rate_limit,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_config::SmsRateLimit;

    #[test]
    fn the_form_carries_the_number_type_and_sender() {
        let config = SnsSmsNotifier {
            to: vec!["+14155550100".into()],
            sender_id: Some("lookout".into()),
            sms_type: "Transactional".into(),
            region: "eu-west-1".into(),
            endpoint: None,
            rate_limit: SmsRateLimit {
                messages: 5,
                window: Duration::from_secs(3600),
            },
        };
        let gateway = SnsSmsGateway::new(reqwest::Client::new(), &config);
        assert_eq!(gateway.endpoint, "https://sns.eu-west-1.amazonaws.com");
        let form = gateway.form("+14155550100", "[FIRING] a b");
        assert_eq!(
            form,
            "Action=Publish&Version=2010-03-31&PhoneNumber=%2B14155550100&Message=%5BFIRING%5D%20a%20b\
             &MessageAttributes.entry.1.Name=AWS.SNS.SMS.SMSType&MessageAttributes.entry.1.Value.DataType=String\
             &MessageAttributes.entry.1.Value.StringValue=Transactional\
             &MessageAttributes.entry.2.Name=AWS.SNS.SMS.SenderID&MessageAttributes.entry.2.Value.DataType=String\
             &MessageAttributes.entry.2.Value.StringValue=lookout"
        );
    }
}
