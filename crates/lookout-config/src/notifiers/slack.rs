//! `type = "slack"`: a Slack incoming-webhook URL (the URL itself is the credential).

use serde::Deserialize;

use super::NotifierType;
use crate::raw::Field;
use crate::types::Secret;
use crate::validate::Checker;

pub(crate) struct Slack;

/// A Slack incoming-webhook URL (the URL itself is the credential).
#[derive(Debug, Clone, PartialEq)]
pub struct SlackNotifier {
    pub url: Secret,
}

/// `[[alert.notifier]] type = "slack"`: its own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlack {
    pub url: Field<String>,
}

impl NotifierType for Slack {
    type Raw = RawSlack;
    type Config = SlackNotifier;

    fn validate(
        raw: &RawSlack,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<SlackNotifier> {
        Some(SlackNotifier {
            url: Secret::new(checker.url(context, line, &raw.url)?),
        })
    }
}
