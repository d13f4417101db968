//! `[[alert.notifier]]` tables: the keys every notifier has, then one module per
//! notifier type, registered in one list.
//!
//! Every notifier has `name`, `type` and `timeout` ([`COMMON_KEYS`]); each type owns the
//! rest: its raw spanned struct (whose fields are its keys), the validation that turns it
//! into its typed settings, and its defaults. The [`notifier_types!`] list at the
//! bottom is the only place that knows every type: it generates [`NotifierKind`],
//! [`with_notifier_kind!`], [`RawNotifierSettings`],
//! [`NOTIFIER_TYPES`] (what an unknown `type` is answered with), the reader's dispatch and
//! the key listing. A key of another type is refused as "does not apply to a notifier of
//! type …", naming the keys this one has.
//!
//! Adding a notifier type is one module here plus one line in that list, and its delivery
//! in `lookout-alert`'s `notify` module (a `BuildNotifier` impl for its settings, which the
//! compiler asks for).
//!
//! Cost: configuration time only.

mod alertmanager;
mod email;
mod slack;
mod sms;
mod sns;
mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::{Field, Located};
use crate::reader::{read_table, read_table_with, Node, Reporter};
use crate::types::{NotifierConfig, Secret};

use crate::validate::Checker;
use crate::values::check_http_url;
pub use alertmanager::AlertmanagerNotifier;
pub use email::EmailNotifier;
pub use slack::SlackNotifier;
pub use sms::{SmsRateLimit, SnsSmsNotifier, TwilioNotifier, TwilioSender};
pub use sns::SnsNotifier;
pub use webhook::WebhookNotifier;

/// Keys every notifier accepts, whatever its type.
pub const COMMON_KEYS: &[&str] = &["name", "type", "timeout"];

/// One notifier type: its keys and how they become its [`NotifierKind`].
pub(crate) trait NotifierType {
    /// The type's own keys, every one optional and spanned (`deny_unknown_fields`).
    type Raw: DeserializeOwned + Default + Debug;
    /// The validated settings the notifier is built from.
    type Config: Debug + Clone + PartialEq;

    /// Checks every key, reporting each mistake; `None` when a required one is missing
    /// or invalid (the mistake is reported).
    fn validate(
        raw: &Self::Raw,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<Self::Config>;
}

/// The keys every notifier has.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommon {
    name: Field<String>,
    #[serde(rename = "type")]
    kind: Field<String>,
    timeout: Field<String>,
}

/// `[[alert.notifier]]`: the common keys, and the type's own keys when the type is known.
#[derive(Debug, Default)]
pub struct RawNotifier {
    pub name: Field<String>,
    pub kind: Field<String>,
    pub timeout: Field<String>,
    /// `None` when `type` is missing or names no notifier type.
    pub settings: Option<RawNotifierSettings>,
}

