//! `type = "sns"`: publishes to an AWS SNS topic.

use serde::Deserialize;

use super::NotifierType;
use crate::defaults;
use crate::raw::Field;
use crate::validate::Checker;
use crate::values::check_http_url;

pub(crate) struct Sns;

/// An AWS SNS topic.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsNotifier {
    pub topic_arn: String,
    pub region: String,
    pub endpoint: Option<String>,
}

/// `[[alert.notifier]] type = "sns"`: its own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSns {
    pub topic_arn: Field<String>,
    pub region: Field<String>,
    pub endpoint: Field<String>,
}

impl NotifierType for Sns {
    type Raw = RawSns;
    type Config = SnsNotifier;

    fn validate(
        raw: &RawSns,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<SnsNotifier> {
        let topic_arn = checker
            .required(context, line, "topic_arn", &raw.topic_arn)
            .cloned();
        let topic_arn = topic_arn.and_then(|_| {
            checker.value(context, "topic_arn", &raw.topic_arn, None, |arn| {
                if arn.starts_with("arn:") && arn.split(':').count() >= 6 {
                    Ok(Some(arn.clone()))
                } else {
                    Err(format!(
                        "{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                    ))
                }
            })
        });
        let region = checker.non_empty_string(context, "region", &raw.region, defaults::SNS_REGION);
        let endpoint = checker.value(context, "endpoint", &raw.endpoint, None, |url| {
            check_http_url(url).map(|()| Some(url.clone()))
        });
        Some(SnsNotifier {
            topic_arn: topic_arn?,
            region,
            endpoint,
        })
    }
}
