//! `type = "webhook"`: a JSON POST, signed with HMAC-SHA256 when a `secret` is set.

use serde::Deserialize;

use super::{secret_headers, NotifierType};
use crate::raw::{Field, StringMap};
use std::collections::BTreeMap;

use crate::types::Secret;
use crate::validate::Checker;

pub(crate) struct Webhook;

/// A JSON POST; with a `secret`, the body is signed (HMAC-SHA256).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookNotifier {
    pub url: String,
    pub headers: BTreeMap<String, Secret>,
    pub secret: Option<Secret>,
}

/// `[[alert.notifier]] type = "webhook"`: its own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: Field<String>,
    pub headers: Field<StringMap>,
    pub secret: Field<String>,
}

impl NotifierType for Webhook {
    type Raw = RawWebhook;
    type Config = WebhookNotifier;

    fn validate(
        raw: &RawWebhook,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<WebhookNotifier> {
        Some(WebhookNotifier {
            url: checker.url(context, line, &raw.url)?,
            headers: secret_headers(&raw.headers),
            secret: raw
                .secret
                .as_ref()
                .map(|secret| Secret::new(secret.get_ref().clone())),
        })
    }
}