/// `$d` is a literal `$` passed in by the invocation, so that the generated
/// [`with_notifier_kind!`] can declare metavariables of its own.
macro_rules! notifier_types {
    ($d:tt; $($name:literal => $variant:ident($kind:ty, $raw:ty => $config:ty)),* $(,)?) => {
        /// Where and how a notifier delivers: its type's validated settings.
        #[derive(Debug, Clone, PartialEq)]
        pub enum NotifierKind {
            $($variant($config),)*
        }

        impl NotifierKind {
            /// The notifier's `type` key.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(NotifierKind::$variant(_) => $name,)*
                }
            }
        }

        /// Runs `$body` with `$binding` bound to the settings inside a [`NotifierKind`],
        /// whatever its type: `with_notifier_kind!(kind, settings => settings.build())`.
        /// `lookout-alert` builds every notifier type through it with a trait the
        /// settings implement, so it keeps no list of its own.
        #[macro_export]
        macro_rules! with_notifier_kind {
            ($d value:expr, $d binding:ident => $d body:expr) => {
                match $d value {
                    $($crate::NotifierKind::$variant($d binding) => $d body,)*
                }
            };
        }

        /// The keys of one notifier type, read into that type's struct.
        #[derive(Debug)]
        pub enum RawNotifierSettings {
            $($variant($raw),)*
        }

        /// The known notifier types, in the order error messages list them.
        pub const NOTIFIER_TYPES: &[&str] = &[$($name),*];

        /// Reads the type's own keys; `None` when no notifier type is named `kind`.
        fn read_settings(
            kind: &str,
            reporter: &mut Reporter<'_>,
            context: &str,
            node: &Node<'_>,
        ) -> Option<RawNotifierSettings> {
            match kind {
                $($name => Some(RawNotifierSettings::$variant(read_table_with(
                    reporter,
                    context,
                    node,
                    COMMON_KEYS,
                    &|key, known| unknown_key_message($name, key, crate::keys::struct_fields::<$raw>(), known),
                ))),)*
                _ => None,
            }
        }

        fn validate_settings(
            settings: &RawNotifierSettings,
            checker: &mut Checker<'_, '_, '_>,
            context: &str,
            line: usize,
        ) -> Option<NotifierKind> {
            match settings {
                $(RawNotifierSettings::$variant(raw) => {
                    <$kind as NotifierType>::validate(raw, checker, context, line)
                        .map(NotifierKind::$variant)
                })*
            }
        }

        /// Each notifier type's section title and own keys.
        pub(crate) fn keys() -> Vec<(&'static str, &'static [&'static str])> {
            vec![$((
                concat!("[[alert.notifier]] type = \"", $name, "\""),
                crate::keys::struct_fields::<$raw>(),
            ),)*]
        }

        /// Every key some notifier type accepts.
        fn any_type_keys() -> BTreeSet<&'static str> {
            let mut all: BTreeSet<&'static str> = COMMON_KEYS.iter().copied().collect();
            $(all.extend(crate::keys::struct_fields::<$raw>());)*
            all
        }
    };
}

notifier_types! {
    $;
    "alertmanager" => Alertmanager(
        alertmanager::Alertmanager,
        alertmanager::RawAlertmanager => AlertmanagerNotifier
    ),
    "webhook" => Webhook(webhook::Webhook, webhook::RawWebhook => WebhookNotifier),
    "email" => Email(email::Email, email::RawEmail => EmailNotifier),
    "sns" => Sns(sns::Sns, sns::RawSns => SnsNotifier),
    "slack" => Slack(slack::Slack, slack::RawSlack => SlackNotifier),
    "sns_sms" => SnsSms(sms::SnsSms, sms::RawSnsSms => SnsSmsNotifier),
    "twilio" => Twilio(sms::Twilio, sms::RawTwilio => TwilioNotifier),
}

/// A key another notifier type has "does not apply"; a key no type has is unknown.
fn unknown_key_message(kind: &str, key: &str, own: &[&str], known_sorted: &[&str]) -> String {
    if any_type_keys().contains(key) {
        let keys: Vec<&str> = COMMON_KEYS.iter().chain(own).copied().collect();
        format!(
            "does not apply to a notifier of type {kind:?} (its keys: {})",
            keys.join(", ")
        )
    } else {
        format!("unknown key (known: {})", known_sorted.join(", "))
    }
}

/// Reads one `[[alert.notifier]]` table: the common keys, then, for a known `type`, the
/// type's keys. With a missing or unknown type, only the common keys are read (the
/// validation reports the type).
pub(crate) fn read(reporter: &mut Reporter<'_>, context: &str, node: &Node<'_>) -> RawNotifier {
    let others: Vec<&str> = match node.get_ref().as_table() {
        Some(table) => table
            .iter()
            .map(|(key, _)| key.get_ref().as_ref())
            .filter(|key| !COMMON_KEYS.contains(key))
            .collect(),
        None => Vec::new(),
    };
    let common: RawCommon = read_table(reporter, context, node, &others);
    let settings = common
        .kind
        .as_ref()
        .and_then(|kind| read_settings(kind.get_ref(), reporter, context, node));
    RawNotifier {
        name: common.name,
        kind: common.kind,
        timeout: common.timeout,
        settings,
    }
}

