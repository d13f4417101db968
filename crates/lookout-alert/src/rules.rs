//! Alert rules (`[[alert.rule]]`) compiled for evaluation: the selector parsed once, the
//! severity mapping, the labels and annotations an alert gets, and the group key.
//!
//! Severity: the rule's `severity` is the floor; a peak score at or above
//! [`CRITICAL_SCORE`] raises it to `critical` (so "warning by rule, critical by score").

use std::collections::BTreeMap;

use lookout_config::{AlertRule, Severity};
use lookout_model::SeriesKey;
use lookout_protocol::selector::{parse_selector, Selector};

use crate::model::match_key;

/// Peak score from which an alert is `critical` whatever the rule says.
pub const CRITICAL_SCORE: f64 = 0.99;

/// A rule that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("[[alert.rule]] {rule:?}: match {selector:?} is not a valid selector: {reason}")]
    Selector {
        rule: String,
        selector: String,
        reason: String,
    },
    #[error("[[alert.inhibit]] #{index}: {key} {selector:?} is not a valid selector: {reason}")]
    InhibitSelector {
        index: usize,
        key: &'static str,
        selector: String,
        reason: String,
    },
}

/// A rule ready to match series: the configured rule plus its parsed selector. The
/// configured fields (`name`, `min_score`, `group_by`, ...) are reached through `Deref`;
/// `rule.selector` is the selector's text.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub rule: AlertRule,
    pub selector: Selector,
}

impl std::ops::Deref for CompiledRule {
    type Target = AlertRule;

    fn deref(&self) -> &AlertRule {
        &self.rule
    }
}

impl CompiledRule {
    pub fn compile(rule: &AlertRule) -> Result<CompiledRule, RuleError> {
        let selector = parse_selector(&rule.selector).map_err(|error| RuleError::Selector {
            rule: rule.name.clone(),
            selector: rule.selector.clone(),
            reason: error.to_string(),
        })?;
        Ok(CompiledRule {
            rule: rule.clone(),
            selector,
        })
    }

    /// Whether the rule watches this series (its labels plus an inferred `domain`).
    pub fn matches(&self, series: &SeriesKey) -> bool {
        self.selector.matches(&match_key(series))
    }

    /// The alert's severity for a peak score.
    pub fn severity_for(&self, peak_score: f64) -> Severity {
        if peak_score >= CRITICAL_SCORE {
            Severity::Critical
        } else {
            self.severity
        }
    }

    /// The `group_by` labels of a series (absent labels are empty strings).
    pub fn group_labels(&self, series: &SeriesKey) -> BTreeMap<String, String> {
        let key = match_key(series);
        self.group_by
            .iter()
            .map(|name| {
                let value = if name == "__name__" {
                    key.name.clone()
                } else {
                    key.labels.get(name).cloned().unwrap_or_default()
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// The group key: the rule name and the `group_by` values.
    pub fn group_key(&self, series: &SeriesKey) -> String {
        let mut key = self.name.clone();
        for (name, value) in self.group_labels(series) {
            key.push('\u{1f}');
            key.push_str(&name);
            key.push('=');
            key.push_str(&value);
        }
        key
    }

    /// The alert's labels: the series' (plus `domain`), `alertname`, `severity`, the rule's.
    pub fn alert_labels(&self, series: &SeriesKey, severity: Severity) -> BTreeMap<String, String> {
        let mut labels = match_key(series).labels;
        labels.insert("metric".into(), series.name.clone());
        labels.insert("alertname".into(), self.name.clone());
        labels.insert("severity".into(), severity.as_str().into());
        for (name, value) in &self.labels {
            labels.insert(name.clone(), value.clone());
        }
        labels
    }
}

/// Compiles every rule, or names the first that cannot be.
pub fn compile_rules(rules: &[AlertRule]) -> Result<Vec<CompiledRule>, RuleError> {
    rules.iter().map(CompiledRule::compile).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn rule(name: &str, selector: &str) -> AlertRule {
        AlertRule {
            name: name.into(),
            selector: selector.into(),
            event: None,
            min_score: 0.9,
            for_duration: Duration::ZERO,
            severity: Severity::Warning,
            labels: BTreeMap::from([("team".into(), "ops".into())]),
            annotations: BTreeMap::new(),
            notify: vec![],
            repeat_interval: Duration::from_secs(3600),
            group_by: vec!["host".into()],
            group_wait: Duration::from_millis(200),
            group_interval: Duration::from_secs(300),
            resolve_hold: Duration::from_secs(60),
        }
    }

    #[test]
    fn matches_prometheus_selectors_and_the_inferred_domain() {
        let web = SeriesKey::new("node_load1").with_label("host", "web-1");
        let db = SeriesKey::new("node_load1").with_label("host", "db-1");
        let by_host = CompiledRule::compile(&rule("r", r#"node_load1{host=~"web-.*"}"#)).unwrap();
        assert!(by_host.matches(&web));
        assert!(!by_host.matches(&db));
        let by_domain = CompiledRule::compile(&rule("r", r#"{domain="cpu"}"#)).unwrap();
        assert!(by_domain.matches(&db));
        let by_name = CompiledRule::compile(&rule("r", r#"{__name__="x"}"#)).unwrap();
        assert!(!by_name.matches(&db));
        assert!(by_name.matches(&SeriesKey::new("x")));
    }

    #[test]
    fn invalid_selectors_are_named() {
        let error = CompiledRule::compile(&rule("bad", "{host=~\"(\"}")).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("\"bad\"") && text.contains("not a valid selector"),
            "{text}"
        );
    }

    #[test]
    fn severity_rises_with_the_score_and_labels_merge() {
        let compiled = CompiledRule::compile(&rule("r", "{host=\"a\"}")).unwrap();
        assert_eq!(compiled.severity_for(0.95), Severity::Warning);
        assert_eq!(compiled.severity_for(0.995), Severity::Critical);
        let series = SeriesKey::new("cpu").with_label("host", "a");
        let labels = compiled.alert_labels(&series, Severity::Critical);
        assert_eq!(labels["alertname"], "r");
        assert_eq!(labels["severity"], "critical");
        assert_eq!(labels["team"], "ops");
        assert_eq!(labels["host"], "a");
        assert_eq!(labels["metric"], "cpu");
        assert_eq!(compiled.group_key(&series), "r\u{1f}host=a");
    }
}
