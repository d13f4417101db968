//! Silences, maintenance windows and inhibition: the alerts that are recorded but not sent.
//!
//! - A **silence** mutes the alerts whose labels match its selector between `starts_ms`
//!   and `ends_ms`; it names its author and a comment, and can be expired early.
//! - A **maintenance window** is a silence that repeats: with `every_ms` set, the window
//!   `[starts_ms, ends_ms)` recurs every `every_ms` (e.g. nightly backups) until expired.
//! - An **inhibition rule** mutes the alerts that share the `equal` labels with a firing
//!   alert matching `source` (e.g. an instance whose status check fails silences its other
//!   alerts). An alert matching `source` is never inhibited by this rule.
//!
//! Matching is done on the alert's labels as a series: `metric` is the metric name
//! (`__name__` in selectors), plus the series' labels, `alertname`, `severity` and the
//! rule's labels.

use std::collections::BTreeMap;

use lookout_model::SeriesKey;
use lookout_protocol::selector::{parse_selector, Selector};
use serde::{Deserialize, Serialize};

use crate::model::AlertInstance;

/// A stored silence or maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: i64,
    /// Prometheus selector over the alert's labels, e.g. `{host="web-1"}`.
    pub matchers: String,
    pub starts_ms: i64,
    pub ends_ms: i64,
    /// Repeat period of a maintenance window; `None` for a one-off silence.
    pub every_ms: Option<i64>,
    pub author: String,
    pub comment: String,
    pub created_ms: i64,
    /// When it was expired early, if it was.
    pub expired_ms: Option<i64>,
    /// Who created it: the API token's name, `anonymous` without authentication,
    /// `lookout` for the silences lookout makes itself; empty in records older than this
    /// field. Unlike `author` (free text in the request), the client cannot choose it.
    #[serde(default)]
    pub created_by: String,
}

/// A silence that cannot be created.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SilenceError {
    #[error("silence matchers {0:?} are not a valid selector: {1}")]
    Matchers(String, String),
    #[error("silence ends ({ends_ms}) before it starts ({starts_ms})")]
    EmptyRange { starts_ms: i64, ends_ms: i64 },
    #[error("maintenance window period must be longer than the window ({window_ms} ms), got {every_ms} ms")]
    Period { window_ms: i64, every_ms: i64 },
    #[error("silence needs an author and a comment")]
    MissingAuthor,
}

impl Silence {
    /// Checks a new silence's fields.
    pub fn validate(&self) -> Result<(), SilenceError> {
        parse_selector(&self.matchers)
            .map_err(|error| SilenceError::Matchers(self.matchers.clone(), error.to_string()))?;
        if self.ends_ms <= self.starts_ms {
            return Err(SilenceError::EmptyRange {
                starts_ms: self.starts_ms,
                ends_ms: self.ends_ms,
            });
        }
        if let Some(every_ms) = self.every_ms {
            let window_ms = self.ends_ms - self.starts_ms;
            if every_ms <= window_ms {
                return Err(SilenceError::Period {
                    window_ms,
                    every_ms,
                });
            }
        }
        if self.author.trim().is_empty() || self.comment.trim().is_empty() {
            return Err(SilenceError::MissingAuthor);
        }
        Ok(())
    }

    /// Whether the silence is in force at `now_ms`.
    pub fn active_at(&self, now_ms: i64) -> bool {
        if self.expired_ms.is_some_and(|expired| expired <= now_ms) || now_ms < self.starts_ms {
            return false;
        }
        match self.every_ms {
            None => now_ms < self.ends_ms,
            Some(every) => (now_ms - self.starts_ms) % every < self.ends_ms - self.starts_ms,
        }
    }

    /// Whether the silence will never be in force again.
    pub fn finished_at(&self, now_ms: i64) -> bool {
        self.expired_ms.is_some_and(|expired| expired <= now_ms)
            || (self.every_ms.is_none() && now_ms >= self.ends_ms)
    }
}

/// The label set an alert is matched on, as a series key.
pub fn alert_key(alert: &AlertInstance) -> SeriesKey {
    SeriesKey {
        name: alert.series.name.clone(),
        labels: alert.labels.clone(),
    }
}

/// Silences with their parsed selectors.
#[derive(Debug, Default, Clone)]
pub struct SilenceSet {
    entries: Vec<(Silence, Selector)>,
}

impl SilenceSet {
    /// Adds (or replaces, by id) a silence; invalid matchers are refused.
    pub fn upsert(&mut self, silence: Silence) -> Result<(), SilenceError> {
        let selector = parse_selector(&silence.matchers)
            .map_err(|error| SilenceError::Matchers(silence.matchers.clone(), error.to_string()))?;
        self.entries
            .retain(|(existing, _)| existing.id != silence.id);
        self.entries.push((silence, selector));
        Ok(())
    }

    /// Marks a silence expired; false when no silence has this id.
    pub fn expire(&mut self, id: i64, now_ms: i64) -> bool {
        match self
            .entries
            .iter_mut()
            .find(|(silence, _)| silence.id == id)
        {
            Some((silence, _)) => {
                silence.expired_ms = Some(now_ms);
                true
            }
            None => false,
        }
    }

