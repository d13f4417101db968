//! Validation of `[[alert.notifier]]` and `[[alert.rule]]` tables.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use super::{is_label_name, Checker};
use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::*;
use crate::types::*;
use crate::values::check_http_url;

/// Keys every notifier accepts, whatever its type.
const COMMON_NOTIFIER_KEYS: &[&str] = &["name", "type", "timeout"];

/// The keys each notifier type accepts besides the common ones.
fn keys_of_type(kind: &str) -> &'static [&'static str] {
    match kind {
        "alertmanager" => &["url", "headers"],
        "webhook" => &["url", "headers", "secret"],
        "email" => &[
            "smtp_host",
            "smtp_port",
            "starttls",
            "username",
            "password",
            "from",
            "to",
        ],
        "sns" => &["topic_arn", "region", "endpoint"],
        "slack" => &["url"],
        _ => &[],
    }
}

/// The keys present in a raw notifier, with their lines' byte offsets.
fn present_keys(raw: &RawNotifier) -> Vec<(&'static str, usize)> {
    fn at<T>(key: &'static str, field: &Field<T>) -> Option<(&'static str, usize)> {
        field.as_ref().map(|field| (key, field.span().start))
    }
    [
        at("url", &raw.url),
        at("headers", &raw.headers),
        at("secret", &raw.secret),
        at("smtp_host", &raw.smtp_host),
        at("smtp_port", &raw.smtp_port),
        at("starttls", &raw.starttls),
        at("username", &raw.username),
        at("password", &raw.password),
        at("from", &raw.from),
        at("to", &raw.to),
        at("topic_arn", &raw.topic_arn),
        at("region", &raw.region),
        at("endpoint", &raw.endpoint),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl Checker<'_, '_, '_> {
    pub(super) fn notifiers(&mut self, entries: &[Located<RawNotifier>]) -> Vec<NotifierConfig> {
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

    fn required<'f, T>(
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

    fn url(&mut self, context: &str, line: usize, field: &Field<String>) -> Option<String> {
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
        let known_types = defaults::NOTIFIER_TYPES;
        let kind_name = kind_name.and_then(|kind| {
            if known_types.contains(&kind.as_str()) {
                return Some(kind);
            }
            let field = raw.kind.as_ref().expect("checked above");
            let message = format!(
                "unknown notifier type {kind:?} (known: {})",
                known_types.join(", ")
            );
            self.report_at(ErrorKind::InvalidValue, context, "type", field, message);
            None
        });
        let timeout =
            self.positive_duration(context, "timeout", &raw.timeout, defaults::NOTIFIER_TIMEOUT);
        let kind_name = kind_name?;
        let allowed = keys_of_type(&kind_name);
        for (key, offset) in present_keys(raw) {
            if allowed.contains(&key) || COMMON_NOTIFIER_KEYS.contains(&key) {
                continue;
            }
            let line = self.reporter.line_of(offset);
            let message = format!(
                "does not apply to a notifier of type {kind_name:?} (its keys: {})",
                COMMON_NOTIFIER_KEYS
                    .iter()
                    .chain(allowed)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.report_line(ErrorKind::UnknownKey, line, context, Some(key), message);
        }
        let kind = self.notifier_kind(context, line, &kind_name, raw)?;
        Some(NotifierConfig {
            name: name?,
            timeout,
            kind,
        })
    }

    fn notifier_kind(
        &mut self,
        context: &str,
        line: usize,
        kind: &str,
        raw: &RawNotifier,
    ) -> Option<NotifierKind> {
        let headers = || -> BTreeMap<String, Secret> {
            let headers = raw
                .headers
                .as_ref()
                .map(|h| h.get_ref().clone())
                .unwrap_or_default();
            headers
                .into_iter()
                .map(|(name, value)| (name, Secret::new(value)))
                .collect()
        };
        match kind {
            "alertmanager" => Some(NotifierKind::Alertmanager {
                url: self.url(context, line, &raw.url)?,
                headers: headers(),
            }),
            "webhook" => Some(NotifierKind::Webhook {
                url: self.url(context, line, &raw.url)?,
                headers: headers(),
                secret: raw
                    .secret
                    .as_ref()
                    .map(|secret| Secret::new(secret.get_ref().clone())),
            }),
            "slack" => Some(NotifierKind::Slack {
                url: Secret::new(self.url(context, line, &raw.url)?),
            }),
            "sns" => {
                let topic_arn = self
                    .required(context, line, "topic_arn", &raw.topic_arn)
                    .cloned();
                let topic_arn = topic_arn.and_then(|_| {
                    self.value(context, "topic_arn", &raw.topic_arn, None, |arn| {
                        if arn.starts_with("arn:") && arn.split(':').count() >= 6 {
                            Ok(Some(arn.clone()))
                        } else {
                            Err(format!(
                                "{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                            ))
                        }
                    })
                });
                let region =
                    self.non_empty_string(context, "region", &raw.region, defaults::SNS_REGION);
                let endpoint = self.value(context, "endpoint", &raw.endpoint, None, |url| {
                    check_http_url(url).map(|()| Some(url.clone()))
                });
                Some(NotifierKind::Sns {
                    topic_arn: topic_arn?,
                    region,
                    endpoint,
                })
            }
            "email" => self.email(context, line, raw).map(NotifierKind::Email),
            _ => None,
        }
    }

    fn email(&mut self, context: &str, line: usize, raw: &RawNotifier) -> Option<EmailNotifier> {
        let smtp_host = self
            .required(context, line, "smtp_host", &raw.smtp_host)
            .cloned();
        let from = self.required(context, line, "from", &raw.from).cloned();
        let to = self.required(context, line, "to", &raw.to).cloned();
        let address = |text: &String| -> Result<(), String> {
            let (user, domain) = text.rsplit_once('@').unwrap_or_default();
            if user.is_empty() || domain.is_empty() || text.contains(char::is_whitespace) {
                Err(format!("{text:?} is not an email address"))
            } else {
                Ok(())
            }
        };
        let from = from.and_then(|_| {
            self.value(context, "from", &raw.from, None, |text| {
                address(text).map(|()| Some(text.clone()))
            })
        });
        let to = to.and_then(|_| {
            self.value(context, "to", &raw.to, None, |list| {
                if list.is_empty() {
                    return Err("the list is empty; name at least one recipient".into());
                }
                list.iter().try_for_each(address)?;
                Ok(Some(list.clone()))
            })
        });
        let smtp_port = self.integer_in(
            context,
            "smtp_port",
            &raw.smtp_port,
            u64::from(defaults::SMTP_PORT),
            1,
            65_535,
        ) as u16;
        let smtp_host =
            smtp_host.and_then(|_| self.optional_string(context, "smtp_host", &raw.smtp_host));
        Some(EmailNotifier {
            smtp_host: smtp_host?,
            smtp_port,
            starttls: raw
                .starttls
                .as_ref()
                .map(|flag| *flag.get_ref())
                .unwrap_or(defaults::STARTTLS),
            username: self.optional_string(context, "username", &raw.username),
            password: raw
                .password
                .as_ref()
                .map(|password| Secret::new(password.get_ref().clone())),
            from: from?,
            to: to?,
        })
    }

    /// `notifier_names` holds every name written in a `[[alert.notifier]]`, valid or not, so
    /// that a broken notifier is reported once, not again by each rule that uses it.
    pub(super) fn rules(
        &mut self,
        entries: &[Located<RawRule>],
        notifier_names: &[&str],
    ) -> Vec<AlertRule> {
        let mut seen = BTreeSet::new();
        let known = notifier_names;
        let mut rules = Vec::new();
        for entry in entries {
            let context = format!("[[alert.rule]] #{}", entry.index);
            let rule = self.rule(&context, entry, known);
            if !seen.insert(rule.name.clone()) {
                let message = format!("another rule is already named {:?}", rule.name);
                match &entry.value.name {
                    Some(field) => {
                        self.report_at(ErrorKind::Duplicate, &context, "name", field, message)
                    }
                    None => self.report_line(
                        ErrorKind::Duplicate,
                        entry.line,
                        &context,
                        Some("name"),
                        message,
                    ),
                }
            }
            rules.push(rule);
        }
        rules
    }

    fn rule(&mut self, context: &str, entry: &Located<RawRule>, notifiers: &[&str]) -> AlertRule {
        let raw = &entry.value;
        let default_name = format!("rule-{}", entry.index);
        let notify = match &raw.notify {
            None => Vec::new(),
            Some(field) => {
                let names = field.get_ref();
                let missing: Vec<&String> = names
                    .iter()
                    .filter(|name| !notifiers.contains(&name.as_str()))
                    .collect();
                if let Some(first) = missing.first() {
                    let known = if notifiers.is_empty() {
                        "no [[alert.notifier]] is configured".to_string()
                    } else {
                        format!("known: {}", notifiers.join(", "))
                    };
                    let message = format!("no notifier is named {first:?} ({known})");
                    self.report_at(
                        ErrorKind::UnknownReference,
                        context,
                        "notify",
                        field,
                        message,
                    );
                }
                names
                    .iter()
                    .filter(|name| notifiers.contains(&name.as_str()))
                    .cloned()
                    .collect()
            }
        };
        let event = self.value(context, "event", &raw.event, None, |kind| {
            let limit = lookout_model::EventLimits::default().max_kind_bytes;
            lookout_model::validate_event_kind(kind, limit)
                .map(|()| Some(kind.clone()))
                .map_err(|error| error.to_string())
        });
        let selector = match (&event, &raw.selector) {
            // An event rule without `match` watches every entity of its kind.
            (Some(kind), None) => format!("{{__name__=\"{kind}\"}}"),
            _ => self.selector(context, entry.line, &raw.selector),
        };
        if let (true, Some(field)) = (raw.event.is_some(), &raw.for_duration) {
            let message =
                "an event rule fires when the event arrives: `for` applies to anomaly rules only"
                    .into();
            self.report_at(ErrorKind::InvalidValue, context, "for", field, message);
        }
        // An event without a score always passes; one with a score passes from 0 by default.
        let min_score_default = if event.is_some() {
            0.0
        } else {
            defaults::RULE_MIN_SCORE
        };
        AlertRule {
            name: self.non_empty_string(context, "name", &raw.name, &default_name),
            selector,
            event,
            min_score: self.number_in(
                context,
                "min_score",
                &raw.min_score,
                min_score_default,
                0.0,
                1.0,
            ),
            for_duration: self.duration(
                context,
                "for",
                &raw.for_duration,
                defaults::RULE_FOR,
                std::time::Duration::ZERO,
            ),
            severity: self.value(
                context,
                "severity",
                &raw.severity,
                Severity::Warning,
                |name| {
                    Severity::parse(name).ok_or_else(|| {
                        format!(
                            "unknown severity {name:?} (known: {})",
                            Severity::NAMES.join(", ")
                        )
                    })
                },
            ),
            labels: self.labels(context, "labels", &raw.labels),
            annotations: self.value(
                context,
                "annotations",
                &raw.annotations,
                BTreeMap::new(),
                |a| Ok(a.clone()),
            ),
            notify,
            repeat_interval: self.positive_duration(
                context,
                "repeat_interval",
                &raw.repeat_interval,
                defaults::RULE_REPEAT_INTERVAL,
            ),
            group_by: self.value(
                context,
                "group_by",
                &raw.group_by,
                Vec::new(),
                |names| match names.iter().find(|name| !is_label_name(name)) {
                    Some(bad) => Err(format!("{bad:?} is not a valid label name")),
                    None => Ok(names.clone()),
                },
            ),
            group_wait: self.duration(
                context,
                "group_wait",
                &raw.group_wait,
                defaults::RULE_GROUP_WAIT,
                std::time::Duration::ZERO,
            ),
            group_interval: self.positive_duration(
                context,
                "group_interval",
                &raw.group_interval,
                defaults::RULE_GROUP_INTERVAL,
            ),
            resolve_hold: self.duration(
                context,
                "resolve_hold",
                &raw.resolve_hold,
                defaults::RULE_RESOLVE_HOLD,
                std::time::Duration::ZERO,
            ),
        }
    }

    /// `[[alert.inhibit]]` entries.
    pub(super) fn inhibit_rules(&mut self, entries: &[Located<RawInhibit>]) -> Vec<InhibitConfig> {
        entries
            .iter()
            .map(|entry| {
                let context = format!("[[alert.inhibit]] #{}", entry.index);
                let raw = &entry.value;
                let source = self.selector_at(&context, entry.line, "source", &raw.source);
                let target = raw
                    .target
                    .is_some()
                    .then(|| self.selector_at(&context, entry.line, "target", &raw.target));
                let equal = self.value(
                    &context,
                    "equal",
                    &raw.equal,
                    vec![defaults::INHIBIT_EQUAL.to_string()],
                    |names| {
                        if names.is_empty() {
                            return Err(
                                "needs at least one label name (e.g. [\"instance\"])".into()
                            );
                        }
                        match names.iter().find(|n| !is_label_name(n)) {
                            Some(bad) => Err(format!("{bad:?} is not a label name")),
                            None => Ok(names.clone()),
                        }
                    },
                );
                InhibitConfig {
                    source,
                    target,
                    equal,
                }
            })
            .collect()
    }
}
