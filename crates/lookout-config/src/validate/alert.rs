//! Validation of `[[alert.rule]]` and `[[alert.inhibit]]` tables (notifiers: `crate::notifiers`).

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use super::{is_label_name, Checker};
use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::*;
use crate::types::*;

impl Checker<'_, '_, '_> {
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
