//! `type = "webhook"`: a JSON POST, signed with HMAC-SHA256 when a `secret` is set.

use serde::Deserialize;

use super::{secret_headers, NotifierType};
use crate::raw::{Field, StringMap};
use crate::types::{NotifierKind, Secret};
use crate::validate::Checker;

pub(crate) struct Webhook;

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

    fn validate(
        raw: &RawWebhook,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<NotifierKind> {
        Some(NotifierKind::Webhook {
            url: checker.url(context, line, &raw.url)?,
            headers: secret_headers(&raw.headers),
            secret: raw
                .secret
                .as_ref()
                .map(|secret| Secret::new(secret.get_ref().clone())),
        })
    }
}
