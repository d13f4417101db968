//! `type = "alertmanager"`: Prometheus Alertmanager's `/api/v2/alerts`.

use serde::Deserialize;

use super::{secret_headers, NotifierType};
use crate::raw::{Field, StringMap};
use std::collections::BTreeMap;

use crate::types::Secret;
use crate::validate::Checker;

pub(crate) struct Alertmanager;

/// Prometheus Alertmanager's `/api/v2/alerts`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerNotifier {
    pub url: String,
    pub headers: BTreeMap<String, Secret>,
}

/// `[[alert.notifier]] type = "alertmanager"`: its own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertmanager {
    pub url: Field<String>,
    pub headers: Field<StringMap>,
}

impl NotifierType for Alertmanager {
    type Raw = RawAlertmanager;
    type Config = AlertmanagerNotifier;

    fn validate(
        raw: &RawAlertmanager,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<AlertmanagerNotifier> {
        Some(AlertmanagerNotifier {
            url: checker.url(context, line, &raw.url)?,
            headers: secret_headers(&raw.headers),
        })
    }
}