impl Checker<'_, '_, '_> {
    pub(crate) fn notifiers(&mut self, entries: &[Located<RawNotifier>]) -> Vec<NotifierConfig> {
        let mut seen = BTreeSet::new();
        let mut notifiers = Vec::new();
        for entry in entries {
            let context = format!("[[alert.notifier]] #{}", entry.index);
            let Some(notifier) = self.notifier(&context, entry) else {
                continue;
            };
            if !seen.insert(notifier.name.clone()) {
                let field = entry
                    .value
                    .name
                    .as_ref()
                    .expect("a named notifier has a name field");
                let message = format!("another notifier is already named {:?}", notifier.name);
                self.report_at(ErrorKind::Duplicate, &context, "name", field, message);
                continue;
            }
            notifiers.push(notifier);
        }
        notifiers
    }

    /// The value of a required key, or a "missing required key" at the table's line.
    pub(crate) fn required<'f, T>(
        &mut self,
        context: &str,
        line: usize,
        key: &str,
        field: &'f Field<T>,
    ) -> Option<&'f T> {
        match field {
            Some(field) => Some(field.get_ref()),
            None => {
                self.report_line(
                    ErrorKind::MissingKey,
                    line,
                    context,
                    Some(key),
                    "missing required key".into(),
                );
                None
            }
        }
    }

    /// A required `url` key holding an http(s) URL.
    pub(crate) fn url(
        &mut self,
        context: &str,
        line: usize,
        field: &Field<String>,
    ) -> Option<String> {
        self.required(context, line, "url", field)?;
        self.value(context, "url", field, None, |url| {
            check_http_url(url).map(|()| Some(url.clone()))
        })
    }

    fn notifier(&mut self, context: &str, entry: &Located<RawNotifier>) -> Option<NotifierConfig> {
        let (raw, line) = (&entry.value, entry.line);
        let name = self
            .required(context, line, "name", &raw.name)
            .and_then(|_| self.optional_string(context, "name", &raw.name));
        let kind_name = self.required(context, line, "type", &raw.kind).cloned();
        let kind_name = kind_name.and_then(|kind| {
            if NOTIFIER_TYPES.contains(&kind.as_str()) {
                return Some(kind);
            }
            let field = raw.kind.as_ref().expect("checked above");
            let message = format!(
                "unknown notifier type {kind:?} (known: {})",
                NOTIFIER_TYPES.join(", ")
            );
            self.report_at(ErrorKind::InvalidValue, context, "type", field, message);
            None
        });
        let timeout =
            self.positive_duration(context, "timeout", &raw.timeout, defaults::NOTIFIER_TIMEOUT);
        kind_name?;
        let settings = raw.settings.as_ref()?;
        let kind = validate_settings(settings, self, context, line)?;
        Some(NotifierConfig {
            name: name?,
            timeout,
            kind,
        })
    }
}

/// A `headers` table as secrets (they often carry tokens).
pub(crate) fn secret_headers(field: &Field<BTreeMap<String, String>>) -> BTreeMap<String, Secret> {
    field
        .as_ref()
        .map(|headers| headers.get_ref().clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, Secret::new(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_lists_its_own_keys_and_none_repeats_the_common_ones() {
        let keys = keys();
        assert_eq!(keys.len(), NOTIFIER_TYPES.len());
        for ((section, fields), name) in keys.iter().zip(NOTIFIER_TYPES) {
            assert!(section.contains(&format!("\"{name}\"")), "{section}");
            assert!(!fields.is_empty(), "{section}");
            assert!(
                fields.iter().all(|key| !COMMON_KEYS.contains(key)),
                "{section}"
            );
        }
    }

    #[test]
    fn keys_of_another_type_do_not_apply_and_others_are_unknown() {
        let own = ["url", "headers"];
        let message = unknown_key_message("alertmanager", "smtp_port", &own, &["headers"]);
        assert_eq!(
            message,
            "does not apply to a notifier of type \"alertmanager\" (its keys: name, type, timeout, url, headers)"
        );
        let message = unknown_key_message("alertmanager", "colour", &own, &["headers", "url"]);
        assert_eq!(message, "unknown key (known: headers, url)");
    }
}