    /// The ids of the silences muting this alert at `now_ms`.
    pub fn silencing(&self, alert: &AlertInstance, now_ms: i64) -> Vec<i64> {
        let key = alert_key(alert);
        self.entries
            .iter()
            .filter(|(silence, selector)| silence.active_at(now_ms) && selector.matches(&key))
            .map(|(silence, _)| silence.id)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One inhibition rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    pub source: Selector,
    /// Alerts that may be inhibited; `None` means any alert.
    pub target: Option<Selector>,
    /// Labels whose values must be equal (and non-empty) in source and target.
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// The built-in rule: an instance whose status check fails (CloudWatch
    /// `StatusCheckFailed*` series) silences its other alerts, matched on `instance`.
    pub fn status_check_default() -> InhibitRule {
        InhibitRule {
            source: parse_selector(r#"{__name__=~"StatusCheckFailed.*"}"#)
                .expect("the built-in selector parses"),
            target: None,
            equal: vec!["instance".into()],
        }
    }

    fn shared_labels(&self, alert: &AlertInstance) -> Option<Vec<String>> {
        self.equal
            .iter()
            .map(|name| alert.labels.get(name).filter(|v| !v.is_empty()).cloned())
            .collect()
    }
}

/// For each alert, the fingerprint of the firing alert that inhibits it, if any.
pub fn inhibited(rules: &[InhibitRule], firing: &[&AlertInstance]) -> BTreeMap<String, String> {
    let mut muted = BTreeMap::new();
    for rule in rules {
        let mut sources: BTreeMap<Vec<String>, &str> = BTreeMap::new();
        // The `equal` labels first: an alert without them takes no part (cheap, and the
        // common case in a storm of alerts without an instance label).
        for alert in firing {
            let Some(values) = rule.shared_labels(alert) else {
                continue;
            };
            if rule.source.matches(&alert_key(alert)) {
                sources.entry(values).or_insert(&alert.fingerprint);
            }
        }
        if sources.is_empty() {
            continue;
        }
        for alert in firing {
            let Some(values) = rule.shared_labels(alert) else {
                continue;
            };
            let Some(source) = sources.get(&values) else {
                continue;
            };
            let key = alert_key(alert);
            if rule.source.matches(&key) || !rule.target.as_ref().is_none_or(|t| t.matches(&key)) {
                continue;
            }
            muted
                .entry(alert.fingerprint.clone())
                .or_insert_with(|| source.to_string());
        }
    }
    muted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::alert_with as alert;

    fn silence(matchers: &str, starts_ms: i64, ends_ms: i64, every_ms: Option<i64>) -> Silence {
        Silence {
            id: 1,
            matchers: matchers.into(),
            starts_ms,
            ends_ms,
            every_ms,
            author: "ops".into(),
            comment: "deploy".into(),
            created_ms: 0,
            expired_ms: None,
            created_by: String::new(),
        }
    }

    #[test]
    fn silences_apply_within_their_range_until_expired() {
        let mut set = SilenceSet::default();
        set.upsert(silence(r#"{host="a"}"#, 100, 200, None))
            .unwrap();
        let muted = alert("f", "cpu", &[("host", "a")]);
        let other = alert("g", "cpu", &[("host", "b")]);
        assert!(set.silencing(&muted, 50).is_empty());
        assert_eq!(set.silencing(&muted, 150), vec![1]);
        assert!(set.silencing(&other, 150).is_empty());
        assert!(set.silencing(&muted, 200).is_empty());
        assert!(set.expire(1, 120));
        assert!(set.silencing(&muted, 150).is_empty());
        assert!(!set.expire(9, 120));
    }

    #[test]
    fn maintenance_windows_recur() {
        let window = silence(r#"{host="a"}"#, 1000, 1100, Some(1000));
        assert!(window.active_at(1050));
        assert!(!window.active_at(1500));
        assert!(window.active_at(2050));
        assert!(!window.active_at(2100));
        assert!(!window.finished_at(1_000_000));
    }

    #[test]
    fn invalid_silences_are_refused() {
        assert!(matches!(
            silence("{host=~\"(\"}", 0, 1, None).validate(),
            Err(SilenceError::Matchers(..))
        ));
        assert!(matches!(
            silence("{host=\"a\"}", 5, 5, None).validate(),
            Err(SilenceError::EmptyRange { .. })
        ));
        assert!(matches!(
            silence("{host=\"a\"}", 0, 10, Some(10)).validate(),
            Err(SilenceError::Period { .. })
        ));
        let mut anonymous = silence("{host=\"a\"}", 0, 10, None);
        anonymous.author.clear();
        assert_eq!(anonymous.validate(), Err(SilenceError::MissingAuthor));
    }

    #[test]
    fn a_failing_status_check_inhibits_the_instances_other_alerts() {
        let rules = [InhibitRule::status_check_default()];
        let status = alert("s", "StatusCheckFailed", &[("instance", "i-1")]);
        let cpu = alert("c", "CPUUtilization", &[("instance", "i-1")]);
        let elsewhere = alert("e", "CPUUtilization", &[("instance", "i-2")]);
        let unlabelled = alert("u", "CPUUtilization", &[]);
        let muted = inhibited(&rules, &[&status, &cpu, &elsewhere, &unlabelled]);
        assert_eq!(muted.len(), 1, "{muted:?}");
        assert_eq!(muted["c"], "s");
    }
}
